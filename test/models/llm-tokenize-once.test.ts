import { isDeepStrictEqual } from 'node:util';
import type { ChatWrapper, LlamaContext, LlamaText, Llama, LlamaModel } from 'node-llama-cpp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runChat, type GenerateContext } from '../../src/engines/llm/generate.js';
import { toChatHistory, toFunctions } from '../../src/engines/llm/history.js';
import { createSequencePool } from '../../src/engines/llm/sequence-pool.js';
import type { EngineChatRequest } from '../../src/engines/types.js';
import { AppError } from '../../src/errors.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';

/** Small, so that a reply with no max_tokens reaches the end of the context quickly. */
const CONTEXT = 1024;

const caught = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (e: unknown) => e);

/**
 * runChat on the real engine pieces, built as src/engines/llm/llama-cpp.ts
 * builds them (one thread, no GPU), so that the test holds the chat wrapper
 * and the tokenizer whose work it counts.
 */
describe.skipIf(missingModels(GGUF))('runChat renders and tokenizes the prompt once (stories260K)', () => {
  let llama: Llama;
  let model: LlamaModel;
  let context: LlamaContext;
  let ctx: GenerateContext;
  let textPrototype: { tokenize: LlamaText['tokenize'] };

  beforeAll(async () => {
    const lib = await import('node-llama-cpp');
    llama = await lib.getLlama({
      gpu: false,
      maxThreads: 1,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: lib.LlamaLogLevel.error,
    });
    model = await llama.loadModel({ modelPath: testModel(GGUF)! });
    context = await model.createContext({ sequences: 1, threads: 1, contextSize: CONTEXT });
    ctx = {
      lib,
      llama,
      model,
      pool: createSequencePool(context),
      chatWrapper: lib.resolveChatWrapper(model),
      contextSize: context.contextSize,
      name: 'stories260k',
    };
    // The class prototype every LlamaText (exported constructor or not) inherits tokenize from.
    textPrototype = Object.getPrototypeOf(lib.LlamaText.prototype) as typeof textPrototype;
  });

  afterAll(async () => {
    await context?.dispose();
    await model?.dispose();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The prompt's real length: the chat wrapper's render of the history, tokenized by the model. */
  const realPromptTokens = (request: EngineChatRequest): number => {
    const functions = toFunctions(request.tools, request.toolChoice);
    const { contextText } = ctx.chatWrapper.generateContextState({
      chatHistory: toChatHistory(request.messages),
      availableFunctions: functions,
      documentFunctionParams: functions ? true : undefined,
    });
    return contextText.tokenize(ctx.model.tokenizer).length;
  };

  /**
   * Runs one chat request and counts, during it, the renders of its prompt
   * (calls of the chat wrapper's generateContextState with the request's
   * history) and the tokenizations of a text holding the prompt (LlamaText
   * tokenize calls on a text containing `marker`, a string of the last user message).
   */
  const counted = async (request: EngineChatRequest, marker: string) => {
    const prompt = toChatHistory(request.messages);
    const render = vi.spyOn(ctx.chatWrapper as ChatWrapper, 'generateContextState');
    const tokenize = vi.spyOn(textPrototype, 'tokenize');
    const outcome = await runChat(ctx, request).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    const renders = render.mock.calls.filter(([options]) => isDeepStrictEqual(options.chatHistory, prompt)).length;
    const tokenizations = tokenize.mock.contexts.filter((text) => String(text).includes(marker)).length;
    const allRenders = render.mock.calls.length;
    render.mockRestore();
    tokenize.mockRestore();
    return { ...outcome, renders, allRenders, tokenizations };
  };

  const user = (content: string) => [{ role: 'user' as const, content }];

  it('renders and tokenizes a plain chat prompt once, and reports its real token count', async () => {
    const request: EngineChatRequest = {
      messages: [{ role: 'system', content: 'You tell stories.' }, ...user('Once upon a time there was a frog')],
      maxTokens: 12,
      seed: 1,
    };
    const expected = realPromptTokens(request);
    const { result, error, renders, allRenders, tokenizations } = await counted(request, 'there was a frog');
    expect(error).toBeUndefined();
    expect(renders).toBe(1);
    expect(allRenders).toBe(1);
    expect(tokenizations).toBe(1);
    expect(result!.usage.promptTokens).toBe(expected);
    expect(result!.usage.completionTokens).toBe(12);
    expect(result!.usage.totalTokens).toBe(expected + 12);
    expect(result!.finishReason).toBe('length');
  });

  it('renders once with stop sequences, with a JSON response_format and with tools', async () => {
    const stop: EngineChatRequest = { messages: user('Tell me about the cat'), maxTokens: 60, stop: ['.'], seed: 2 };
    const json: EngineChatRequest = { messages: user('Tell me about the dog'), maxTokens: 20, responseFormat: { type: 'json_object' }, seed: 3 };
    const tools: EngineChatRequest = {
      messages: user('What is the weather in the park'),
      tools: [{ name: 'get_weather', description: 'The weather in a place', parameters: { type: 'object', properties: { place: { type: 'string' } } } }],
      maxTokens: 8,
      seed: 4,
    };
    for (const [request, marker] of [
      [stop, 'about the cat'],
      [json, 'about the dog'],
      [tools, 'weather in the park'],
    ] as const) {
      const expected = realPromptTokens(request);
      const { result, error, renders, tokenizations } = await counted(request, marker);
      expect(error).toBeUndefined();
      expect(renders).toBe(1);
      expect(tokenizations).toBe(1);
      expect(result!.usage.promptTokens).toBe(expected);
    }
    // The tools' documentation is part of the counted prompt.
    expect(realPromptTokens(tools)).toBeGreaterThan(realPromptTokens({ ...tools, tools: undefined }) + 20);
  });

  it('refuses a prompt that does not fit with context_length_exceeded, after one render', async () => {
    const request: EngineChatRequest = { messages: user('the cat sat. '.repeat(400)) };
    const expected = realPromptTokens(request);
    expect(expected).toBeGreaterThanOrEqual(CONTEXT);
    const { error, renders, tokenizations } = await counted(request, 'the cat sat. the cat sat.');
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.code).toBe('context_length_exceeded');
    expect(appError.param).toBe('messages');
    expect(appError.message).toContain(`${expected} tokens`);
    expect(appError.message).toContain(`holds ${CONTEXT} tokens`);
    expect(renders).toBe(1);
    expect(tokenizations).toBe(1);
    expect(ctx.pool.busy).toBe(0);
  });

  it('with no maxTokens, ends at the context limit (length) or at the end of text (stop), never shifting', async () => {
    const request: EngineChatRequest = { messages: user('Once upon a time, a little girl'), temperature: 0.9, seed: 11 };
    const expected = realPromptTokens(request);
    const { result, error, renders, allRenders, tokenizations } = await counted(request, 'a little girl');
    expect(error).toBeUndefined();
    // A context shift would render the history (with the reply so far) again.
    expect(allRenders).toBe(1);
    expect(renders).toBe(1);
    expect(tokenizations).toBe(1);
    const { usage, finishReason } = result!;
    expect(usage.promptTokens).toBe(expected);
    expect(['length', 'stop']).toContain(finishReason);
    if (finishReason === 'length') expect(usage.totalTokens).toBe(CONTEXT);
    else expect(usage.totalTokens).toBeLessThan(CONTEXT);
  });
});
