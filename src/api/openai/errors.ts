import { AppError, type ErrorCode } from '../../errors.js';

/*
 * OpenAI's error body, `{error:{message,type,param,code}}`, both ways: the
 * one mapping of murmur's AppError codes to an HTTP status, an error type
 * and OpenAI's code, and back. murmur adds `hint`, which OpenAI clients
 * ignore and RemoteRuntime turns back into an AppError's hint.
 */

export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
    readonly hint?: string;
  };
}

/** An error as OpenAI answers it: the status and the body. */
export interface OpenAIError {
  readonly status: number;
  readonly body: OpenAIErrorBody;
}

interface Mapping {
  readonly status: number;
  readonly type: string;
  /** The OpenAI `code` when it differs from murmur's. */
  readonly code?: string;
}

const mappings: Record<ErrorCode, Mapping> = {
  usage: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  model_not_downloaded: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  model_exists: { status: 409, type: 'invalid_request_error' },
  model_kind_mismatch: { status: 400, type: 'invalid_request_error' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unauthorized: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  overloaded: { status: 503, type: 'server_error' },
  rate_limited: { status: 429, type: 'requests', code: 'rate_limit_exceeded' },
  not_supported: { status: 400, type: 'invalid_request_error' },
  aborted: { status: 499, type: 'server_error' },
  download_failed: { status: 502, type: 'server_error' },
  checksum_mismatch: { status: 502, type: 'server_error' },
  archive_invalid: { status: 502, type: 'server_error' },
  catalog_invalid: { status: 500, type: 'server_error' },
  store_not_writable: { status: 500, type: 'server_error' },
  no_space: { status: 507, type: 'server_error' },
  engine_load_failed: { status: 500, type: 'server_error' },
  engine_crashed: { status: 503, type: 'server_error' },
  model_broken: { status: 503, type: 'server_error' },
  stopping: { status: 503, type: 'server_error' },
  model_invalid: { status: 400, type: 'invalid_request_error' },
  forbidden: { status: 403, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  session_not_found: { status: 404, type: 'invalid_request_error' },
  session_conflict: { status: 409, type: 'invalid_request_error' },
  response_not_found: { status: 404, type: 'invalid_request_error' },
  previous_response_not_found: { status: 404, type: 'invalid_request_error' },
  storage_unavailable: { status: 503, type: 'server_error' },
  daemon_unreachable: { status: 502, type: 'server_error' },
  upstream_error: { status: 502, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
  internal: { status: 500, type: 'server_error' },
};

/**
 * Turns any thrown value into a status and an OpenAI error body. Unknown
 * errors become a 500 with a generic message (details stay in the log).
 */
export const toOpenAIError = (error: unknown): OpenAIError => {
  if (!(error instanceof AppError)) {
    return { status: 500, body: { error: { message: 'Internal server error.', type: 'server_error', param: null, code: 'internal' } } };
  }
  const mapping = mappings[error.code] ?? mappings.internal;
  return {
    status: mapping.status,
    body: {
      error: {
        message: error.message,
        type: mapping.type,
        param: error.param ?? null,
        code: mapping.code ?? error.code,
        ...(error.hint ? { hint: error.hint } : {}),
      },
    },
  };
};

/** OpenAI's 404 for a path no route answers. */
export const unknownUrlError = (method: string, path: string): OpenAIError => ({
  status: 404,
  body: { error: { message: `Invalid URL (${method} ${path}).`, type: 'invalid_request_error', param: null, code: 'unknown_url' } },
});

/** True for an `{error:{…}}` body, as a stream's error event or an NDJSON error line carries it. */
export const isOpenAIErrorBody = (value: unknown): value is OpenAIErrorBody =>
  typeof value === 'object' && value !== null && 'error' in value && Boolean((value as { error?: unknown }).error);

/** OpenAI codes that name a murmur code differently, reversed. */
const reverse: Record<string, ErrorCode> = { invalid_api_key: 'unauthorized', invalid_request: 'invalid_request', rate_limit_exceeded: 'rate_limited' };

/**
 * Rebuilds an AppError from an OpenAI-shaped error body (as RemoteRuntime
 * receives it). Unknown codes are chosen from the status.
 */
export const fromErrorBody = (status: number, body: unknown): AppError => {
  const error = (body as Partial<OpenAIErrorBody> | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `The daemon answered HTTP ${status}.`;
  const raw = typeof error?.code === 'string' ? error.code : '';
  const known = Object.hasOwn(mappings, raw) ? (raw as ErrorCode) : Object.hasOwn(reverse, raw) ? reverse[raw] : undefined;
  const code: ErrorCode =
    known ??
    (status === 401 ? 'unauthorized' : status === 429 ? 'rate_limited' : status === 404 ? 'model_not_found' : status === 413 ? 'payload_too_large' : status === 503 ? 'overloaded' : status < 500 ? 'invalid_request' : 'internal');
  return new AppError(code, message, { hint: typeof error?.hint === 'string' ? error.hint : undefined, param: typeof error?.param === 'string' ? error.param : undefined });
};
