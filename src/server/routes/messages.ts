import { Hono } from 'hono';
import { toAnthropicError } from '../../api/anthropic/errors.js';
import {
  countTokensSchema,
  fromMessagesRequest,
  fromPrompt,
  messagesSchema,
  newMessageId,
  PING,
  toBlockStop,
  toMessage,
  toStreamEnd,
  toStreamStart,
  toTextBlockStart,
  toTextDelta,
  type MessageEvent,
} from '../../api/anthropic/messages.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import type { GenerationResult } from '../../types/chat.js';
import { readJson, requestSignal, type RouteDeps, type ServerEnv } from '../context.js';
import { generationRecorder } from '../metrics.js';
import { SSE_HEADERS, streamResponse } from '../sse.js';

/*
 * Anthropic's Messages API over the core's chat: `POST /messages`, whole or
 * streamed as Anthropic's named SSE events, and `POST /messages/count_tokens`.
 * Errors on these paths are in Anthropic's shape (server/errors.ts), and the
 * key may come as `x-api-key` (middleware/auth.ts).
 */

const encoder = new TextEncoder();
/** One named SSE event: `event: TYPE` and its data. */
const eventFrame = (event: MessageEvent): Uint8Array => encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);

export const messagesRoutes = (deps: RouteDeps) =>
  new Hono<ServerEnv>()
    .post('/messages', async (c) => {
      const body = parseBody(messagesSchema, await readJson(c));
      c.set('model', body.model);
      const request = fromMessagesRequest(body);
      const envelope = { id: newMessageId(), model: body.model };
      const signal = requestSignal(c, deps);
      const record = generationRecorder(deps.metrics, body.model, signal);

      if (!body.stream) {
        const result = await deps.runtime.chat({ ...request, signal }).catch((error: unknown) => {
          record(undefined, error);
          throw error;
        });
        record(result);
        return c.json(toMessage(envelope, result));
      }

      // message_start, the text block's start and ping go out with the first piece; a reply with no text (a tool call) has no text block.
      let started = false;
      let textOpen = false;
      const open = (withText: boolean): MessageEvent[] => {
        if (started) return [];
        started = true;
        textOpen = withText;
        return [...toStreamStart(envelope), ...(withText ? [toTextBlockStart(0)] : []), PING];
      };
      return streamResponse<GenerationResult>({
        signal,
        start: (emit, s) =>
          deps.runtime.chat({
            ...request,
            signal: s,
            onToken: (text) => {
              if (!text) return;
              for (const event of [...open(true), toTextDelta(0, text)]) emit(eventFrame(event));
            },
          }),
        tail: (result) => [...open(false), ...(textOpen ? [toBlockStop(0)] : []), ...toStreamEnd(result, textOpen ? 1 : 0)].map(eventFrame),
        failure: (error) => {
          c.set('streamError', error instanceof Error ? error.message : String(error));
          return eventFrame(toAnthropicError(error).body as unknown as MessageEvent);
        },
        headers: () => ({ ...SSE_HEADERS }),
        onEnd: (result, error) => record(result, error),
      });
    })
    .post('/messages/count_tokens', async (c) => {
      const body = parseBody(countTokensSchema, await readJson(c));
      c.set('model', body.model);
      // The core counts a prompt as it renders it for a generation: one token is generated, and only the prompt's count is kept.
      const result = await deps.runtime.chat({ ...fromPrompt(body), maxTokens: 1, temperature: 0, signal: requestSignal(c, deps) });
      return c.json({ input_tokens: result.usage.promptTokens });
    });
