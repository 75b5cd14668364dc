import { Hono } from 'hono';
import { chatCompletionSchema, fromChatCompletionRequest } from '../../api/openai/chat-request.js';
import { toChatChunk, toChatCompletion } from '../../api/openai/chat-response.js';
import { toUsageChunk } from '../../api/openai/generation-stream.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { toToolCallDeltas } from '../../api/openai/tool-calls.js';
import { newId, nowSeconds, sumUsage } from '../../api/openai/wire.js';
import type { GenerationResult } from '../../types/chat.js';
import { asOneResult, choiceCount, choiceSeed, runChoices, type ChoicePiece } from '../choices.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { streamGeneration } from '../sse.js';

/** `POST /chat/completions`, streamed (SSE) or whole; `n` choices run at once, each chunk naming its choice. */
export const chatCompletionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/chat/completions', async (c) => {
    const body = parseBody(chatCompletionSchema, await readJson(c));
    c.set('model', body.model);
    const request = fromChatCompletionRequest(body);
    const n = choiceCount(body.n, deps.runtime.config.parallel);
    const envelope = { id: newId('chatcmpl'), created: nowSeconds(), model: body.model };
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal, c.get('tenant'));
    const seedOf = (index: number) => ({ seed: choiceSeed(request.seed, index) });

    if (!body.stream) {
      const results = await runChoices(n, signal, (index, s) => deps.runtime.chat({ ...request, ...seedOf(index), signal: s })).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(asOneResult(results));
      return c.json(toChatCompletion(envelope, results));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    return streamGeneration<GenerationResult[], ChoicePiece>({
      signal,
      start: (onPiece, s) =>
        runChoices(n, s, (index, each) =>
          deps.runtime.chat({
            ...request,
            ...seedOf(index),
            onToken: (text, logprobs) => void (text && onPiece({ index, text, logprobs })),
            onThought: (text) => void (text && onPiece({ index, text, thought: true })),
            signal: each,
          }),
        ),
      head: () => Array.from({ length: n }, (_, index) => toChatChunk(envelope, { role: 'assistant', content: '' }, null, includeUsage, { index })),
      token: ({ index, text, logprobs, thought }) => toChatChunk(envelope, thought ? { reasoning_content: text } : { content: text }, null, includeUsage, { index, logprobs }),
      tail: (results) => [
        ...results.flatMap((result, index) => [
          ...(result.toolCalls?.length ? [toChatChunk(envelope, { tool_calls: toToolCallDeltas(result.toolCalls) }, null, includeUsage, { index })] : []),
          toChatChunk(envelope, {}, result.finishReason, includeUsage, { index }),
        ]),
        ...(includeUsage ? [toUsageChunk(envelope, 'chat.completion.chunk', sumUsage(results))] : []),
      ],
      onEnd: (results, error) => record(asOneResult(results), error),
    });
  });
