import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatMessage, ChatRequest, ResponseFormat, ToolDefinition } from '../../types/chat.js';
import { fromSamplingBody, samplingFields, toSamplingBody } from './sampling.js';

/*
 * The body of `POST /v1/chat/completions`, both ways: the zod schema and its
 * conversion to the core ChatRequest (the server's side), and the body for a
 * ChatRequest (RemoteRuntime's side), typed by the same schema. Fields murmur
 * cannot honour (image parts) are refused with a 400 naming them; `n` is
 * the route's (it runs that many core requests).
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(z.union([textPart, z.object({ type: z.string() }).loose()]))]);

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content }),
  z.object({ role: z.literal('user'), content }),
  z.object({ role: z.literal('assistant'), content: content.nullish(), tool_calls: z.array(toolCall).nullish() }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string() }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().min(1), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish(), description: z.string().optional() }),
  }),
]);

/** OpenAI's rule for function names. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const tool = z.object({
  type: z.literal('function'),
  // OpenAI's rule for function names; others (a space) used to reach node-llama-cpp and come back as a 500.
  function: z.object({ name: z.string().regex(TOOL_NAME, 'must be 1 to 64 letters, digits, underscores or dashes'), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish() }),
});

export const chatCompletionSchema = z.object({
  ...samplingFields,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) })])
    .nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  /** 'none' turns a thinking model's thought off; the other efforts leave it to the model. */
  reasoning_effort: z.string().nullish(),
  /** vLLM's and llama-server's way to reach a chat template's switches: enable_thinking turns a thought on or off. */
  chat_template_kwargs: z.object({ enable_thinking: z.boolean().nullish() }).loose().nullish(),
});
/** A validated chat completion request. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionSchema>;

const flatten = (value: z.infer<typeof content> | null | undefined, param: string): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return value
    .map((part) => {
      if (part.type !== 'text') throw new AppError('not_supported', `Content parts of type '${part.type}' are not supported; send text.`, { param });
      return (part as { text: string }).text;
    })
    .join('');
};

const fromMessages = (messages: ChatCompletionRequest['messages']): ChatMessage[] =>
  messages.map((m, i): ChatMessage => {
    const param = `messages[${i}].content`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: flatten(m.content, param) };
      case 'user':
        return { role: 'user', content: flatten(m.content, param) };
      case 'tool':
        return { role: 'tool', content: flatten(m.content, param), toolCallId: m.tool_call_id };
      case 'assistant':
        return {
          role: 'assistant',
          content: flatten(m.content, param),
          ...(m.tool_calls?.length ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) } : {}),
        };
    }
  });

const fromResponseFormat = (format: ChatCompletionRequest['response_format']): ResponseFormat | undefined => {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (!format.json_schema.schema) {
    throw new AppError('invalid_request', "Missing required parameter: 'response_format.json_schema.schema'.", { param: 'response_format.json_schema.schema' });
  }
  return { type: 'json_schema', schema: format.json_schema.schema, name: format.json_schema.name, ...(format.json_schema.strict ? { strict: true } : {}) };
};

/** Whether to think: chat_template_kwargs.enable_thinking says so outright, reasoning_effort 'none' turns it off; else the model decides. */
const thinkOf = (body: ChatCompletionRequest): { think?: boolean } => {
  const enable = body.chat_template_kwargs?.enable_thinking;
  if (enable !== null && enable !== undefined) return { think: enable };
  return body.reasoning_effort === 'none' ? { think: false } : {};
};

/** The core ChatRequest (without callbacks) for a validated chat completion request. */
export const fromChatCompletionRequest = (body: ChatCompletionRequest): ChatRequest => {
  const tools: ToolDefinition[] | undefined = body.tools?.length
    ? body.tools.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters, ...(t.function.strict ? { strict: true } : {}) }))
    : undefined;
  const choice = body.tool_choice;
  if (choice === 'required' && !tools?.length) {
    throw new AppError('invalid_request', "tool_choice is 'required' but there are no tools.", { param: 'tool_choice', hint: 'Give tools, or leave tool_choice out.' });
  }
  if (choice && typeof choice === 'object' && !tools?.some((t) => t.name === choice.function.name)) {
    throw new AppError('invalid_request', `tool_choice names '${choice.function.name}', which is not among the tools.`, { param: 'tool_choice' });
  }
  if (body.top_logprobs !== null && body.top_logprobs !== undefined && !body.logprobs) {
    throw new AppError('invalid_request', "Invalid value for 'top_logprobs': it needs 'logprobs' set to true.", { param: 'top_logprobs', hint: 'Send logprobs: true with top_logprobs.' });
  }
  return {
    model: body.model,
    messages: fromMessages(body.messages),
    ...fromSamplingBody(body, body.max_completion_tokens ?? body.max_tokens),
    ...(body.logprobs ? { logprobs: body.top_logprobs ?? 0 } : {}),
    ...thinkOf(body),
    responseFormat: fromResponseFormat(body.response_format),
    tools,
    toolChoice: !choice ? undefined : typeof choice === 'string' ? choice : { name: choice.function.name },
  };
};

type MessageInput = z.input<typeof message>;

const toMessage = (m: ChatMessage): MessageInput => {
  const calls = m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) } : {};
  switch (m.role) {
    case 'assistant':
      return { role: 'assistant', content: calls.tool_calls && !m.content ? null : m.content, ...calls };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' };
    default:
      return { role: m.role, content: m.content };
  }
};

/** The chat completion request body for a core ChatRequest (streamed, with usage, when it has `onToken`). */
export const toChatCompletionRequest = (r: ChatRequest): z.input<typeof chatCompletionSchema> => ({
  ...toSamplingBody(r),
  ...(r.logprobs !== undefined ? { logprobs: true, top_logprobs: r.logprobs } : {}),
  messages: r.messages.map(toMessage),
  ...(r.think !== undefined ? { chat_template_kwargs: { enable_thinking: r.think } } : {}),
  ...(r.responseFormat && r.responseFormat.type !== 'text'
    ? {
        response_format:
          r.responseFormat.type === 'json_object'
            ? { type: 'json_object' as const }
            : { type: 'json_schema' as const, json_schema: { name: r.responseFormat.name ?? 'response', schema: r.responseFormat.schema, strict: r.responseFormat.strict ?? false } },
      }
    : {}),
  ...(r.tools?.length
    ? { tools: r.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
    : {}),
  ...(r.toolChoice ? { tool_choice: typeof r.toolChoice === 'string' ? r.toolChoice : { type: 'function' as const, function: { name: r.toolChoice.name } } } : {}),
});
