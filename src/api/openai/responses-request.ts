import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatRequest } from '../../types/chat.js';
import { fromChatCompletionRequest, TOOL_NAME, type ChatCompletionRequest } from './chat-request.js';
import { inputItemSchema } from './responses-items.js';
import { samplingFields } from './sampling.js';
import { parseBody } from './schema-helpers.js';

/*
 * The body of `POST /v1/responses` as murmur takes it: the zod schema, and
 * its conversion to the core ChatRequest through the chat door's own
 * reader (fromChatCompletionRequest), so tools, tool_choice, text.format
 * and sampling mean what they mean on /v1/chat/completions. Tools other
 * than functions, and input that is not text, are refused with a 400
 * naming the param.
 */

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string().regex(TOOL_NAME, 'must be 1 to 64 letters, digits, underscores or dashes'),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1) })]);

const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
    description: z.string().nullish(),
  }),
]);

// `input` is read in two steps (see parseResponsesRequest): zod reports a union's failure at the union, and a bad item should be named itself.
const requestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.unknown())]).nullish(),
  instructions: z.string().nullish(),
  tools: z.array(z.discriminatedUnion('type', [functionTool])).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: textFormat.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: samplingFields.temperature,
  top_p: samplingFields.top_p,
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, { message: 'at most 16 keys' })
    .nullish(),
  // OpenAI's fields murmur has nothing to do with, taken at their defaults only (anything else is refused below).
  top_logprobs: z.literal(0).nullish(),
  include: z.array(z.string()).max(0, 'murmur includes nothing extra (no reasoning, logprobs or files)').nullish(),
  truncation: z.literal('disabled', { message: "murmur does not truncate a conversation ('auto'): only 'disabled'" }).nullish(),
  user: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
  service_tier: z.enum(['auto', 'default']).nullish(),
}).strict();
const itemsSchema = z.object({ input: z.array(inputItemSchema) });

/** A validated `POST /v1/responses` body. */
export type ResponsesRequest = Omit<z.infer<typeof requestSchema>, 'input'> & { readonly input?: string | z.infer<typeof inputItemSchema>[] | null };

/** Validates a `POST /v1/responses` body; the first bad field (an input item's included, as `input[2].type`) is a 400 naming it. */
export const parseResponsesRequest = (raw: unknown): ResponsesRequest => {
  const body = parseBody(requestSchema, raw);
  if (!Array.isArray(body.input)) return body as ResponsesRequest;
  return { ...body, input: parseBody(itemsSchema, { input: body.input }).input };
};
/** A function tool as a response echoes it. */
export interface FunctionToolBody {
  readonly type: 'function';
  readonly name: string;
  readonly description: string | null;
  readonly parameters: Readonly<Record<string, unknown>> | null;
  readonly strict: boolean;
}
export type TextFormatBody = z.infer<typeof textFormat>;
export type ToolChoiceBody = z.infer<typeof toolChoice>;

/** The request's tools as a response lists them (strict is true unless the client said false, as OpenAI's default). */
export const toToolBodies = (body: ResponsesRequest): FunctionToolBody[] =>
  (body.tools ?? []).map((t) => ({ type: 'function', name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? true }));

const toResponseFormat = (format: TextFormatBody | null | undefined): ChatCompletionRequest['response_format'] => {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict, ...(format.description ? { description: format.description } : {}) } };
};

/**
 * Checks what a request asks for beyond its types: background responses
 * must be stored, and are not streamed; there must be something to answer.
 */
export const checkResponsesRequest = (body: ResponsesRequest): void => {
  if (body.background && body.store === false) {
    throw new AppError('invalid_request', 'Background responses must be stored: send store: true (the default) with background: true.', { param: 'store' });
  }
  if (body.background && body.stream) {
    throw new AppError('not_supported', 'murmur does not stream background responses; poll GET /v1/responses/{id} instead.', { param: 'stream' });
  }
  const empty = body.input === null || body.input === undefined || (Array.isArray(body.input) && body.input.length === 0);
  if (empty && !body.previous_response_id) throw new AppError('invalid_request', "Missing required parameter: 'input'.", { param: 'input' });
};

/**
 * The core ChatRequest (without callbacks) for a validated request whose
 * conversation is `messages` (see toChatMessages): the body is read as the
 * chat completion it amounts to.
 */
export const fromResponsesRequest = (body: ResponsesRequest, messages: ChatCompletionRequest['messages']): ChatRequest => {
  if (messages.length === 0) throw new AppError('invalid_request', "Missing required parameter: 'input'.", { param: 'input' });
  const choice = body.tool_choice;
  return fromChatCompletionRequest({
    model: body.model,
    messages,
    max_completion_tokens: body.max_output_tokens,
    temperature: body.temperature,
    top_p: body.top_p,
    response_format: toResponseFormat(body.text?.format),
    tools: body.tools?.map((t) => ({
      type: 'function' as const,
      // Strict unless the client says not, as OpenAI's Responses function tools are (and as a response echoes them).
      function: { name: t.name, description: t.description ?? undefined, parameters: t.parameters ?? undefined, strict: t.strict ?? true },
    })),
    tool_choice: !choice || typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } },
  });
};
