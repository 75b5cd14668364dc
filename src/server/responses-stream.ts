import { createResponseEventWriter, type ResponseEvent } from '../api/openai/responses-events.js';
import type { ResponseObject } from '../api/openai/responses-response.js';
import type { ChatRequest, GenerationResult } from '../types/chat.js';
import { SSE_HEADERS, streamResponse } from './sse.js';

/*
 * A response streamed as OpenAI's Responses events over SSE
 * (`event: TYPE` + `data: {json}`, no [DONE]). As with chat streams, the
 * headers wait for the first token, so a request that fails before any
 * output (an unknown model, a full queue) still gets its error status;
 * response.created and response.in_progress go out with that first token.
 */

const encoder = new TextEncoder();
/** One SSE event: its type as the `event:` line, the event as `data:`. */
export const sseEvent = (event: ResponseEvent): Uint8Array => encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);

export interface ResponseStreamPlan {
  readonly signal: AbortSignal;
  /** The response as it starts (in_progress). */
  readonly shell: ResponseObject;
  /** Runs the generation with the given callbacks. */
  readonly chat: (callbacks: Pick<ChatRequest, 'onToken' | 'signal'>) => Promise<GenerationResult>;
  /**
   * Told the response as it ended (completed, incomplete, or failed after
   * the stream began), before its last event goes out; a throw (the store
   * failing) ends the stream with an `error` event instead.
   */
  readonly settle: (response: ResponseObject) => void;
  readonly onEnd?: (result: GenerationResult | undefined, error?: unknown) => void;
}

/** The SSE body of a streamed response. */
export const streamResponseEvents = (plan: ResponseStreamPlan): Promise<Response> => {
  const writer = createResponseEventWriter(plan.shell);
  let started = false;
  const head = (): ResponseEvent[] => {
    if (started) return [];
    started = true;
    return writer.start();
  };
  const settled = (events: ResponseEvent[], response: ResponseObject, sequence: number): Uint8Array[] => {
    try {
      plan.settle(response);
      return events.map(sseEvent);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: string }).code ?? 'server_error';
      return [...events.slice(0, -1).map(sseEvent), sseEvent({ type: 'error', code, message, param: null, sequence_number: sequence })];
    }
  };
  return streamResponse<GenerationResult>({
    signal: plan.signal,
    start: (emit, signal) =>
      plan.chat({
        signal,
        onToken: (text) => {
          if (!text) return;
          if (!started) for (const event of head()) emit(sseEvent(event));
          for (const event of writer.delta(text)) emit(sseEvent(event));
        },
      }),
    tail: (result) => {
      const first = head();
      const { events, response } = writer.finish(result);
      const all = [...first, ...events];
      return settled(all, response, all.at(-1)!.sequence_number);
    },
    failure: (error) => {
      const { events, response } = writer.fail(error);
      return Buffer.concat(settled(events, response, events.at(-1)!.sequence_number));
    },
    headers: () => ({ ...SSE_HEADERS }),
    onEnd: plan.onEnd,
  });
};
