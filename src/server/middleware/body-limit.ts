import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../../errors.js';

/** Default request body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** How much of a refused body is read and dropped before the answer, at most (bytes, then milliseconds). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 2000;

/**
 * Reads the rest of a body through `reader` and drops it, up to
 * DRAIN_MAX_BYTES or DRAIN_MAX_MS, then cancels it. A client still sending
 * when the daemon answers and closes would otherwise see its write fail
 * (EPIPE) instead of the answer.
 */
export const drainBody = async (reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> => {
  const deadline = setTimeout(() => void reader.cancel().catch(() => undefined), DRAIN_MAX_MS);
  try {
    for (let read = 0; read <= DRAIN_MAX_BYTES; ) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
  } catch {
    /* the client went away, or the deadline cancelled the read */
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => undefined);
  }
};

/** Refuses a body over the limit with `error` (413), after reading the rest of the body and dropping it (drainBody). */
export const refuseBody = async (c: Context, error: AppError): Promise<never> => {
  const body = c.req.raw.body;
  if (body && !body.locked) await drainBody(body.getReader());
  throw error;
};

/** A body limit of `maxBytes` whose refusal is `error()` (a 413 `payload_too_large`), after the body is drained. */
export const limitBody = (maxBytes: number, error: () => AppError): MiddlewareHandler =>
  bodyLimit({ maxSize: maxBytes, onError: (c) => refuseBody(c, error()) });

export interface BodyLimitOptions {
  /** Bytes; default DEFAULT_BODY_LIMIT. */
  readonly maxBytes?: number;
  /** Paths that set their own, larger limit on their routes (audio uploads). */
  readonly exempt?: readonly string[];
}

/** The daemon-wide body limit, for every path but the exempt ones. */
export const bodyLimits = (options: BodyLimitOptions = {}): MiddlewareHandler => {
  const limit = options.maxBytes ?? DEFAULT_BODY_LIMIT;
  const exempt = options.exempt ?? [];
  const global = limitBody(limit, () => new AppError('payload_too_large', `The request body is larger than the daemon's limit of ${limit} bytes.`));
  return (c, next) => (exempt.includes(c.req.path) ? next() : global(c, next));
};
