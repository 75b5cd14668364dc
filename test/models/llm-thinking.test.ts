import type { LlamaContext, Llama, LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatTokens, runChat, runCompletion, type GenerateContext } from '../../src/engines/llm/generate.js';
import { AppError } from '../../src/errors.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';

const caught = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (e: unknown) => e);

/**
 * Thinking, counting and fill-in-the-middle on the real engine pieces.
 * stories260K has no thinking mode of its own; given Qwen's chat wrapper
 * (its 3.5 variation, whose thought opens as the reply starts) its tokens go
 * to the thought until node-llama-cpp's thought budget closes it, which is
 * the path a Qwen3 model's thinking takes.
 */
describe.skipIf(missingModels(GGUF))('thinking, token counts and infill (stories260K)', () => {
  let llama: Llama;
  let model: LlamaModel;
  let context: LlamaContext;
  let plain: GenerateContext;
  let thinking: GenerateContext;

  beforeAll(async () => {
    const lib = await import('node-llama-cpp');
    llama = await lib.getLlama({ gpu: false, maxThreads: 1, build: 'never', skipDownload: true, progressLogs: false, logLevel: lib.LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: testModel(GGUF)! });
    context = await model.createContext({ sequences: 1, threads: 1, contextSize: 1024 });
    const pool = (await import('../../src/engines/llm/sequence-pool.js')).createSequencePool(context);
    plain = { lib, llama, model, pool, chatWrapper: lib.resolveChatWrapper(model), contextSize: context.contextSize, name: 'stories260k' };
    thinking = { ...plain, chatWrapper: new lib.QwenChatWrapper({ variation: '3.5', thoughts: 'auto' }), name: 'thinker' };
  });

  afterAll(async () => {
    await context?.dispose();
    await model?.dispose();
  });

  const messages = [{ role: 'user' as const, content: 'Once upon a time' }];

  it('streams a thought apart from the text, and returns it as reasoning', async () => {
    const thoughts: string[] = [];
    const tokens: string[] = [];
    // stories260K never closes a thought itself: its budget does, after 8 tokens.
    const result = await runChat(thinking, { messages, maxTokens: 24, thoughtTokens: 8, temperature: 0, onThought: (t) => thoughts.push(t), onToken: (t) => tokens.push(t) });
    expect(thoughts.length).toBeGreaterThan(0);
    expect(result.reasoning).toBe(thoughts.join(''));
    expect(result.text).toBe(tokens.join(''));
    // The thought is not in the text.
    expect(result.text.includes(result.reasoning!)).toBe(result.reasoning === '');
    expect(result.usage.completionTokens).toBe(24);
  });

  it('think:false gives the thought no tokens', async () => {
    const thoughts: string[] = [];
    const result = await runChat(thinking, { messages, maxTokens: 12, temperature: 0, think: false, onThought: (t) => thoughts.push(t) });
    expect(thoughts).toEqual([]);
    expect(result.reasoning).toBeUndefined();
    expect(result.text.length).toBeGreaterThan(0);
    // The reply starts after an empty, closed thought in the prompt, as Qwen3's enable_thinking false renders it.
    expect(await countChatTokens(thinking, { messages, think: false })).toBeGreaterThan(await countChatTokens(thinking, { messages }));
  });

  it('think:true on a model with no thinking mode is refused before any work', async () => {
    const error = await caught(runChat(plain, { messages, maxTokens: 4, think: true }));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('not_supported');
    expect((error as AppError).param).toBe('think');
    // think:false and no think are fine on it.
    expect((await runChat(plain, { messages, maxTokens: 2, think: false })).reasoning).toBeUndefined();
  });

  it('counts the prompt as a generation renders it', async () => {
    const counted = await countChatTokens(plain, { messages });
    const result = await runChat(plain, { messages, maxTokens: 1, temperature: 0 });
    expect(counted).toBe(result.usage.promptTokens);
    const tools = [{ name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    expect(await countChatTokens(plain, { messages, tools })).toBeGreaterThan(counted);
  });

  it('refuses a suffix when the vocabulary has no infill tokens', async () => {
    const error = await caught(runCompletion(plain, { prompt: 'def add(a, b):', suffix: '\n    return c', maxTokens: 4 }));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).param).toBe('suffix');
    // An empty suffix is no infill at all.
    expect((await runCompletion(plain, { prompt: 'Once', suffix: '', maxTokens: 2, temperature: 0 })).usage.completionTokens).toBe(2);
  });

  it('top_k 1 is greedy whatever the temperature', async () => {
    const a = await runChat(plain, { messages, maxTokens: 12, temperature: 1.5, topK: 1, seed: 1 });
    const b = await runChat(plain, { messages, maxTokens: 12, temperature: 1.5, topK: 1, seed: 2 });
    const greedy = await runChat(plain, { messages, maxTokens: 12, temperature: 0 });
    expect(a.text).toBe(greedy.text);
    expect(b.text).toBe(greedy.text);
  });
});
