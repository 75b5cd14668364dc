import { AppError, isAbortError } from '../errors.js';
import { toOpenAIError } from '../api/openai/errors.js';
import { STREAM_DONE } from '../api/openai/wire.js';

/**
 * Server-sent events for OpenAI streams: `data: {json}\n\n` frames closed by
 * `data: [DONE]`. Headers are held back until the first token (or the end),
 * so errors that happen before any output (unknown model, overload, a
 * prompt too long) still get their proper HTTP status.
 */

/** `P`: what a generation hands on as it goes: a piece of text, or (for several choices) an object that carries one; an empty string is skipped. */
export interface StreamPlan<T, P = string> {
  /** The caller's signal: the request's (client gone) and the server's (shutting down). */
  readonly signal: AbortSignal;
  /** Starts the generation; calls onToken for each piece of text. */
  readonly start: (onToken: (piece: P) => void, signal: AbortSignal) => Promise<T>;
  /** Frames sent first (e.g. the chunk carrying the role). */
  readonly head: () => unknown[];
  /** The frame for one piece of text (or, as an array, the frames: no frame is itself an array). */
  readonly token: (piece: P) => unknown;
  /** Frames after the last token (finish reason, usage). */
  readonly tail: (result: T) => unknown[];
  /** Told when the stream ends, with the result or the error. */
  readonly onEnd?: (result: T | undefined, error?: unknown) => void;
}

const encoder = new TextEncoder();
/** One SSE frame: `data: {json}\n\n` (a string is sent as it is, e.g. `[DONE]`). */
export const sseFrame = (data: unknown): Uint8Array => encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

/**
 * No `Connection` header: it is hop-by-hop and node's http server sets it
 * itself. Setting `Connection: keep-alive` here made node keep the socket
 * open after a client's `Connection: close`, until the keep-alive timeout.
 */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const;

export interface OutputPlan<T> {
  /** The caller's signal: the request's (client gone) and the server's (shutting down). */
  readonly signal: AbortSignal;
  /** Starts the work; it calls `emit` with bytes as they are ready. */
  readonly start: (emit: (bytes: Uint8Array) => void, signal: AbortSignal) => Promise<T>;
  /** Bytes after the last emitted ones, once the work succeeds. */
  readonly tail: (result: T) => Uint8Array[];
  /**
   * What a failure after the body started becomes: bytes that end the body
   * (an SSE error frame), or undefined to break the body off (a client of a
   * raw audio stream then sees a truncated response, not a valid file).
   */
  readonly failure: (error: unknown) => Uint8Array | undefined;
  /** Built once the first bytes (or the result) exist, so they can depend on the work (a sample rate). */
  readonly headers: () => Record<string, string>;
  /** Told when the work ends, with the result or the error. */
  readonly onEnd?: (result: T | undefined, error?: unknown) => void;
}

/** The shortest time between two writes of a streamed body. */
export const FLUSH_INTERVAL_MS = 10;

/**
 * Streams a long piece of work as an HTTP body. Headers are held back until
 * the first bytes (or the end), so a failure before any output still
 * becomes a proper error status: the call rejects for the error handler.
 * Later failures end the body through `failure`. A client that goes away
 * aborts the work.
 */
export const streamResponse = async <T>(plan: OutputPlan<T>): Promise<Response> => {
  const cancelled = new AbortController();
  const signal = AbortSignal.any([plan.signal, cancelled.signal]);
  // Bytes wait here and go out as one chunk on a later turn of the event
  // loop, so the work's own loop carries on first (a generation hands its
  // next token to the decoder) and the socket write overlaps the work
  // instead of delaying it. Writes are at most FLUSH_INTERVAL_MS apart: a
  // fast stream (hundreds of tokens a second) shares one write among the
  // tokens of that interval, a slow one is never held back.
  let pending: Uint8Array[] = [];
  let sink: ((bytes: Uint8Array) => void) | undefined;
  let scheduled = false;
  let flushedAt = -Infinity;
  let markFirst!: () => void;
  const first = new Promise<void>((resolve) => (markFirst = resolve));
  const takePending = (): Uint8Array | undefined => {
    const taken = pending;
    pending = [];
    return taken.length > 1 ? Buffer.concat(taken) : taken[0];
  };
  const flush = () => {
    scheduled = false;
    if (!sink) return;
    flushedAt = performance.now();
    const bytes = takePending();
    if (bytes) sink(bytes);
  };

  const running = plan.start((bytes) => {
    if (!bytes.length) return;
    pending.push(bytes);
    if (!scheduled) {
      scheduled = true;
      const wait = flushedAt + FLUSH_INTERVAL_MS - performance.now();
      if (wait > 0) setTimeout(flush, wait);
      else setImmediate(flush);
    }
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
      const close = (error?: unknown) => {
        if (!open) return;
        open = false;
        try {
          if (error) controller.error(error);
          else controller.close();
        } catch {
          /* already closed by a cancel */
        }
      };
      const rest = takePending();
      if (rest) send(rest);
      sink = send;
      running.then(
        (result) => {
          pending.push(...plan.tail(result));
          const last = takePending();
          if (last) send(last);
          close();
          plan.onEnd?.(result);
        },
        (error: unknown) => {
          const earlier = takePending();
          if (earlier) send(earlier);
          // The daemon stopping (its signal's reason says so) is told to the client; the client's own leaving is not.
          const stopped = signal.aborted && signal.reason instanceof AppError ? signal.reason : undefined;
          const last = stopped ? plan.failure(stopped) : isAbortError(error) || signal.aborted ? undefined : plan.failure(error);
          if (last) send(last);
          close(last || isAbortError(error) || signal.aborted ? undefined : error);
          plan.onEnd?.(undefined, error);
        },
      );
    },
    cancel() {
      cancelled.abort(new DOMException('The client went away', 'AbortError'));
    },
  });
  return new Response(body, { status: 200, headers: plan.headers() });
};

/**
 * Runs a text generation as an OpenAI SSE stream: `head` frames, one frame
 * per piece of text, `tail` frames, `data: [DONE]`; a failure after the
 * first token ends the stream with an error frame.
 */
export const streamGeneration = <T, P = string>(plan: StreamPlan<T, P>): Promise<Response> => {
  let started = false;
  const head = () => {
    if (started) return [];
    started = true;
    return plan.head().map(sseFrame);
  };
  return streamResponse<T>({
    signal: plan.signal,
    start: (emit, signal) =>
      plan.start((piece) => {
        if (!piece) return;
        for (const bytes of head()) emit(bytes);
        const frames = plan.token(piece);
        for (const frame of Array.isArray(frames) ? frames : [frames]) emit(sseFrame(frame));
      }, signal),
    // A reply with no text still opens with the head frames (the role).
    tail: (result) => [...head(), ...plan.tail(result).map(sseFrame), sseFrame(STREAM_DONE)],
    failure: (error) => sseFrame(toOpenAIError(error).body),
    headers: () => ({ ...SSE_HEADERS }),
    onEnd: plan.onEnd,
  });
};
