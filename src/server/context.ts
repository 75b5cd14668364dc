import type { EncoderPool } from '../audio/encoder-pool.js';
import type { Context } from 'hono';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { Metrics } from './metrics.js';
import type { RequestTenant } from './tenants.js';

/** What every route receives from createApp. */
export interface RouteDeps {
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  /** Fires when the daemon shuts down and in-flight work must stop. */
  readonly shutdown: AbortSignal;
  /** Fires when it starts to stop (draining); absent when the app is not served by listen.ts. */
  readonly draining?: AbortSignal;
  /** Audio encoders off the event loop (worker threads). */
  readonly encoders: EncoderPool;
}

/** Per-request variables routes set for the request log. */
export interface ServerEnv {
  /**
   * model: the model a request named; streamError: why a streamed reply ended in an error after its 200 went out;
   * tenant: the API key the request came with (its name, and where its tokens are charged; tenants.ts), on a daemon with keys.
   */
  Variables: { model?: string; streamError?: string; tenant?: RequestTenant };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the JSON body; malformed JSON or text that is not UTF-8 is a 400 `invalid_request_error`. */
export const readJson = async (c: Context, options: { readonly empty?: unknown } = {}): Promise<unknown> => {
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch {
    throw new AppError('invalid_request', 'The request body is not valid UTF-8.', { hint: 'Send JSON encoded as UTF-8.' });
  }
  if (!text.trim() && options.empty !== undefined) return options.empty;
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
