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
  Tokenizer,
} from 'node-llama-cpp';
import { abortReason, AppError } from '../../errors.js';
import type { GenerationCallbacks, ResponseFormat, SamplingOptions, ToolCall } from '../../types/chat.js';
import type { EngineChatRequest, EngineCompletionRequest, EngineGeneration } from '../types.js';
import { newToolCallId, toChatHistory, toFinishReason, toFunctions } from './history.js';
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


const tooLong = (name: string, promptTokens: number, contextSize: number) =>
  new AppError(
    'context_length_exceeded',
    `The prompt is ${promptTokens} tokens, but '${name}' holds ${contextSize} tokens per request.`,
    { hint: 'Shorten the prompt or the conversation history.', param: 'messages' },
  );

/**
 * Generation options in node-llama-cpp's terms: sampling, abort, streaming
 * and the stopwatch. With no max_tokens a reply ends when the context is
 * full (finish_reason 'length'), as llama-server does: node-llama-cpp would
 * otherwise shift the context and go on forever with a model that never
 * emits end-of-text.
 */
const generationOptions = (
  request: SamplingOptions & GenerationCallbacks,
  room: number,
  clock: ReturnType<typeof stopwatch>,
) => ({
  temperature: request.temperature,
  topP: request.topP,
  seed: request.seed,
  maxTokens: Math.min(request.maxTokens ?? room, room),
  customStopTriggers: request.stop?.length ? [...request.stop] : undefined,
  signal: request.signal,
  stopOnAbortSignal: true,
  onTextChunk: (text: string) => {
    clock.token();
    request.onToken?.(text);
  },
  onToken: () => clock.token(),
});

const grammarFor = async (llama: Llama, format: ResponseFormat | undefined): Promise<LlamaGrammar | undefined> => {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return llama.getGrammarFor('json');
  try {
    return await llama.createGrammarForJsonSchema(format.schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
  } catch (error) {
    throw new AppError('invalid_request', `The JSON schema cannot be enforced: ${(error as Error).message}`, {
      param: 'response_format',
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
): { promptTokens: number; chatWrapper: ChatWrapper } => {
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
  return { promptTokens: tokens.length, chatWrapper: view };
};

/** One chat turn on a borrowed sequence. */
export const runChat = async (ctx: GenerateContext, request: EngineChatRequest): Promise<EngineGeneration> => {
  const functions = toFunctions(request.tools, request.toolChoice);
  const wantsFormat = request.responseFormat && request.responseFormat.type !== 'text';
  if (functions && wantsFormat) {
    throw new AppError('not_supported', 'Tools and a JSON response_format cannot be combined in one request.', {
      param: 'response_format',
    });
  }
  const history = toChatHistory(request.messages);
  const { promptTokens, chatWrapper } = renderPrompt(ctx.chatWrapper, ctx.model.tokenizer, history, functions);
  if (promptTokens >= ctx.contextSize) throw tooLong(ctx.name, promptTokens, ctx.contextSize);
  const grammar = await grammarFor(ctx.llama, request.responseFormat);

  const { sequence, give } = await ctx.pool.borrow();
  const chat = new ctx.lib.LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
  const before = sequence.tokenMeter.getState();
  const clock = stopwatch();
  try {
    const options = generationOptions(request, ctx.contextSize - promptTokens, clock);
    const result = functions
      ? await chat.generateResponse(history, { ...options, functions, documentFunctionParams: true })
      : await chat.generateResponse(history, { ...options, grammar });
    if (request.signal?.aborted) throw abortReason(request.signal);
    const completionTokens = sequence.tokenMeter.diff(before).usedOutputTokens;
    const toolCalls: ToolCall[] | undefined = result.functionCalls?.length
      ? result.functionCalls.map((call) => ({
          id: newToolCallId(),
          name: call.functionName,
          arguments: JSON.stringify(call.params ?? {}),
        }))
      : undefined;
    return {
      text: result.response,
      toolCalls,
      finishReason: toFinishReason(result.metadata.stopReason, !!toolCalls),
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      timings: clock.timings(completionTokens),
    };
  } finally {
    chat.dispose({ disposeSequence: false });
    await give();
  }
};

/** A raw text completion on a borrowed sequence. */
export const runCompletion = async (
  ctx: GenerateContext,
  request: EngineCompletionRequest,
): Promise<EngineGeneration> => {
  const promptTokens = ctx.model.tokenize(request.prompt).length;
  if (promptTokens >= ctx.contextSize) throw tooLong(ctx.name, promptTokens, ctx.contextSize);
  const { sequence, give } = await ctx.pool.borrow();
  const completion = new ctx.lib.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  const before = sequence.tokenMeter.getState();
  const clock = stopwatch();
  try {
    const result = await completion.generateCompletionWithMeta(
      request.prompt,
      generationOptions(request, ctx.contextSize - promptTokens, clock),
    );
    if (request.signal?.aborted) throw abortReason(request.signal);
    const used = sequence.tokenMeter.diff(before);
    const completionTokens = used.usedOutputTokens;
    return {
      text: result.response,
      finishReason: toFinishReason(result.metadata.stopReason),
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      timings: clock.timings(completionTokens),
    };
  } finally {
    completion.dispose({ disposeSequence: false });
    await give();
  }
};
