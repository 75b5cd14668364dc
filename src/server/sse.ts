import { isAbortError } from '../errors.js';
import { toHttpError } from './errors.js';

/**
 * Server-sent events for OpenAI streams: `data: {json}\n\n` frames closed by
 * `data: [DONE]`. Headers are held back until the first token (or the end),
 * so errors that happen before any output (unknown model, overload, a
 * prompt too long) still get their proper HTTP status.
 */

export interface StreamPlan<T> {
  /** The caller's signal: the request's (client gone) and the server's (shutting down). */
  readonly signal: AbortSignal;
  /** Starts the generation; calls onToken for each piece of text. */
  readonly start: (onToken: (text: string) => void, signal: AbortSignal) => Promise<T>;
  /** Frames sent first (e.g. the chunk carrying the role). */
  readonly head: () => unknown[];
  /** The frame for one piece of text. */
  readonly token: (text: string) => unknown;
  /** Frames after the last token (finish reason, usage). */
  readonly tail: (result: T) => unknown[];
  /** Told when the stream ends, with the result or the error. */
  readonly onEnd?: (result: T | undefined, error?: unknown) => void;
}

const encoder = new TextEncoder();
const frame = (data: unknown): Uint8Array => encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

/**
 * Runs a generation as an SSE Response. Throws (for the error handler) when
 * the generation fails before its first token; later failures end the stream
 * with an error frame. A client that goes away aborts the generation.
 */
export const streamGeneration = async <T>(plan: StreamPlan<T>): Promise<Response> => {
  const cancelled = new AbortController();
  const signal = AbortSignal.any([plan.signal, cancelled.signal]);
  const pending: Uint8Array[] = [];
  let sink: ((bytes: Uint8Array) => void) | undefined;
  let markFirst!: () => void;
  const first = new Promise<void>((resolve) => (markFirst = resolve));

  const running = plan.start((text) => {
    if (!text) return;
    const bytes = frame(plan.token(text));
    if (sink) sink(bytes);
    else pending.push(bytes);
    markFirst();
  }, signal);

  try {
    await Promise.race([first, running]);
  } catch (error) {
    plan.onEnd?.(undefined, error);
    throw error;
  }

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const send = (bytes: Uint8Array) => {
        if (!open) return;
        try {
          controller.enqueue(bytes);
        } catch {
          open = false;
        }
      };
      const close = () => {
        if (!open) return;
        open = false;
        try {
          controller.close();
        } catch {
          /* already closed by a cancel */
        }
      };
      for (const data of plan.head()) send(frame(data));
      for (const bytes of pending.splice(0)) send(bytes);
      sink = send;
      running.then(
        (result) => {
          for (const data of plan.tail(result)) send(frame(data));
          send(frame('[DONE]'));
          close();
          plan.onEnd?.(result);
        },
        (error: unknown) => {
          if (!isAbortError(error) && !signal.aborted) send(frame(toHttpError(error).body));
          close();
          plan.onEnd?.(undefined, error);
        },
      );
    },
    cancel() {
      cancelled.abort(new DOMException('The client went away', 'AbortError'));
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
};
