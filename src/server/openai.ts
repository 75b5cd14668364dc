import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ChatMessage, ChatRequest, CompletionRequest, ResponseFormat, SamplingOptions, ToolDefinition } from '../types/chat.js';

/**
 * OpenAI request validation (zod) and conversion to the core request types.
 * Unknown fields are ignored, as OpenAI-compatible servers do; fields murmur
 * cannot honour (n > 1, image parts) are refused with a 400 naming them.
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

const sampling = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  n: z.literal(1, { message: 'murmur generates one choice per request (n must be 1)' }).nullish(),
};

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().min(1), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish(), description: z.string().optional() }),
  }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish() }),
});

export const chatCompletionSchema = z.object({
  ...sampling,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) })])
    .nullish(),
});
export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;

export const completionSchema = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { message: 'murmur completes one prompt per request' })]),
});
export type CompletionBody = z.infer<typeof completionSchema>;

export const embeddingSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
});
export type EmbeddingBody = z.infer<typeof embeddingSchema>;

/** `messages[0].content` style, as OpenAI names params. */
const paramName = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');

/**
 * Validates `body` against `schema`; throws AppError('invalid_request') naming
 * the first bad param otherwise.
 */
export const parseBody = <T>(schema: z.ZodType<T>, body: unknown): T => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = paramName(issue.path);
  const missing = issue.code === 'invalid_type' && (body as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
  const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param || 'body'}': ${issue.message}.`;
  throw new AppError('invalid_request', message, { param: param || undefined });
};

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

const toMessages = (messages: ChatCompletionBody['messages']): ChatMessage[] =>
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

const toSampling = (body: { temperature?: number | null; top_p?: number | null; seed?: number | null; stop?: string | string[] | null }, maxTokens: number | null | undefined): SamplingOptions => ({
  temperature: body.temperature ?? undefined,
  topP: body.top_p ?? undefined,
  seed: body.seed ?? undefined,
  maxTokens: maxTokens ?? undefined,
  stop: body.stop === null || body.stop === undefined ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
});

const toResponseFormat = (format: ChatCompletionBody['response_format']): ResponseFormat | undefined => {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (!format.json_schema.schema) {
    throw new AppError('invalid_request', "Missing required parameter: 'response_format.json_schema.schema'.", { param: 'response_format.json_schema.schema' });
  }
  return { type: 'json_schema', schema: format.json_schema.schema, name: format.json_schema.name };
};

/** Converts a validated chat completion body to the core ChatRequest (without callbacks). */
export const toChatRequest = (body: ChatCompletionBody): ChatRequest => {
  const tools: ToolDefinition[] | undefined = body.tools?.length
    ? body.tools.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters }))
    : undefined;
  const choice = body.tool_choice;
  if (choice && typeof choice === 'object' && !tools?.some((t) => t.name === choice.function.name)) {
    throw new AppError('invalid_request', `tool_choice names '${choice.function.name}', which is not among the tools.`, { param: 'tool_choice' });
  }
  return {
    model: body.model,
    messages: toMessages(body.messages),
    ...toSampling(body, body.max_completion_tokens ?? body.max_tokens),
    responseFormat: toResponseFormat(body.response_format),
    tools,
    toolChoice: !choice ? undefined : typeof choice === 'string' ? choice : { name: choice.function.name },
  };
};

/** Converts a validated completion body to the core CompletionRequest (without callbacks). */
export const toCompletionRequest = (body: CompletionBody): CompletionRequest => ({
  model: body.model,
  prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!,
  ...toSampling(body, body.max_tokens),
});
