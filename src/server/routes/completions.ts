import { Hono } from 'hono';
import { completionSchema, fromCompletionRequest, toTextCompletion, toTextCompletions } from '../../api/openai/completions.js';
import { toUsageChunk } from '../../api/openai/generation-stream.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { newId, nowSeconds, sumUsage } from '../../api/openai/wire.js';
import type { GenerationResult } from '../../types/chat.js';
import { asOneResult, choiceCount, choiceSeed, runChoices, type ChoicePiece } from '../choices.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { streamGeneration } from '../sse.js';

/** `POST /completions` (legacy text completion), streamed or whole; `n` choices run at once. */
export const completionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/completions', async (c) => {
    const body = parseBody(completionSchema, await readJson(c));
    c.set('model', body.model);
    const request = fromCompletionRequest(body);
    const envelope = { id: newId('cmpl'), created: nowSeconds(), model: body.model };
    const n = choiceCount(body.n, deps.runtime.config.parallel);
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal, c.get('tenant'));
    const seedOf = (index: number) => ({ seed: choiceSeed(request.seed, index) });
    const withTop = (request.logprobs ?? 0) > 0;

    if (!body.stream) {
      const results = await runChoices(n, signal, (index, s) => deps.runtime.complete({ ...request, ...seedOf(index), signal: s })).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(asOneResult(results));
      return c.json(toTextCompletions(envelope, results, withTop));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    // Where each choice's next tokens start in its text (text_offset).
    const streamed = new Array<number>(n).fill(0);
    return streamGeneration<GenerationResult[], ChoicePiece>({
      signal,
      start: (onPiece, s) =>
        runChoices(n, s, (index, each) =>
          deps.runtime.complete({ ...request, ...seedOf(index), onToken: (text, logprobs) => void (text && onPiece({ index, text, logprobs })), signal: each }),
        ),
      head: () => [],
      token: ({ index, text, logprobs }) => {
        const offset = streamed[index]!;
        streamed[index] = offset + text.length;
        return toTextCompletion(envelope, text, null, undefined, includeUsage, { index, logprobs, offset, withTop });
      },
      tail: (results) => [
        ...results.map((result, index) => toTextCompletion(envelope, '', result.finishReason, undefined, includeUsage, { index })),
        ...(includeUsage ? [toUsageChunk(envelope, 'text_completion', sumUsage(results))] : []),
      ],
      onEnd: (results, error) => record(asOneResult(results), error),
    });
  });
