import { AppError } from '../../errors.js';
import type { GenerationResult, Usage } from '../../types/chat.js';
import { toOpenAIError } from './errors.js';
import { newItemId, type FunctionCallItem, type MessageItem, type ResponseItem } from './responses-items.js';
import { toToolBodies, type FunctionToolBody, type ResponsesRequest, type TextFormatBody, type ToolChoiceBody } from './responses-request.js';
import { nowSeconds } from './wire.js';

/*
 * The `response` object of OpenAI's Responses API as murmur answers it:
 * the shell a request starts as (its settings echoed, no output yet), and
 * the same response completed from a core result, failed, or cancelled.
 * Its fields are those openai-node's `Response` type marks required, and
 * the optional ones OpenAI sends.
 */

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

export interface ResponseUsageBody {
  readonly input_tokens: number;
  readonly input_tokens_details: { readonly cached_tokens: number; readonly cache_write_tokens: number };
  readonly output_tokens: number;
  readonly output_tokens_details: { readonly reasoning_tokens: number };
  readonly total_tokens: number;
}

export interface ResponseObject {
  readonly id: string;
  readonly object: 'response';
  readonly created_at: number;
  readonly status: ResponseStatus;
  readonly background: boolean;
  readonly completed_at: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly incomplete_details: { readonly reason: 'max_output_tokens' } | null;
  readonly instructions: string | null;
  readonly max_output_tokens: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly model: string;
  readonly output: readonly ResponseItem[];
  readonly parallel_tool_calls: boolean;
  readonly previous_response_id: string | null;
  readonly reasoning: { readonly effort: null; readonly summary: null };
  readonly service_tier: 'default';
  readonly store: boolean;
  readonly temperature: number | null;
  readonly text: { readonly format: TextFormatBody; readonly verbosity: 'low' | 'medium' | 'high' };
  readonly tool_choice: ToolChoiceBody;
  readonly tools: readonly FunctionToolBody[];
  readonly top_logprobs: number;
  readonly top_p: number | null;
  readonly truncation: 'disabled';
  readonly usage: ResponseUsageBody | null;
}

/** What DELETE /v1/responses/{id} answers. */
export interface ResponseDeleted {
  readonly id: string;
  readonly object: 'response';
  readonly deleted: true;
}

export const toResponseUsage = (usage: Usage): ResponseUsageBody => ({
  input_tokens: usage.promptTokens,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: usage.completionTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.totalTokens,
});

/** A new response for `body`: its settings, no output, `status` (in_progress, or queued in the background). */
export const toResponseShell = (body: ResponsesRequest, status: 'queued' | 'in_progress' = 'in_progress'): ResponseObject => ({
  id: newItemId('resp'),
  object: 'response',
  created_at: nowSeconds(),
  status,
  background: body.background ?? false,
  completed_at: null,
  error: null,
  incomplete_details: null,
  instructions: body.instructions ?? null,
  max_output_tokens: body.max_output_tokens ?? null,
  metadata: body.metadata ?? {},
  model: body.model,
  output: [],
  parallel_tool_calls: body.parallel_tool_calls ?? true,
  previous_response_id: body.previous_response_id ?? null,
  reasoning: { effort: null, summary: null },
  service_tier: 'default',
  store: body.store ?? true,
  temperature: body.temperature ?? null,
  text: { format: body.text?.format ?? { type: 'text' }, verbosity: body.text?.verbosity ?? 'medium' },
  tool_choice: body.tool_choice ?? 'auto',
  tools: toToolBodies(body),
  top_logprobs: 0,
  top_p: body.top_p ?? null,
  truncation: 'disabled',
  usage: null,
});

/** The ids a response's output items take, chosen when the first of them is announced. */
export interface OutputIds {
  readonly message: string;
  readonly calls: readonly string[];
}

/** Fresh ids for a result's output items. */
export const newOutputIds = (calls: number): OutputIds => ({ message: newItemId('msg'), calls: Array.from({ length: calls }, () => newItemId('fc')) });

/** True when a result's output has a message item: it has text, or nothing else. */
export const hasMessage = (result: Pick<GenerationResult, 'text' | 'toolCalls'>): boolean => result.text !== '' || !result.toolCalls?.length;

/** The assistant message item for `text`. */
export const toMessageItem = (id: string, text: string, status: MessageItem['status']): MessageItem => ({
  type: 'message',
  id,
  role: 'assistant',
  status,
  content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
});

/**
 * A result's output items: the message, then one function_call item per
 * tool call. The message is left out when the result has only tool calls,
 * unless `withMessage` (a stream already announced it).
 */
export const toOutputItems = (result: Pick<GenerationResult, 'text' | 'toolCalls' | 'finishReason'>, ids: OutputIds, withMessage = hasMessage(result)): ResponseItem[] => {
  const incomplete = result.finishReason === 'length';
  const calls = (result.toolCalls ?? []).map(
    (call, i): FunctionCallItem => ({ type: 'function_call', id: ids.calls[i] ?? newItemId('fc'), call_id: call.id, name: call.name, arguments: call.arguments, status: 'completed' }),
  );
  return [...(withMessage ? [toMessageItem(ids.message, result.text, incomplete ? 'incomplete' : 'completed')] : []), ...calls];
};

/** `shell` finished with `result`: completed, or incomplete when the model hit max_output_tokens. */
export const completeResponse = (shell: ResponseObject, result: GenerationResult, ids: OutputIds = newOutputIds(result.toolCalls?.length ?? 0), withMessage = hasMessage(result)): ResponseObject => {
  const incomplete = result.finishReason === 'length';
  return {
    ...shell,
    status: incomplete ? 'incomplete' : 'completed',
    completed_at: nowSeconds(),
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output: toOutputItems(result, ids, withMessage),
    usage: toResponseUsage(result.usage),
  };
};

/** The `error` of a failed response: OpenAI's codes (invalid_prompt for the request's fault, rate_limit_exceeded when busy, server_error). */
export const toResponseError = (error: unknown): { code: string; message: string } => {
  const { status, body } = toOpenAIError(error);
  const code = error instanceof AppError && error.code === 'overloaded' ? 'rate_limit_exceeded' : status < 500 ? 'invalid_prompt' : 'server_error';
  return { code, message: body.error.message };
};

/** `shell` failed with `error`. */
export const failResponse = (shell: ResponseObject, error: unknown): ResponseObject => ({ ...shell, status: 'failed', error: toResponseError(error), output: [] });

/** `shell` cancelled before it finished. */
export const cancelResponse = (shell: ResponseObject): ResponseObject => ({ ...shell, status: 'cancelled', output: [] });
