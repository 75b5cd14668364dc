import { Hono } from 'hono';
import type { GenerationResult } from '../../types/chat.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { chatCompletionSchema, parseBody, toChatRequest } from '../openai.js';
import { chatChunk, chatCompletionBody, newId, nowSeconds, toolCallsDelta, usageChunk } from '../openai-shapes.js';
import { streamGeneration } from '../sse.js';

/** `POST /chat/completions`, streamed (SSE) or whole. */
export const chatCompletionsRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>().post('/chat/completions', async (c) => {
    const body = parseBody(chatCompletionSchema, await readJson(c));
    c.set('model', body.model);
    const request = toChatRequest(body);
    const envelope = { id: newId('chatcmpl'), created: nowSeconds(), model: body.model };
    const signal = requestSignal(c, deps);
    const record = generationRecorder(deps.metrics, body.model, signal);

    if (!body.stream) {
      const result = await deps.runtime.chat({ ...request, signal }).catch((error: unknown) => {
        record(undefined, error);
        throw error;
      });
      record(result);
      return c.json(chatCompletionBody(envelope, result));
    }

    const includeUsage = body.stream_options?.include_usage === true;
    return streamGeneration<GenerationResult>({
      signal,
      start: (onToken, s) => deps.runtime.chat({ ...request, onToken, signal: s }),
      head: () => [chatChunk(envelope, { role: 'assistant', content: '' }, null, includeUsage)],
      token: (text) => chatChunk(envelope, { content: text }, null, includeUsage),
      tail: (result) => [
        ...(result.toolCalls?.length ? [chatChunk(envelope, toolCallsDelta(result.toolCalls), null, includeUsage)] : []),
        chatChunk(envelope, {}, result.finishReason, includeUsage),
        ...(includeUsage ? [usageChunk(envelope, 'chat.completion.chunk', result.usage)] : []),
      ],
      onEnd: record,
    });
  });
