import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatCompletionRequest } from './chat-request.js';

/*
 * The items of OpenAI's Responses API (`input` and `output`), both ways:
 * the zod schema of the input items murmur takes (messages, function calls
 * and their outputs, references to stored items), the items as murmur
 * stores and lists them (every one with an id and a status), and a
 * conversation of items as chat messages, the shape the chat door reads
 * into the core (so /v1/responses and /v1/chat/completions prompt a model
 * the same way).
 */

/** An OpenAI-style id such as `resp_…`, `msg_…` or `fc_…`: the prefix, an underscore, 48 hex digits. */
export const newItemId = (prefix: string): string => `${prefix}_${randomBytes(24).toString('hex')}`;

export interface InputTextPart {
  readonly type: 'input_text';
  readonly text: string;
}
export interface OutputTextPart {
  readonly type: 'output_text';
  readonly text: string;
  readonly annotations: readonly unknown[];
  readonly logprobs?: readonly unknown[];
}
export interface RefusalPart {
  readonly type: 'refusal';
  readonly refusal: string;
}
export type ContentPart = InputTextPart | OutputTextPart | RefusalPart;
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface MessageItem {
  readonly type: 'message';
  readonly id: string;
  readonly role: 'user' | 'system' | 'developer' | 'assistant';
  readonly status: ItemStatus;
  readonly content: readonly ContentPart[];
}
export interface FunctionCallItem {
  readonly type: 'function_call';
  readonly id: string;
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
  readonly status: ItemStatus;
}
export interface FunctionCallOutputItem {
  readonly type: 'function_call_output';
  readonly id: string;
  readonly call_id: string;
  readonly output: string | readonly InputTextPart[];
  readonly status: ItemStatus;
}
/** An item as murmur stores it and answers it (input_items, a response's output). */
export type ResponseItem = MessageItem | FunctionCallItem | FunctionCallOutputItem;

/** A reference to a stored item, as clients send `{type:'item_reference', id}`; the server resolves it. */
export interface ItemReference {
  readonly type: 'item_reference';
  readonly id: string;
}

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const outputText = z.object({ type: z.literal('output_text'), text: z.string() });
const refusal = z.object({ type: z.literal('refusal'), refusal: z.string() });
// Images, files and audio: named in the 400 below rather than by zod, so the message says murmur reads text.
const otherPart = z.object({ type: z.string() }).loose();
const part = z.union([inputText, outputText, refusal, otherPart]);
const status = z.enum(['in_progress', 'completed', 'incomplete']).nullish();
const id = z.string().min(1).nullish();

const message = z.object({
  type: z.literal('message'),
  id,
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: z.union([z.string(), z.array(part)]),
  status,
});
const functionCall = z.object({ type: z.literal('function_call'), id, call_id: z.string().min(1), name: z.string().min(1), arguments: z.string(), status });
const functionCallOutput = z.object({
  type: z.literal('function_call_output'),
  id,
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(part)]),
  status,
});
const itemReference = z.object({ type: z.literal('item_reference'), id: z.string().min(1) });

/** One input item; a message may leave `type` out (OpenAI's EasyInputMessage). */
export const inputItemSchema = z.preprocess(
  (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) && (value as { type?: unknown }).type === undefined && 'role' in value ? { ...value, type: 'message' } : value),
  z.discriminatedUnion('type', [message, functionCall, functionCallOutput, itemReference]),
);
type InputItem = z.infer<typeof inputItemSchema>;

const textParts = (content: string | readonly z.infer<typeof part>[], param: string): ContentPart[] => {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  return content.map((p, j): ContentPart => {
    if (p.type === 'input_text') return { type: 'input_text', text: (p as { text: string }).text };
    if (p.type === 'output_text') return { type: 'output_text', text: (p as { text: string }).text, annotations: [] };
    if (p.type === 'refusal') return { type: 'refusal', refusal: (p as { refusal: string }).refusal };
    throw new AppError('not_supported', `Content parts of type '${p.type}' are not supported; murmur reads text (input_text, output_text).`, { param: `${param}[${j}]` });
  });
};

/**
 * The request's `input` as items to store: a string is one user message;
 * each item gets an id (a fresh one where the client sent none, or one
 * this request already used) and a status. References stay references.
 */
export const fromInputItems = (input: string | readonly InputItem[] | null | undefined): (ResponseItem | ItemReference)[] => {
  if (input === null || input === undefined) return [];
  if (typeof input === 'string') return [{ type: 'message', id: newItemId('msg'), role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  const seen = new Set<string>();
  const unique = (given: string | null | undefined, prefix: string) => {
    const chosen = given && !seen.has(given) ? given : newItemId(prefix);
    seen.add(chosen);
    return chosen;
  };
  return input.map((item, i): ResponseItem | ItemReference => {
    switch (item.type) {
      case 'item_reference':
        return { type: 'item_reference', id: item.id };
      case 'message': {
        const content = textParts(item.content, `input[${i}].content`);
        // A string is input_text for the roles that write it and output_text for the assistant, as OpenAI lists it.
        const parts = typeof item.content === 'string' && item.role === 'assistant' ? [{ type: 'output_text' as const, text: item.content, annotations: [] }] : content;
        return { type: 'message', id: unique(item.id, 'msg'), role: item.role, status: item.status ?? 'completed', content: parts };
      }
      case 'function_call':
        return { type: 'function_call', id: unique(item.id, 'fc'), call_id: item.call_id, name: item.name, arguments: item.arguments, status: item.status ?? 'completed' };
      case 'function_call_output': {
        const output = typeof item.output === 'string' ? item.output : textParts(item.output, `input[${i}].output`).map((p) => ({ type: 'input_text' as const, text: textOf(p) }));
        return { type: 'function_call_output', id: unique(item.id, 'fco'), call_id: item.call_id, output, status: item.status ?? 'completed' };
      }
    }
  });
};

const textOf = (p: ContentPart): string => (p.type === 'refusal' ? p.refusal : p.text);

type ChatWireMessage = ChatCompletionRequest['messages'][number];

/**
 * A conversation as chat messages: `instructions` first (as a system
 * message), then the stored `history` (earlier turns), then this request's
 * `input`. Consecutive function calls join the assistant message before
 * them, as chat carries them. A function call output must follow a call
 * with its call_id: otherwise a 400 naming the input item.
 */
export const toChatMessages = (instructions: string | null | undefined, history: readonly ResponseItem[], input: readonly ResponseItem[]): ChatWireMessage[] => {
  const messages: ChatWireMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  const calls = new Set<string>();
  const add = (item: ResponseItem, param: string | undefined) => {
    switch (item.type) {
      case 'message': {
        const text = item.content.map(textOf).join('');
        if (item.role === 'assistant') messages.push({ role: 'assistant', content: text });
        else messages.push({ role: item.role === 'user' ? 'user' : 'system', content: text });
        return;
      }
      case 'function_call': {
        calls.add(item.call_id);
        const call = { id: item.call_id, type: 'function' as const, function: { name: item.name, arguments: item.arguments } };
        const last = messages.at(-1);
        if (last?.role === 'assistant') messages[messages.length - 1] = { ...last, tool_calls: [...(last.tool_calls ?? []), call] };
        else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
        return;
      }
      case 'function_call_output': {
        if (!calls.has(item.call_id)) {
          throw new AppError('invalid_request', `No tool call found for function call output with call_id ${item.call_id}.`, {
            param: param ?? 'previous_response_id',
            hint: 'Send the function_call item (or previous_response_id of the response that made it) before its output.',
          });
        }
        const output = typeof item.output === 'string' ? item.output : item.output.map((p) => p.text).join('');
        messages.push({ role: 'tool', content: output, tool_call_id: item.call_id });
        return;
      }
    }
  };
  for (const item of history) add(item, undefined);
  input.forEach((item, i) => add(item, `input[${i}]`));
  return messages;
};
