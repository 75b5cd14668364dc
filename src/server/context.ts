import type { Context } from 'hono';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { Metrics } from './metrics.js';

/** What every route receives from createApp. */
export interface RouteDeps {
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  /** Fires when the daemon shuts down and in-flight work must stop. */
  readonly shutdown: AbortSignal;
}

/** Per-request variables routes set for the request log. */
export interface ServerEnv {
  Variables: { model?: string };
}

/** Reads the JSON body; malformed JSON is a 400 `invalid_request_error`. */
export const readJson = async (c: Context): Promise<unknown> => {
  const text = await c.req.text();
  if (!text.trim()) throw new AppError('invalid_request', 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError('invalid_request', `The request body is not valid JSON (${(error as Error).message}).`, {
      hint: 'Send a JSON object with Content-Type: application/json.',
    });
  }
};

/** The signal a generation runs under: the client's request and the daemon's shutdown. */
export const requestSignal = (c: Context, deps: RouteDeps): AbortSignal => AbortSignal.any([c.req.raw.signal, deps.shutdown]);

/** How much of a refused body is read and dropped before the answer, at most (bytes, then milliseconds). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 2000;

/**
 * Refuses a body over the limit with `error` (413), after reading the rest
 * of the body and dropping it: a client still sending when the daemon
 * answers and closes would otherwise see its write fail (EPIPE) instead of
 * the 413. A body larger than DRAIN_MAX_BYTES, or slower than DRAIN_MAX_MS,
 * is cut off.
 */
export const refuseBody = async (c: Context, error: AppError): Promise<never> => {
  const body = c.req.raw.body;
  if (body && !body.locked) {
    const reader = body.getReader();
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
  }
  throw error;
};
