import type {
  ChatHistoryItem,
  ChatModelFunctions,
  ChatWrapper,
  ChatWrapperGenerateContextStateOptions,
  ChatWrapperGeneratedContextState,
  Llama,
  LlamaGrammar,
  LlamaModel,
  LlamaText,
  Token,
  TokenBias,
  Tokenizer,
} from 'node-llama-cpp';
import { randomInt } from 'node:crypto';
import { abortReason, AppError } from '../../errors.js';
import { CORE_SAMPLING_DEFAULTS, type GenerationCallbacks, type ResponseFormat, type SamplingOptions, type ToolCall } from '../../types/chat.js';
import type { EngineChatRequest, EngineCompletionRequest, EngineGeneration } from '../types.js';
import { newToolCallId, toChatHistory, toFinishReason, toFunctions } from './history.js';
import { checkAgainstSchema, refuseUnenforced, toGrammarSchema, toolGrammar } from './json-schema.js';
import { recordLogprobs, type LogprobRecorder } from './logprobs.js';
import type { SequencePool } from './sequence-pool.js';

type NodeLlamaCpp = typeof import('node-llama-cpp');

/** What a generation needs from the loaded model. */
export interface GenerateContext {
  readonly lib: NodeLlamaCpp;
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly pool: SequencePool;
  readonly chatWrapper: ChatWrapper;
  readonly contextSize: number;
  /** The model's store name, for messages. */
  readonly name: string;
}


const tooLong = (name: string, promptTokens: number, contextSize: number, param: 'messages' | 'prompt') =>
  new AppError(
    'context_length_exceeded',
    `The prompt is ${promptTokens} tokens, but '${name}' holds ${contextSize} tokens per request.`,
    { hint: param === 'prompt' ? 'Shorten the prompt.' : 'Shorten the prompt or the conversation history.', param },
  );

/** The tokens one request may hold: the loaded context, or less where the request asks (Ollama's num_ctx). */
const contextFor = (ctx: GenerateContext, request: SamplingOptions): number => Math.min(ctx.contextSize, request.contextTokens ?? Infinity);

/** How many tokens the model's vocabulary holds (ids run from 0 to one less), from its GGUF metadata. */
export const vocabularySize = (model: LlamaModel): number | undefined => {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } }).tokenizer?.ggml?.tokens;
  return tokens?.length || undefined;
};

/**
 * Checks a token id against the vocabulary (llama.cpp aborts the process on
 * one out of range); throws AppError('invalid_request') naming `param`.
 */
export const checkToken = (model: LlamaModel, name: string, token: number, param: string): Token => {
  const size = vocabularySize(model);
  if (Number.isSafeInteger(token) && token >= 0 && size !== undefined && token < size) return token as Token;
  throw new AppError(
    'invalid_request',
    size === undefined ? `'${name}' does not say how many tokens it has, so token ids cannot be checked.` : `Invalid token id ${token} in '${param}': the token ids of '${name}' run from 0 to ${size - 1}.`,
    { param },
  );
};

/**
 * OpenAI's logit_bias as node-llama-cpp's TokenBias: the bias is added to
 * the token's logit, and -100 bans the token. node-llama-cpp ignores any
 * bias on an end-of-text token (it always lets a model stop), so one is
 * refused rather than dropped.
 */
const tokenBiasFor = (ctx: GenerateContext, bias: SamplingOptions['logitBias']): TokenBias | undefined => {
  const entries = Object.entries(bias ?? {});
  if (!entries.length) return undefined;
  const tokenBias = new ctx.lib.TokenBias(ctx.model.tokenizer);
  for (const [key, value] of entries) {
    const token = checkToken(ctx.model, ctx.name, Number(key), 'logit_bias');
    if (ctx.model.isEogToken(token)) {
      throw new AppError('not_supported', `logit_bias cannot change token ${token}: it ends '${ctx.name}'s text, and node-llama-cpp always lets a model stop.`, {
        param: 'logit_bias',
        hint: 'Leave that token out; max_tokens bounds the reply and stop ends it early.',
      });
    }
    tokenBias.set(token, value <= -100 ? 'never' : { logit: value });
  }
  return tokenBias;
};

/**
 * A sampler seed (32-bit unsigned): the request's, or a fresh random one.
 * node-llama-cpp's own default is the clock's second, the same for the
 * choices of one request (n) and for requests that start together.
 */
const toSeed = (seed: number | undefined): number => (seed === undefined ? randomInt(2 ** 32 - 1) : ((Math.trunc(seed) % 2 ** 32) + 2 ** 32) % 2 ** 32);

/**
 * Generation options in node-llama-cpp's terms: sampling, abort, streaming
 * and the stopwatch. With no max_tokens a reply ends when the context is
 * full (finish_reason 'length'), as llama-server does: node-llama-cpp would
 * otherwise shift the context and go on forever with a model that never
 * emits end-of-text. Presence and frequency penalties count every token of
 * the reply, newlines too, as OpenAI's do (node-llama-cpp's default is the
 * last 64 without newlines).
 */
const generationOptions = (
  ctx: GenerateContext,
  request: SamplingOptions & GenerationCallbacks,
  room: number,
  clock: ReturnType<typeof stopwatch>,
  logprobs?: LogprobRecorder,
) => {
  const maxTokens = Math.min(request.maxTokens ?? room, room);
  const penalized = Boolean(request.presencePenalty || request.frequencyPenalty);
  const tokenBias = tokenBiasFor(ctx, request.logitBias);
  return {
    temperature: request.temperature ?? CORE_SAMPLING_DEFAULTS.temperature,
    topP: request.topP ?? CORE_SAMPLING_DEFAULTS.topP,
    ...(request.topK !== undefined ? { topK: request.topK } : {}),
    seed: toSeed(request.seed),
    maxTokens,
    ...(penalized
      ? {
          repeatPenalty: {
            lastTokens: Math.max(1, maxTokens),
            penalizeNewLine: true,
            presencePenalty: request.presencePenalty ?? 0,
            frequencyPenalty: request.frequencyPenalty ?? 0,
          },
        }
      : {}),
    ...(tokenBias ? { tokenBias } : {}),
    customStopTriggers: request.stop?.length ? [...request.stop] : undefined,
    signal: request.signal,
    stopOnAbortSignal: true,
    onTextChunk: (text: string) => {
      clock.token();
      // Read even when nobody streams: the recorder keeps the reply's logprobs.
      const chunk = logprobs?.text(text);
      request.onToken?.(text, chunk);
    },
    onToken: (tokens: Token[]) => {
      clock.token();
      logprobs?.tokens(tokens);
    },
  };
};

/**
 * The grammar for a response format, and whether the reply must still be
 * checked against the schema (a keyword the grammar cannot hold, in
 * non-strict mode). Strict mode refuses such a schema instead: its reply
 * is the grammar's, so it always satisfies the schema.
 */
const grammarFor = async (llama: Llama, format: ResponseFormat | undefined): Promise<{ grammar?: LlamaGrammar; check: boolean }> => {
  if (!format || format.type === 'text') return { check: false };
  if (format.type === 'json_object') return { grammar: await llama.getGrammarFor('json'), check: false };
  const { grammar, unenforced, checked } = toGrammarSchema(format.schema as Record<string, unknown>);
  if (format.strict) refuseUnenforced(unenforced, 'response_format.json_schema.schema');
  try {
    return { grammar: await llama.createGrammarForJsonSchema(grammar as Parameters<Llama['createGrammarForJsonSchema']>[0]), check: unenforced.length > 0 || checked.length > 0 };
  } catch (error) {
    throw new AppError('invalid_request', `The JSON schema cannot be enforced: ${(error as Error).message}`, {
      param: 'response_format.json_schema.schema',
      cause: error,
    });
  }
};

/** Measures time to first token and decode speed around one generation. */
const stopwatch = () => {
  const start = performance.now();
  let first: number | undefined;
  return {
    token: () => void (first ??= performance.now()),
    timings: (completionTokens: number) => {
      const end = performance.now();
      const firstAt = first ?? end;
      const decodeMs = end - firstAt;
      return {
        firstTokenMs: firstAt - start,
        totalMs: end - start,
        tokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
      };
    },
  };
};

/**
 * Renders and tokenizes the chat prompt once, and gives back a per-request
 * view of the chat wrapper that answers LlamaChat's own render of this same
 * prompt from that work.
 *
 * Why: we must know the prompt's length before generating, to refuse a
 * prompt that does not fit and to cap the reply at the room left (maxTokens
 * is read once, when generateResponse starts). node-llama-cpp takes no
 * tokens, only a history that it renders and tokenizes again itself, and has
 * no hook before evaluation that could refuse or resize the request: a
 * custom contextShift strategy is only reached once the prompt already
 * overflows, and its errors are swallowed (logged, then the default strategy
 * erases history instead); the sequence's token meter counts only after
 * evaluation, and only the tokens not already in the sequence. So we keep
 * our render and hand it over. Only a render of the identical request
 * (the same history items, functions and documentFunctionParams; the render
 * is a pure function of them) is answered from the cache, so anything
 * node-llama-cpp renders later (a history grown by the reply or by function
 * calls, a context shift) still goes to the real wrapper, and a change in
 * its internals costs a second render, never a wrong one.
 */
const renderPrompt = (
  chatWrapper: ChatWrapper,
  tokenizer: Tokenizer,
  history: ChatHistoryItem[],
  functions: ChatModelFunctions | undefined,
): { promptTokens: number; tokens: readonly Token[]; chatWrapper: ChatWrapper } => {
  const documentFunctionParams = functions ? true : undefined;
  const state = chatWrapper.generateContextState({ chatHistory: history, availableFunctions: functions, documentFunctionParams });
  const tokens: readonly Token[] = state.contextText.tokenize(tokenizer);
  const rendered = state.contextText;
  const contextText: LlamaText = Object.create(rendered, {
    tokenize: {
      value: (by: Tokenizer, options?: 'trimLeadingSpace'): Token[] =>
        by === tokenizer && options === undefined ? [...tokens] : rendered.tokenize(by, options),
    },
  });
  const samePrompt = (options: ChatWrapperGenerateContextStateOptions) =>
    options.availableFunctions === functions &&
    options.documentFunctionParams === documentFunctionParams &&
    options.chatHistory.length === history.length &&
    options.chatHistory.every((item, i) => item === history[i]);
  const view: ChatWrapper = Object.create(chatWrapper, {
    generateContextState: {
      value: (options: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState =>
        samePrompt(options) ? { ...state, contextText } : chatWrapper.generateContextState(options),
    },
  });
  return { promptTokens: tokens.length, tokens, chatWrapper: view };
};

/** One chat turn on a borrowed sequence. */
/** The tools a reply must call one of (tool_choice 'required', or one named), or undefined when the model may choose. */
const forcedTools = (request: EngineChatRequest) => {
  const choice = request.toolChoice;
  if (!request.tools?.length || !choice || choice === 'auto' || choice === 'none') return undefined;
  const tools = typeof choice === 'object' ? request.tools.filter((t) => t.name === choice.name) : request.tools;
  return tools.length ? tools : undefined;
};

/**
 * A forced call is generated as JSON under a grammar over the tools'
 * argument schemas ({"name": …, "arguments": …}), with the tools described
 * in a system message, since node-llama-cpp's function calling leaves the
 * choice to the model.
 */
const forcedCall = async (llama: Llama, tools: NonNullable<ReturnType<typeof forcedTools>>) => {
  const variants = tools.map((tool, i) => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.parameters ? toolGrammar(tool, i) : { type: 'object' } },
    required: ['name', 'arguments'],
    additionalProperties: false,
  }));
  const schema = variants.length === 1 ? variants[0]! : { oneOf: variants };
  const grammar = await llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
  const listed = tools.map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ''}${t.parameters ? ` Arguments: ${JSON.stringify(t.parameters)}` : ''}`).join('\n');
  const note = `Answer by calling ${tools.length === 1 ? 'this function' : 'one of these functions'}, as JSON {"name": …, "arguments": {…}}:\n${listed}`;
  return { grammar, note };
};

/** Whether the model's chat wrapper has a thought segment: a thinking mode. */
const thinks = (ctx: GenerateContext): boolean => Boolean(ctx.chatWrapper.settings.segments?.thought);

/** A chat request's history and functions as node-llama-cpp takes them, with a forced call's grammar and note. */
const chatPrompt = async (ctx: GenerateContext, request: EngineChatRequest) => {
  const forced = forcedTools(request);
  const functions = forced ? undefined : toFunctions(request.tools, request.toolChoice);
  const wantsFormat = request.responseFormat && request.responseFormat.type !== 'text';
  if ((functions || forced) && wantsFormat) {
    throw new AppError('not_supported', 'Tools and a JSON response_format cannot be combined in one request.', {
      param: 'response_format',
    });
  }
  const call = forced && (await forcedCall(ctx.llama, forced));
  const history: ChatHistoryItem[] = [...(call ? [{ type: 'system' as const, text: call.note }] : []), ...toChatHistory(request.messages)];
  // think:false starts the reply with an empty thought, closed, as Qwen3's template does with enable_thinking false.
  const reply = history.at(-1);
  if (request.think === false && thinks(ctx) && reply?.type === 'model' && reply.response.length === 0) {
    history[history.length - 1] = { type: 'model', response: [{ type: 'segment', segmentType: 'thought', text: '', ended: true }] };
  }
  return { functions, call, history, ...renderPrompt(ctx.chatWrapper, ctx.model.tokenizer, history, functions) };
};

/** The tokens a chat request's prompt takes, rendered as a generation would render it. */
export const countChatTokens = async (ctx: GenerateContext, request: EngineChatRequest): Promise<number> => (await chatPrompt(ctx, request)).promptTokens;

/**
 * Thinking, for a chat wrapper with a thought segment (Qwen3's, DeepSeek
 * R1's…): node-llama-cpp keeps the thought out of the response text and
 * hands it over as segment chunks, which go to onThought and the result's
 * reasoning; think:false begins the reply with an empty thought (see
 * chatPrompt), and thoughtTokens gives the thought a budget of that many
 * tokens (the thought then closes and the answer begins).
 */
const checkThink = (ctx: GenerateContext, request: EngineChatRequest): void => {
  if (request.think !== true || thinks(ctx)) return;
  throw new AppError('not_supported', `'${ctx.name}' has no thinking mode, so it cannot think.`, {
    param: 'think',
    hint: 'Turn thinking off (or leave it out), or choose a model that thinks (e.g. qwen3-0.6b).',
  });
};

const thinkingFor = (ctx: GenerateContext, request: EngineChatRequest, clock: ReturnType<typeof stopwatch>) => {
  let thought = '';
  return {
    options: thinks(ctx)
      ? {
          ...(request.thoughtTokens !== undefined && request.think !== false ? { budgets: { thoughtTokens: request.thoughtTokens } } : {}),
          onResponseChunk: (chunk: { type: 'segment' | undefined; segmentType?: string; text: string }) => {
            if (chunk.type !== 'segment' || chunk.segmentType !== 'thought' || !chunk.text) return;
            clock.token();
            thought += chunk.text;
            request.onThought?.(chunk.text);
          },
        }
      : {},
    reasoning: () => (thought ? { reasoning: thought } : {}),
  };
};

export const runChat = async (ctx: GenerateContext, request: EngineChatRequest): Promise<EngineGeneration> => {
  const { functions, call, history, promptTokens, tokens, chatWrapper } = await chatPrompt(ctx, request);
  const contextSize = contextFor(ctx, request);
  if (promptTokens >= contextSize) throw tooLong(ctx.name, promptTokens, contextSize, 'messages');
  checkThink(ctx, request);
  const { grammar, check } = call ? { grammar: call.grammar, check: false } : await grammarFor(ctx.llama, request.responseFormat);
  // Checked before a sequence is taken, so a bad logit_bias costs nothing.
  tokenBiasFor(ctx, request.logitBias);

  const { sequence, give } = await ctx.pool.borrow();
  const chat = new ctx.lib.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
  // A forced call's tokens are the call, not content: its reply has no content tokens to report.
  const logprobs = request.logprobs === undefined || call ? undefined : recordLogprobs(sequence, ctx.model, request.logprobs, tokens);
  const before = sequence.tokenMeter.getState();
  const clock = stopwatch();
  try {
    const thinking = thinkingFor(ctx, request, clock);
    // A forced call's JSON is not text to stream: it comes back as the call.
    const options = {
      ...generationOptions(ctx, call ? { ...request, onToken: undefined } : request, contextSize - promptTokens, clock, logprobs),
      ...thinking.options,
    };
    let result = functions
      ? await chat.generateResponse(history, { ...options, functions, documentFunctionParams: true })
      : await chat.generateResponse(history, { ...options, grammar });
    // What the grammar could not hold is checked now; a reply not streamed yet that breaks it is made once more.
    if (check && result.metadata.stopReason !== 'maxTokens' && request.responseFormat?.type === 'json_schema' && !request.onToken) {
      const wrong = await checkAgainstSchema(request.responseFormat.schema as Record<string, unknown>, result.response);
      if (wrong) {
        logprobs?.reset();
        result = await chat.generateResponse(history, { ...options, grammar, seed: (request.seed ?? 0) + 1 });
      }
    }
    if (request.signal?.aborted) throw abortReason(request.signal);
    logprobs?.check();
    const completionTokens = sequence.tokenMeter.diff(before).usedOutputTokens;
    if (call) {
      const forcedResult = parseForcedCall(result.response, result.metadata.stopReason);
      return {
        // A call cut short by max_tokens is no call: its half-written JSON is not the reply's text either.
        text: '',
        ...(forcedResult ? { toolCalls: [forcedResult] } : {}),
        finishReason: forcedResult ? 'tool_calls' : 'length',
        usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
        timings: clock.timings(completionTokens),
        ...(request.logprobs !== undefined ? { logprobs: [] } : {}),
      };
    }
    const toolCalls: ToolCall[] | undefined = result.functionCalls?.length
      ? result.functionCalls.map((call) => ({
          id: newToolCallId(),
          name: call.functionName,
          arguments: JSON.stringify(call.params ?? {}),
        }))
      : undefined;
    return {
      text: result.response,
      ...thinking.reasoning(),
      toolCalls,
      finishReason: toFinishReason(result.metadata.stopReason, !!toolCalls),
      ...stopSequenceOf(result.metadata, request.stop),
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      timings: clock.timings(completionTokens),
      ...(logprobs ? { logprobs: [...logprobs.all] } : {}),
    };
  } finally {
    logprobs?.restore();
    chat.dispose({ disposeSequence: false });
    await give();
  }
};

/** The call in a forced reply's JSON; undefined when the reply was cut short (max_tokens) before it was whole. */
/** Which of `stop` ended a reply, when a custom stop trigger did (Anthropic's stop_sequence). */
const stopSequenceOf = (metadata: { stopReason: string; customStopTrigger?: readonly unknown[] }, stop: readonly string[] | undefined): { stopSequence?: string } => {
  if (metadata.stopReason !== 'customStopTrigger' || !stop?.length) return {};
  const said = (metadata.customStopTrigger ?? []).filter((part): part is string => typeof part === 'string').join('');
  const found = stop.find((s) => s === said) ?? (stop.length === 1 ? stop[0] : undefined);
  return found === undefined ? {} : { stopSequence: found };
};

const parseForcedCall = (text: string, stopReason: string): ToolCall | undefined => {
  if (stopReason === 'maxTokens') return undefined;
  try {
    const parsed = JSON.parse(text) as { name: string; arguments: unknown };
    return { id: newToolCallId(), name: parsed.name, arguments: JSON.stringify(parsed.arguments ?? {}) };
  } catch {
    return undefined;
  }
};

/** Whether the model has the prefix and suffix tokens of fill-in-the-middle (what LlamaCompletion's infillSupported asks). */
export const infillSupported = (model: LlamaModel): boolean => model.tokens.infill.prefix != null && model.tokens.infill.suffix != null;

/** A raw text completion (or, with a suffix, a fill-in-the-middle) on a borrowed sequence. */
export const runCompletion = async (
  ctx: GenerateContext,
  request: EngineCompletionRequest,
): Promise<EngineGeneration> => {
  const infill = request.suffix !== undefined && request.suffix !== '';
  if (infill && !infillSupported(ctx.model)) {
    throw new AppError('not_supported', `'${ctx.name}' cannot fill in the middle: its vocabulary has no prefix and suffix tokens.`, {
      param: 'suffix',
      hint: 'Leave suffix out, or choose a code model trained for fill-in-the-middle.',
    });
  }
  const tokens = ctx.model.tokenize(request.prompt);
  // An infill prompt is the prefix and the suffix, each behind its marker token, then the middle marker.
  const promptTokens = infill ? tokens.length + ctx.model.tokenize(request.suffix!).length + 3 : tokens.length;
  const contextSize = contextFor(ctx, request);
  if (promptTokens >= contextSize) throw tooLong(ctx.name, promptTokens, contextSize, 'prompt');
  tokenBiasFor(ctx, request.logitBias);
  const { sequence, give } = await ctx.pool.borrow();
  const completion = new ctx.lib.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  const logprobs = request.logprobs === undefined ? undefined : recordLogprobs(sequence, ctx.model, request.logprobs, tokens);
  const before = sequence.tokenMeter.getState();
  const clock = stopwatch();
  try {
    const options = generationOptions(ctx, request, contextSize - promptTokens, clock, logprobs);
    const result = infill
      ? await completion.generateInfillCompletionWithMeta(request.prompt, request.suffix!, options)
      : await completion.generateCompletionWithMeta(request.prompt, options);
    if (request.signal?.aborted) throw abortReason(request.signal);
    logprobs?.check();
    const used = sequence.tokenMeter.diff(before);
    const completionTokens = used.usedOutputTokens;
    return {
      text: result.response,
      finishReason: toFinishReason(result.metadata.stopReason),
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      timings: clock.timings(completionTokens),
      ...(logprobs ? { logprobs: [...logprobs.all] } : {}),
    };
  } finally {
    logprobs?.restore();
    completion.dispose({ disposeSequence: false });
    await give();
  }
};
