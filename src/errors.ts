/**
 * Errors that reach a user. Each carries a stable `code` (the server maps it
 * to an HTTP status in one place), a message saying what happened and a
 * hint saying what to do next. The core never picks a status code.
 */
export type ErrorCode =
  | 'usage'
  | 'model_not_found'
  | 'model_not_downloaded'
  /** A model of that name is installed already (a copy's destination). */
  | 'model_exists'
  | 'model_kind_mismatch'
  | 'download_failed'
  | 'checksum_mismatch'
  | 'archive_invalid'
  | 'catalog_invalid'
  | 'store_not_writable'
  | 'no_space'
  | 'engine_load_failed'
  | 'engine_crashed'
  | 'model_broken'
  | 'stopping'
  | 'model_invalid'
  | 'invalid_request'
  | 'context_length_exceeded'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'unsupported_media_type'
  | 'overloaded'
  /** An API key is over one of its limits (requests or tokens per minute, concurrent streams): 429 with Retry-After. */
  | 'rate_limited'
  | 'daemon_unreachable'
  /** An upstream server a model is routed to failed: unreachable, garbage, refused murmur's key, or dropped a stream. */
  | 'upstream_error'
  /** An upstream did not answer within its timeout. */
  | 'upstream_timeout'
  | 'aborted'
  | 'not_supported'
  | 'session_not_found'
  | 'session_conflict'
  | 'response_not_found'
  | 'previous_response_not_found'
  | 'storage_unavailable'
  | 'internal';

export interface AppErrorOptions {
  hint?: string;
  cause?: unknown;
  /** The request field at fault, for OpenAI-shaped errors. */
  param?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly param?: string;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.param = options.param;
  }
}

export class UsageError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

/** A key over one of its limits; `retryAfterSeconds` (whole seconds, at least 1) is the response's Retry-After. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options: AppErrorOptions = {}) {
    super('rate_limited', message, options);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class ModelNotFoundError extends AppError {
  constructor(name: string, suggestions: string[] = []) {
    const hint = suggestions.length
      ? `Did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}? Run \`murmur list --all\` to see the catalog.`
      : 'Run `murmur list --all` to see the catalog, or name a local file, an hf:owner/repo/file URI or a URL.';
    super('model_not_found', `Unknown model '${name}'.`, { hint, param: 'model' });
    this.name = 'ModelNotFoundError';
  }
}

export class ModelNotDownloadedError extends AppError {
  constructor(name: string) {
    super('model_not_downloaded', `'${name}' is not downloaded.`, {
      hint: `Run \`murmur pull ${name}\`.`,
      param: 'model',
    });
    this.name = 'ModelNotDownloadedError';
  }
}

export class DownloadError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('download_failed', message, {
      hint: 'Check the network (or MURMUR_MIRROR) and run the pull again; it resumes where it stopped.',
      ...options,
    });
    this.name = 'DownloadError';
  }
}

export class EngineLoadError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('engine_load_failed', message, options);
    this.name = 'EngineLoadError';
  }
}

/** An engine process died (or was killed for hanging); `reason` says how, in a few words. */
export class EngineCrashError extends AppError {
  readonly reason: string;
  constructor(message: string, reason: string, options: AppErrorOptions = {}) {
    super('engine_crashed', message, options);
    this.name = 'EngineCrashError';
    this.reason = reason;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** True when `error` comes from an AbortSignal firing. */
export const isAbortError = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || (error as AppError).code === 'aborted');

/** Why `signal` fired, as an Error to reject with: its reason when that is one, else an AbortError. */
export const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError');
