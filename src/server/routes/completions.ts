import { Hono } from 'hono';
import type { GenerationResult } from '../../types/chat.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { completionSchema, parseBody, toCompletionRequest } from '../openai.js';
import { completionBody, newId, nowSeconds, usageChunk } from '../openai-shapes.js';
import { streamGeneration } from '../sse.js';

/** `POST /completions` (legacy text completion), streamed or whole. */
export const completionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/completions', async (c) => {
    const body = parseBody(completionSchema, await readJson(c));
    c.set('model', body.model);
    const request = toCompletionRequest(body);
    const envelope = { id: newId('cmpl'), created: nowSeconds(), model: body.model };
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal);

    if (!body.stream) {
      const result = await deps.runtime.complete({ ...request, signal }).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(result);
      return c.json(completionBody(envelope, result.text, result.finishReason, result.usage));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    return streamGeneration<GenerationResult>({
      signal,
      start: (onToken, s) => deps.runtime.complete({ ...request, onToken, signal: s }),
      head: () => [],
      token: (text) => completionBody(envelope, text, null, undefined, includeUsage),
      tail: (result) => [
        completionBody(envelope, '', result.finishReason, undefined, includeUsage),
        ...(includeUsage ? [usageChunk(envelope, 'text_completion', result.usage)] : []),
      ],
      onEnd: record,
    });
  });
