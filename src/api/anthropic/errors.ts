import { AppError } from '../../errors.js';
import { toOpenAIError } from '../openai/errors.js';

/*
 * Anthropic's error body, `{type:'error', error:{type, message}}`, for the
 * Messages door. The status is the one murmur's codes already map to
 * (src/api/openai/errors.ts holds that single mapping); Anthropic's error
 * type is read off the status, as Anthropic defines them. murmur adds
 * `hint`, which Anthropic clients ignore.
 */

export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: string; readonly message: string; readonly hint?: string };
}

export interface AnthropicError {
  readonly status: number;
  readonly body: AnthropicErrorBody;
}

/** Anthropic's error type for an HTTP status. */
export const anthropicErrorType = (status: number): string => {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status < 500 ? 'invalid_request_error' : 'api_error';
  }
};

/** Any thrown value as Anthropic answers it: unknown errors are a 500 `api_error` with a generic message. */
export const toAnthropicError = (error: unknown): AnthropicError => {
  const { status, body } = toOpenAIError(error);
  const message = error instanceof AppError ? body.error.message : 'Internal server error.';
  return { status, body: { type: 'error', error: { type: anthropicErrorType(status), message, ...(body.error.hint ? { hint: body.error.hint } : {}) } } };
};

/** Anthropic's 404 for a path no route answers. */
export const anthropicUnknownUrl = (method: string, path: string): AnthropicError => ({
  status: 404,
  body: { type: 'error', error: { type: 'not_found_error', message: `Not found: ${method} ${path}.` } },
});
