import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatMessage, ChatRequest, CompletionRequest, GenerationResult, ResponseFormat, SamplingOptions, ToolCall, ToolDefinition } from '../../types/chat.js';
import type { PullEvent } from '../../store/types.js';
import type { LoadedModel, ModelInfo } from '../../types/models.js';
import { toOpenAIError } from '../openai/errors.js';

/*
 * Ollama's native API (`/api/chat`, `/api/generate`, `/api/tags`,
 * `/api/show`, `/api/embed`, `/api/embeddings`, `/api/version`), the
 * server's side: zod schemas of the bodies, their conversion to the core's
 * requests, and results in Ollama's shapes (durations in nanoseconds, NDJSON
 * lines). As Ollama does, fields and options it does not know are ignored
 * (repeat_penalty, mirostat, min_p, …: the core samples with temperature,
 * top_p, top_k and the penalties); num_ctx bounds a request's context
 * within the one the model was loaded with. What murmur cannot honour and a
 * client would rely on is refused with a 400: images (no vision), `suffix`
 * on a model without fill-in-the-middle tokens, `think` on a model that does
 * not think (the engine says so).
 */

/** Ollama's error body. */
export interface OllamaErrorBody {
  readonly error: string;
}

/** Any thrown value as Ollama answers it: the status murmur's codes map to, and `{error}`; an unknown model reads as Ollama says it. */
export const toOllamaError = (error: unknown, model?: string): { status: number; body: OllamaErrorBody } => {
  const { status, body } = toOpenAIError(error);
  const code = error instanceof AppError ? error.code : undefined;
  if ((code === 'model_not_found' || code === 'model_not_downloaded') && model) return { status: 404, body: { error: `model '${model}' not found` } };
  return { status, body: { error: error instanceof AppError ? body.error.message : 'internal server error' } };
};

/**
 * The Ollama version whose API this door speaks (think and thinking,
 * capabilities, streamed tool calls), which `/api/version` answers: clients
 * check it against the least they need, and murmur's own 0.x would read as
 * an Ollama too old for them.
 */
export const OLLAMA_API_VERSION = '0.12.0';

/** A name as Ollama clients send it: `tiny:latest` is murmur's `tiny`. */
export const modelName = (name: string): string => name.replace(/:latest$/, '');

const keepAlive = z.union([z.number(), z.string()]).nullish();

/** Ollama's `options`; the ones the core has no knob for are taken and ignored, as Ollama ignores options it does not know. */
const options = z
  .object({
    temperature: z.number().min(0).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    num_ctx: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    num_predict: z.number().int().optional(),
    stop: z.union([z.string(), z.array(z.string())]).optional(),
    presence_penalty: z.number().optional(),
    frequency_penalty: z.number().optional(),
  })
  .loose()
  .nullish();

const toolCall = z.object({ function: z.object({ name: z.string().min(1), arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional() }).loose() }).loose();

const message = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string().nullish(),
    images: z.array(z.string()).nullish(),
    tool_calls: z.array(toolCall).nullish(),
    tool_name: z.string().nullish(),
    thinking: z.string().nullish(),
  })
  .loose();

const tool = z
  .object({
    type: z.string().optional(),
    function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }).loose(),
  })
  .loose();

const format = z.union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())]).nullish();

const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  format,
  options,
  keep_alive: keepAlive,
  think: z.union([z.boolean(), z.string()]).nullish(),
};

export const chatSchema = z.object({ ...common, messages: z.array(message).nullish(), tools: z.array(tool).nullish() }).loose();
export type OllamaChatRequest = z.infer<typeof chatSchema>;

export const generateSchema = z
  .object({
    ...common,
    prompt: z.string().nullish(),
    suffix: z.string().nullish(),
    system: z.string().nullish(),
    raw: z.boolean().nullish(),
    images: z.array(z.string()).nullish(),
  })
  .loose();
export type OllamaGenerateRequest = z.infer<typeof generateSchema>;

export const embedSchema = z
  .object({ model: z.string().min(1), input: z.union([z.string(), z.array(z.string())]), keep_alive: keepAlive, truncate: z.boolean().nullish(), dimensions: z.number().int().positive().nullish(), options })
  .loose();
export const embeddingsSchema = z.object({ model: z.string().min(1), prompt: z.string(), keep_alive: keepAlive, options }).loose();
export const showSchema = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional(), verbose: z.boolean().nullish() }).loose();

const noVision = (param: string): never => {
  throw new AppError('not_supported', `'${param}' is not supported: murmur has no vision; its chat models read text only.`, { param, hint: 'Send text only.' });
};

/** Ollama's think: a boolean, or a level ("high", "medium", "low") that murmur's engine takes as true; absent leaves it to the model. */
const fromThink = (think: boolean | string | null | undefined): { think?: boolean } =>
  think === null || think === undefined ? {} : { think: think !== false && think !== 'false' };

/** The core's sampling options for Ollama's `options` (Ollama's own defaults: temperature 0.8, top_p 0.9). */
const fromOptions = (o: z.infer<typeof options>): SamplingOptions => ({
  temperature: o?.temperature ?? 0.8,
  topP: o?.top_p ?? 0.9,
  ...(o?.top_k !== undefined ? { topK: o.top_k } : {}),
  ...(o?.num_ctx !== undefined ? { contextTokens: o.num_ctx } : {}),
  ...(o?.seed !== undefined ? { seed: o.seed } : {}),
  // -1 (no limit) and -2 (fill the context) both mean: until the model stops or the context is full.
  ...(o?.num_predict !== undefined && o.num_predict > 0 ? { maxTokens: o.num_predict } : {}),
  ...(o?.stop !== undefined ? { stop: (typeof o.stop === 'string' ? [o.stop] : o.stop).filter(Boolean) } : {}),
  ...(o?.presence_penalty !== undefined ? { presencePenalty: o.presence_penalty } : {}),
  ...(o?.frequency_penalty !== undefined ? { frequencyPenalty: o.frequency_penalty } : {}),
});

const fromFormat = (f: z.infer<typeof format>): ResponseFormat | undefined =>
  f === 'json' ? { type: 'json_object' } : f && typeof f === 'object' ? { type: 'json_schema', schema: f } : undefined;

const argumentsText = (args: Record<string, unknown> | string | undefined): string => (typeof args === 'string' ? args : JSON.stringify(args ?? {}));

/** Ollama's messages as the core's: tool calls get ids (Ollama has none), and a tool's answer is tied to the call it names (tool_name) or the next unanswered one. */
const fromMessages = (messages: readonly z.infer<typeof message>[]): ChatMessage[] => {
  let pending: ToolCall[] = [];
  return messages.map((m, i): ChatMessage => {
    if (m.images?.length) noVision(`messages[${i}].images`);
    const content = m.content ?? '';
    if (m.role === 'assistant' && m.tool_calls?.length) {
      const calls = m.tool_calls.map((c, j) => ({ id: `call_${i}_${j}`, name: c.function.name, arguments: argumentsText(c.function.arguments) }));
      pending = [...calls];
      return { role: 'assistant', content, toolCalls: calls };
    }
    if (m.role === 'tool') {
      const index = m.tool_name ? pending.findIndex((c) => c.name === m.tool_name) : 0;
      const call = pending[index < 0 ? 0 : index];
      if (call) pending = pending.filter((c) => c !== call);
      return { role: 'tool', content, ...(call ? { toolCallId: call.id } : {}) };
    }
    return { role: m.role, content };
  });
};

const fromTools = (tools: OllamaChatRequest['tools']): ToolDefinition[] | undefined =>
  tools?.length
    ? tools.map((t) => ({ name: t.function.name, ...(t.function.description !== undefined ? { description: t.function.description } : {}), ...(t.function.parameters ? { parameters: t.function.parameters } : {}) }))
    : undefined;

/** The core ChatRequest (without callbacks) of an `/api/chat` body with messages. */
export const fromChatRequest = (body: OllamaChatRequest): ChatRequest => {
  const responseFormat = fromFormat(body.format);
  return {
    model: modelName(body.model),
    messages: fromMessages(body.messages ?? []),
    ...fromOptions(body.options),
    ...fromThink(body.think),
    ...(fromTools(body.tools) ? { tools: fromTools(body.tools) } : {}),
    ...(responseFormat ? { responseFormat } : {}),
  };
};

/** What an `/api/generate` body asks for: a chat of its system and prompt, or (raw) the prompt completed as it is. */
export const fromGenerateRequest = (body: OllamaGenerateRequest): { raw: false; request: ChatRequest } | { raw: true; request: CompletionRequest } => {
  if (body.images?.length) noVision('images');
  const model = modelName(body.model);
  // A suffix is fill-in-the-middle: the prompt and suffix go to the model's infill tokens as they are, as Ollama does.
  if (body.raw || body.suffix) {
    if (body.format) throw new AppError('invalid_request', `'format' cannot be used with ${body.raw ? 'raw' : 'suffix'}: the prompt is completed as it is.`, { param: 'format' });
    return { raw: true, request: { model, prompt: body.prompt ?? '', ...(body.suffix ? { suffix: body.suffix } : {}), ...fromOptions(body.options) } };
  }
  const responseFormat = fromFormat(body.format);
  const messages: ChatMessage[] = [...(body.system ? [{ role: 'system' as const, content: body.system }] : []), { role: 'user', content: body.prompt ?? '' }];
  return { raw: false, request: { model, messages, ...fromOptions(body.options), ...fromThink(body.think), ...(responseFormat ? { responseFormat } : {}) } };
};

const NS_PER_MS = 1_000_000;

/** The final object's counts and durations (ns): the door loads the model before the generation starts, so prompt evaluation is the time to the first token. */
export const toFinalStats = (result: GenerationResult, loadMs: number, totalMs: number) => {
  const promptMs = Math.max(0, result.timings.firstTokenMs);
  const evalMs = Math.max(0, result.timings.totalMs - result.timings.firstTokenMs);
  return {
    done_reason: result.finishReason === 'length' ? 'length' : 'stop',
    total_duration: Math.round(totalMs * NS_PER_MS),
    load_duration: Math.round(loadMs * NS_PER_MS),
    prompt_eval_count: result.usage.promptTokens,
    prompt_eval_duration: Math.round(promptMs * NS_PER_MS),
    eval_count: result.usage.completionTokens,
    eval_duration: Math.round(evalMs * NS_PER_MS),
  };
};

const toArguments = (args: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(args);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/** The core's tool calls as Ollama's (`{function: {name, arguments: {…}}}`). */
export const toToolCalls = (calls: readonly ToolCall[]) => calls.map((c) => ({ function: { name: c.name, arguments: toArguments(c.arguments) } }));

/** llama.cpp's `general.file_type` as Ollama names quantizations. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS',
  24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
};

/** A model's GGUF header values (scalars), where they could be read. */
export type GgufFacts = Readonly<Record<string, string | number | boolean>>;

/** Ollama's `details` of a model. */
export const toDetails = (facts: GgufFacts) => {
  const arch = typeof facts['general.architecture'] === 'string' ? facts['general.architecture'] : '';
  const fileType = facts['general.file_type'];
  return {
    parent_model: '',
    format: 'gguf',
    family: arch,
    families: arch ? [arch] : null,
    parameter_size: typeof facts['general.size_label'] === 'string' ? facts['general.size_label'] : '',
    quantization_level: typeof fileType === 'number' ? (FILE_TYPES[fileType] ?? 'unknown') : '',
  };
};

/** A digest of a model's identity (murmur keeps no Ollama blob digests): its name, size and when it was pulled. */
export const digestOf = (model: ModelInfo): string => createHash('sha256').update(`${model.name}\0${model.size ?? 0}\0${model.pulledAt ?? ''}`).digest('hex');

/** One `/api/tags` entry. */
export const toTagsEntry = (model: ModelInfo, facts: GgufFacts) => ({
  name: model.name,
  model: model.name,
  modified_at: model.pulledAt ?? new Date(0).toISOString(),
  size: model.size ?? 0,
  digest: digestOf(model),
  details: toDetails(facts),
});

/**
 * What a model can do, as `/api/show` lists it, from its GGUF header:
 * `insert` where it has fill-in-the-middle tokens, `thinking` where its chat
 * template opens a `<think>` block (Qwen3, DeepSeek R1).
 */
export const capabilitiesOf = (model: ModelInfo, facts: GgufFacts): string[] => {
  if (model.kind === 'embedding') return ['embedding'];
  const has = (key: string) => typeof facts[key] === 'number';
  const infill = (has('tokenizer.ggml.fim_pre_token_id') && has('tokenizer.ggml.fim_suf_token_id')) || (has('tokenizer.ggml.prefix_token_id') && has('tokenizer.ggml.suffix_token_id'));
  const template = facts['tokenizer.chat_template'];
  const thinks = typeof template === 'string' && template.includes('<think>');
  return ['completion', 'tools', ...(infill ? ['insert'] : []), ...(thinks ? ['thinking'] : [])];
};

/** The `/api/show` answer: the chat template is its `template` (a Jinja one, where Ollama's are Go templates). */
export const toShow = (model: ModelInfo, facts: GgufFacts) => {
  const { 'tokenizer.chat_template': template, ...info } = facts;
  return {
    modelfile: '',
    parameters: '',
    template: typeof template === 'string' ? template : '',
    details: toDetails(facts),
    model_info: info,
    capabilities: capabilitiesOf(model, facts),
    modified_at: model.pulledAt ?? new Date(0).toISOString(),
  };
};

export const pullSchema = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional(), insecure: z.boolean().nullish(), stream: z.boolean().nullish() }).loose();
export const deleteSchema = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional() }).loose();
export const copySchema = z.object({ source: z.string().min(1), destination: z.string().min(1) }).loose();

/** A pull's progress as Ollama's status lines; the store's own success is left to the final `{status:'success'}`. */
export const toPullStatus = (event: PullEvent): Record<string, unknown> | undefined => {
  switch (event.status) {
    case 'resolving':
      return { status: 'pulling manifest' };
    case 'downloading':
      return { status: `pulling ${event.file}`, digest: event.file, completed: event.completed, ...(event.total !== undefined ? { total: event.total } : {}) };
    case 'verifying':
      return { status: 'verifying sha256 digest' };
    case 'extracting':
      return { status: `extracting ${event.file}` };
    case 'waiting':
      return { status: `waiting: ${event.reason}` };
    default:
      return undefined;
  }
};

/** When a model kept forever "expires": Ollama clients parse a time, so a far one. */
const NEVER = '9999-12-31T23:59:59Z';

/** One `/api/ps` entry: size is all the memory the model holds, size_vram what of it is on a GPU (0 on the CPU). */
export const toPsEntry = (loaded: LoadedModel, model: ModelInfo | undefined, facts: GgufFacts) => ({
  name: loaded.name,
  model: loaded.name,
  size: loaded.memoryBytes,
  digest: model ? digestOf(model) : '',
  details: toDetails(facts),
  expires_at: loaded.expiresAt ? loaded.expiresAt.toISOString() : NEVER,
  size_vram: loaded.vramBytes ?? 0,
  // The context it was loaded with (what a request can hold), else the one it was trained with.
  ...(loaded.contextSize
    ? { context_length: loaded.contextSize }
    : typeof facts[`${String(facts['general.architecture'])}.context_length`] === 'number'
      ? { context_length: facts[`${String(facts['general.architecture'])}.context_length`] }
      : {}),
});
