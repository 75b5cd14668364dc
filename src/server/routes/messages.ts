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
  toSignatureDelta,
  toTextBlockStart,
  toTextDelta,
  toThinkingBlockStart,
  toThinkingDelta,
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
      const record = generationRecorder(deps.metrics, body.model, signal, c.get('tenant'));

      if (!body.stream) {
        const result = await deps.runtime.chat({ ...request, signal }).catch((error: unknown) => {
          record(undefined, error);
          throw error;
        });
        record(result);
        return c.json(toMessage(envelope, result));
      }

      // message_start and ping go out with the first piece. A thought is a thinking block, the text a text block after it;
      // a reply with neither (a tool call) has no such block.
      let started = false;
      let open: { kind: 'thinking' | 'text'; index: number } | undefined;
      let next = 0;
      const start = (): MessageEvent[] => (started ? [] : ((started = true), [...toStreamStart(envelope), PING]));
      const close = (): MessageEvent[] => {
        if (!open) return [];
        const { kind, index } = open;
        open = undefined;
        return [...(kind === 'thinking' ? [toSignatureDelta(index)] : []), toBlockStop(index)];
      };
      const piece = (kind: 'thinking' | 'text', text: string): MessageEvent[] => {
        const events = [...start()];
        if (open?.kind !== kind) {
          events.push(...close());
          open = { kind, index: next++ };
          events.push(kind === 'thinking' ? toThinkingBlockStart(open.index) : toTextBlockStart(open.index));
        }
        events.push(kind === 'thinking' ? toThinkingDelta(open.index, text) : toTextDelta(open.index, text));
        return events;
      };
      return streamResponse<GenerationResult>({
        signal,
        start: (emit, s) =>
          deps.runtime.chat({
            ...request,
            signal: s,
            onThought: (text) => void (text && piece('thinking', text).forEach((event) => emit(eventFrame(event)))),
            onToken: (text) => void (text && piece('text', text).forEach((event) => emit(eventFrame(event)))),
          }),
        tail: (result) => [...start(), ...close(), ...toStreamEnd(result, next)].map(eventFrame),
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
      // The core counts a prompt as it renders it for a generation, without generating.
      return c.json({ input_tokens: await deps.runtime.countTokens({ ...fromPrompt(body), signal: requestSignal(c, deps) }) });
    });
