import type { Context } from 'hono';
import { AppError, type RateLimitedError } from '../errors.js';
import { toOpenAIError, unknownUrlError, type OpenAIErrorBody } from '../api/openai/errors.js';
import { anthropicUnknownUrl, toAnthropicError } from '../api/anthropic/errors.js';
import { toOllamaError } from '../api/ollama/wire.js';

/** Anthropic's Messages door (/v1/messages and below): its errors are in Anthropic's shape. */
export const isAnthropicPath = (path: string): boolean => path === '/v1/messages' || path.startsWith('/v1/messages/');

/** Ollama's native door (routes/ollama.ts): its errors are Ollama's `{error}`. */
const OLLAMA_PATHS = new Set(['/', '/api/version', '/api/tags', '/api/show', '/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/ps', '/api/pull', '/api/delete', '/api/create', '/api/push', '/api/copy']);
export const isOllamaPath = (path: string): boolean => OLLAMA_PATHS.has(path);

/*
 * The server's use of the OpenAI error codec (src/api/openai/errors.ts):
 * the status and body it defines, plus the headers that belong to HTTP,
 * and the app's error and not-found handlers.
 */

/** Seconds a client is told to wait after a 503 (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

export interface HttpError {
  readonly status: number;
  readonly body: OpenAIErrorBody;
  readonly headers: Record<string, string>;
}

/** Turns any thrown value into a status, an OpenAI error body and headers. */
export const toHttpError = (error: unknown): HttpError => {
  const { status, body } = toOpenAIError(error);
  const code = error instanceof AppError ? error.code : undefined;
  const headers: Record<string, string> = code === 'overloaded' || code === 'engine_crashed' || code === 'stopping' ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {};
  // The unread rest of a body over the limit is not kept: say the connection closes, so clients do not reuse it.
  if (code === 'payload_too_large') headers.Connection = 'close';
  // A key over its limit is told when one more request would be allowed.
  if (code === 'rate_limited') headers['Retry-After'] = String((error as Partial<RateLimitedError>).retryAfterSeconds ?? RETRY_AFTER_SECONDS);
  return { status, body, headers };
};

/** app.onError: the error as OpenAI answers it; unexpected ones are also written to stderr with their stack. */
export const handleError = (error: Error, c: Context) => {
  const mapped = toHttpError(error);
  if (mapped.status >= 500 && !(error instanceof AppError)) {
    process.stderr.write(`murmur: unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}\n`);
  }
  // Anthropic's door answers in Anthropic's shape, with the same status and headers.
  if (isAnthropicPath(c.req.path)) return c.json(toAnthropicError(error).body, mapped.status as 500, mapped.headers);
  if (isOllamaPath(c.req.path)) return c.json(toOllamaError(error, c.get('model') as string | undefined).body, mapped.status as 500, mapped.headers);
  return c.json(mapped.body, mapped.status as 500, mapped.headers);
};

/** app.notFound: OpenAI's 404 for an unknown URL (Anthropic's and Ollama's under their doors). */
export const handleNotFound = (c: Context) => {
  if (isAnthropicPath(c.req.path)) {
    const unknown = anthropicUnknownUrl(c.req.method, c.req.path);
    return c.json(unknown.body, unknown.status as 404);
  }
  const { status, body } = unknownUrlError(c.req.method, c.req.path);
  // Under /api the clients are Ollama's (murmur's own admin clients use /murmur/v1): Ollama's `{error}`.
  if (c.req.path.startsWith('/api/')) return c.json({ error: body.error.message }, status as 404);
  return c.json(body, status as 404);
};
