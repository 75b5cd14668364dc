import { Hono } from 'hono';
import { chatCompletionSchema, fromChatCompletionRequest } from '../../api/openai/chat-request.js';
import { toChatChunk, toChatCompletion } from '../../api/openai/chat-response.js';
import { toUsageChunk } from '../../api/openai/generation-stream.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { toToolCallDeltas } from '../../api/openai/tool-calls.js';
import { newId, nowSeconds } from '../../api/openai/wire.js';
import type { GenerationResult } from '../../types/chat.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { streamGeneration } from '../sse.js';

/** `POST /chat/completions`, streamed (SSE) or whole. */
export const chatCompletionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/chat/completions', async (c) => {
    const body = parseBody(chatCompletionSchema, await readJson(c));
    c.set('model', body.model);
    const request = fromChatCompletionRequest(body);
    const envelope = { id: newId('chatcmpl'), created: nowSeconds(), model: body.model };
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal);

    if (!body.stream) {
      const result = await deps.runtime.chat({ ...request, signal }).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(result);
      return c.json(toChatCompletion(envelope, result));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    return streamGeneration<GenerationResult>({
      signal,
      start: (onToken, s) => deps.runtime.chat({ ...request, onToken, signal: s }),
      head: () => [toChatChunk(envelope, { role: 'assistant', content: '' }, null, includeUsage)],
      token: (text) => toChatChunk(envelope, { content: text }, null, includeUsage),
      tail: (result) => [
        ...(result.toolCalls?.length ? [toChatChunk(envelope, { tool_calls: toToolCallDeltas(result.toolCalls) }, null, includeUsage)] : []),
        toChatChunk(envelope, {}, result.finishReason, includeUsage),
        ...(includeUsage ? [toUsageChunk(envelope, 'chat.completion.chunk', result.usage)] : []),
      ],
      onEnd: record,
    });
  });
