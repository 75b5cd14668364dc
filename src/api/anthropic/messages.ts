import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatMessage, ChatRequest, GenerationResult, ToolCall, ToolDefinition } from '../../types/chat.js';
import { TOOL_NAME } from '../openai/chat-request.js';

/*
 * Anthropic's Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`),
 * the server's side: the zod schema of a body and its conversion to the core
 * ChatRequest, a result as a `message`, and the named SSE events of a
 * stream. What murmur cannot honour is refused with a 400 naming it, never
 * dropped: image and document blocks (no vision), server tools, and
 * extended thinking on a model that does not think (the engine says so).
 * Thinking blocks sent back in the history are dropped: a thinking model's
 * template keeps only the thought of the reply it is writing.
 * Sampling fields newer SDKs no longer type (temperature, top_p) are still
 * taken, as the API takes them.
 */

const textBlock = z.object({ type: z.literal('text'), text: z.string() });
const toolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()) });
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.object({ type: z.string() }).loose())]).optional(),
  is_error: z.boolean().nullish(),
});
/** Any other block: refused by name when converted (images, documents, server tool blocks); thinking blocks are dropped. */
const otherBlock = z.object({ type: z.string() }).loose();
const block = z.union([textBlock, toolUseBlock, toolResultBlock, otherBlock]);

const message = z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) });

const tool = z
  .object({
    type: z.string().nullish(),
    name: z.string().regex(TOOL_NAME, 'must be 1 to 64 letters, digits, underscores or dashes'),
    description: z.string().optional(),
    input_schema: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

const toolChoice = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('none') }),
]);

/** The fields `count_tokens` takes: what a prompt is made of. */
const promptFields = {
  model: z.string().min(1),
  system: z.union([z.string(), z.array(textBlock.loose())]).optional(),
  messages: z.array(message).min(1),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  thinking: z.object({ type: z.string(), budget_tokens: z.number().int().positive().nullish() }).loose().optional(),
};

export const countTokensSchema = z.object(promptFields);
export type CountTokensRequest = z.infer<typeof countTokensSchema>;

export const messagesSchema = z.object({
  ...promptFields,
  max_tokens: z.number().int().positive(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).nullish(),
  stop_sequences: z.array(z.string().min(1)).optional(),
  metadata: z.object({ user_id: z.string().nullish() }).loose().optional(),
  stream: z.boolean().optional(),
  /** `format` is structured output (the core's json_schema response format); `effort` is taken and left to the model. */
  output_config: z
    .object({ effort: z.string().nullish(), format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish() })
    .loose()
    .optional(),
});
/** A validated Messages request. */
export type MessagesRequest = z.infer<typeof messagesSchema>;

const refuseBlock = (type: string, param: string): never => {
  if (type === 'text' || type === 'tool_use' || type === 'tool_result') {
    throw new AppError('invalid_request', `Invalid value for '${param}': a '${type}' block is missing a field or has one of the wrong type.`, { param });
  }
  const why = type === 'image' || type === 'document' ? "murmur's chat models read text only" : 'murmur does not support them';
  throw new AppError('not_supported', `Content blocks of type '${type}' are not supported at '${param}': ${why}.`, { param, hint: 'Send text, tool_use and tool_result blocks.' });
};

type Block = z.infer<typeof block>;

const textOf = (value: string | readonly { type: string }[] | undefined, param: string): string => {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return value
    .map((b, i) => {
      const text = (b as { text?: unknown }).text;
      return b.type === 'text' && typeof text === 'string' ? text : refuseBlock(b.type, `${param}[${i}]`);
    })
    .join('');
};

const fromUser = (content: readonly Block[], param: string): ChatMessage[] => {
  const out: ChatMessage[] = [];
  let text = '';
  content.forEach((b, i) => {
    const at = `${param}[${i}]`;
    const result = toolResultBlock.safeParse(b);
    if (b.type === 'tool_result' && result.success) {
      if (text) out.push({ role: 'user', content: text });
      text = '';
      const body = textOf(result.data.content, `${at}.content`);
      // The core has no error flag on a tool's answer: the model is told in its text.
      out.push({ role: 'tool', content: result.data.is_error ? `Error: ${body}` : body, toolCallId: result.data.tool_use_id });
    } else if (b.type === 'text' && textBlock.safeParse(b).success) text += (b as { text: string }).text;
    else refuseBlock(b.type, at);
  });
  if (text || !out.length) out.push({ role: 'user', content: text });
  return out;
};

const fromAssistant = (content: readonly Block[], param: string): ChatMessage => {
  let text = '';
  const calls: ToolCall[] = [];
  content.forEach((b, i) => {
    const use = toolUseBlock.safeParse(b);
    if (b.type === 'tool_use' && use.success) calls.push({ id: use.data.id, name: use.data.name, arguments: JSON.stringify(use.data.input) });
    else if (b.type === 'text' && textBlock.safeParse(b).success) text += (b as { text: string }).text;
    else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') refuseBlock(b.type, `${param}[${i}]`);
  });
  return { role: 'assistant', content: text, ...(calls.length ? { toolCalls: calls } : {}) };
};

const fromMessages = (body: CountTokensRequest): ChatMessage[] => [
  ...(body.system !== undefined ? [{ role: 'system' as const, content: textOf(body.system, 'system') }] : []),
  ...body.messages.flatMap((m, i): ChatMessage[] => {
    const param = `messages[${i}].content`;
    if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
    return m.role === 'user' ? fromUser(m.content, param) : [fromAssistant(m.content, param)];
  }),
];

const fromTools = (tools: CountTokensRequest['tools']): ToolDefinition[] | undefined =>
  tools?.length
    ? tools.map((t, i) => {
        if (t.type && t.type !== 'custom') {
          throw new AppError('not_supported', `Tools of type '${t.type}' (at 'tools[${i}]') are not supported: murmur runs client tools only.`, { param: `tools[${i}].type`, hint: 'Give tools with a name and an input_schema.' });
        }
        if (!t.input_schema) throw new AppError('invalid_request', `Missing required parameter: 'tools[${i}].input_schema'.`, { param: `tools[${i}].input_schema` });
        return { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.input_schema };
      })
    : undefined;

const fromToolChoice = (choice: CountTokensRequest['tool_choice'], tools: readonly ToolDefinition[] | undefined): ChatRequest['toolChoice'] => {
  if (!choice) return undefined;
  if ((choice.type === 'any' || choice.type === 'tool') && !tools?.length) {
    throw new AppError('invalid_request', `tool_choice is '${choice.type}' but there are no tools.`, { param: 'tool_choice', hint: 'Give tools, or leave tool_choice out.' });
  }
  if (choice.type === 'tool' && !tools!.some((t) => t.name === choice.name)) {
    throw new AppError('invalid_request', `tool_choice names '${choice.name}', which is not among the tools.`, { param: 'tool_choice.name' });
  }
  return choice.type === 'any' ? 'required' : choice.type === 'tool' ? { name: choice.name } : choice.type;
};

/**
 * Thinking as Anthropic's API has it: off unless asked for, `enabled` with
 * a budget of thought tokens, `adaptive` left to the model.
 */
const fromThinking = (thinking: CountTokensRequest['thinking']): Pick<ChatRequest, 'think' | 'thoughtTokens'> => {
  switch (thinking?.type) {
    case undefined:
    case 'disabled':
      return { think: false };
    case 'enabled':
      if (!thinking?.budget_tokens) throw new AppError('invalid_request', "Missing required parameter: 'thinking.budget_tokens' (thinking of type enabled needs one).", { param: 'thinking.budget_tokens' });
      return { think: true, thoughtTokens: thinking.budget_tokens };
    case 'adaptive':
      return {};
    default:
      throw new AppError('invalid_request', `Invalid value for 'thinking.type': '${thinking?.type}'; use enabled, disabled or adaptive.`, { param: 'thinking.type' });
  }
};

/** The core's messages, tools, tool choice and thinking of a prompt (a Messages or count_tokens body). */
export const fromPrompt = (body: CountTokensRequest): Pick<ChatRequest, 'model' | 'messages' | 'tools' | 'toolChoice' | 'think' | 'thoughtTokens'> => {
  const tools = fromTools(body.tools);
  return { model: body.model, messages: fromMessages(body), tools, toolChoice: fromToolChoice(body.tool_choice, tools), ...fromThinking(body.thinking) };
};

/** Anthropic's default temperature, when a body leaves it out. */
export const ANTHROPIC_DEFAULT_TEMPERATURE = 1;

/** The core ChatRequest (without callbacks) for a validated Messages request. */
export const fromMessagesRequest = (body: MessagesRequest): ChatRequest => {
  const prompt = fromPrompt(body);
  if (prompt.thoughtTokens !== undefined && prompt.thoughtTokens >= body.max_tokens) {
    throw new AppError('invalid_request', `'thinking.budget_tokens' (${prompt.thoughtTokens}) must be less than max_tokens (${body.max_tokens}).`, { param: 'thinking.budget_tokens' });
  }
  return {
    ...prompt,
    temperature: body.temperature ?? ANTHROPIC_DEFAULT_TEMPERATURE,
    topP: body.top_p ?? 1,
    ...(body.top_k !== undefined && body.top_k !== null ? { topK: body.top_k } : {}),
    maxTokens: body.max_tokens,
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
    ...(body.output_config?.format ? { responseFormat: { type: 'json_schema' as const, schema: body.output_config.format.schema } } : {}),
  };
};

/** A fresh Anthropic-style id such as `msg_…`. */
export const newMessageId = (): string => `msg_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export type ContentBlock =
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: Record<string, unknown> };

export interface UsageBody {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

export interface MessageBody {
  readonly id: string;
  readonly type: 'message';
  readonly role: 'assistant';
  readonly model: string;
  readonly content: readonly ContentBlock[];
  readonly stop_reason: StopReason | null;
  readonly stop_sequence: string | null;
  readonly usage: UsageBody;
}

/** What every event of one message shares: its id and the model asked for. */
export interface MessageEnvelope {
  readonly id: string;
  readonly model: string;
}

/** The stop reason of a result: a stop sequence is told by the core's `stopSequence`. */
export const toStopReason = (result: GenerationResult): StopReason =>
  result.finishReason === 'length'
    ? 'max_tokens'
    : result.finishReason === 'tool_calls' || result.toolCalls?.length
      ? 'tool_use'
      : result.stopSequence !== undefined
        ? 'stop_sequence'
        : 'end_turn';

/** A tool call's arguments as a tool_use block's input; text that is not a JSON object (a model's slip) becomes an empty input. */
const toInput = (args: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(args);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const toUsage = (result: GenerationResult): UsageBody => ({
  input_tokens: result.usage.promptTokens,
  output_tokens: result.usage.completionTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

const toToolUse = (call: ToolCall): ContentBlock => ({ type: 'tool_use', id: call.id, name: call.name, input: toInput(call.arguments) });

/** A whole `message`: its text (when there is any) and then its tool_use blocks. */
export const toMessage = (envelope: MessageEnvelope, result: GenerationResult): MessageBody => ({
  id: envelope.id,
  type: 'message',
  role: 'assistant',
  model: envelope.model,
  content: [
    // murmur signs no thoughts: the signature is empty, and a thought sent back is dropped anyway.
    ...(result.reasoning ? [{ type: 'thinking' as const, thinking: result.reasoning, signature: '' }] : []),
    ...(result.text ? [{ type: 'text' as const, text: result.text }] : []),
    ...(result.toolCalls ?? []).map(toToolUse),
  ],
  stop_reason: toStopReason(result),
  stop_sequence: result.stopSequence ?? null,
  usage: toUsage(result),
});

/** One event of a stream: its SSE `event:` name and its data (whose `type` is the same name). */
export interface MessageEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * The events that open a stream: message_start (input_tokens is not known
 * before the end; message_delta carries it), then ping.
 */
export const toStreamStart = (envelope: MessageEnvelope): MessageEvent[] => [
  {
    type: 'message_start',
    message: { id: envelope.id, type: 'message', role: 'assistant', model: envelope.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
  },
];

export const PING: MessageEvent = { type: 'ping' };

export const toTextBlockStart = (index: number): MessageEvent => ({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });

export const toTextDelta = (index: number, text: string): MessageEvent => ({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });

export const toThinkingBlockStart = (index: number): MessageEvent => ({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });

export const toThinkingDelta = (index: number, thinking: string): MessageEvent => ({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } });

/** What closes a thinking block before its stop: its signature (empty: murmur signs no thoughts). */
export const toSignatureDelta = (index: number): MessageEvent => ({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: '' } });

export const toBlockStop = (index: number): MessageEvent => ({ type: 'content_block_stop', index });

/** The events after the text: each tool call as a block of its own (its input as one input_json_delta), message_delta, message_stop. */
export const toStreamEnd = (result: GenerationResult, firstIndex: number): MessageEvent[] => [
  ...(result.toolCalls ?? []).flatMap((call, i): MessageEvent[] => {
    const index = firstIndex + i;
    return [
      { type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } },
      { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(toInput(call.arguments)) } },
      toBlockStop(index),
    ];
  }),
  { type: 'message_delta', delta: { stop_reason: toStopReason(result), stop_sequence: result.stopSequence ?? null }, usage: toUsage(result) },
  { type: 'message_stop' },
];
