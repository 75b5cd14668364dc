import { Hono } from 'hono';
import { completionSchema, fromCompletionRequest, toTextCompletion } from '../../api/openai/completions.js';
import { toUsageChunk } from '../../api/openai/generation-stream.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { newId, nowSeconds } from '../../api/openai/wire.js';
import type { GenerationResult } from '../../types/chat.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { streamGeneration } from '../sse.js';

/** `POST /completions` (legacy text completion), streamed or whole. */
export const completionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/completions', async (c) => {
    const body = parseBody(completionSchema, await readJson(c));
    c.set('model', body.model);
    const request = fromCompletionRequest(body);
    const envelope = { id: newId('cmpl'), created: nowSeconds(), model: body.model };
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal);

    if (!body.stream) {
      const result = await deps.runtime.complete({ ...request, signal }).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(result);
      return c.json(toTextCompletion(envelope, result.text, result.finishReason, result.usage));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    return streamGeneration<GenerationResult>({
      signal,
      start: (onToken, s) => deps.runtime.complete({ ...request, onToken, signal: s }),
      head: () => [],
      token: (text) => toTextCompletion(envelope, text, null, undefined, includeUsage),
      tail: (result) => [
        toTextCompletion(envelope, '', result.finishReason, undefined, includeUsage),
        ...(includeUsage ? [toUsageChunk(envelope, 'text_completion', result.usage)] : []),
      ],
      onEnd: record,
    });
  });
