import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { EngineFactory, LlmHandle } from '../../../src/engines/types.js';
import { AppError, ModelNotFoundError } from '../../../src/errors.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import type { InstalledModel } from '../../../src/store/types.js';

const model = (name: string, kind: InstalledModel['kind'], aliases: string[] = []): InstalledModel & { aliases: string[] } => ({
  name,
  aliases,
  kind,
  engine: kind === 'llm' || kind === 'embedding' ? 'llama-cpp' : 'sherpa-onnx',
  family: kind === 'llm' || kind === 'embedding' ? 'gguf' : 'vits',
  source: name,
  layout: { model: `${name}.gguf` },
  files: [],
  size: 1,
  pulledAt: new Date(0).toISOString(),
  dir: `/models/${name}`,
});

const setup = () => {
  const models = [model('chatty', 'llm', ['chat-alias']), model('embedder', 'embedding'), model('voice', 'tts')];
  const removed: string[] = [];
  const disposed: string[] = [];
  const loads: string[] = [];
  const find = async (name: string) => models.find((m) => m.name === name || m.aliases.includes(name));
  const store = {
    list: async () => models,
    get: find,
    require: async (name: string) => (await find(name)) ?? Promise.reject(new ModelNotFoundError(name)),
    pull: async (ref: string) => (await find(ref))!,
    remove: async (name: string) => void removed.push(name),
    copy: async (source: string, destination: string) => ({ ...(await find(source))!, name: destination, aliases: [] }),
  };
  const llm: EngineFactory = async (m) => {
    loads.push(m.name);
    const handle: LlmHandle = {
      kind: m.kind,
      contextSize: 64,
      stats: async () => ({ memoryBytes: 42 }),
      chat: async (request) => {
        request.onToken?.('echo: ');
        request.onToken?.(request.messages.at(-1)!.content);
        return {
          text: `echo: ${request.messages.at(-1)!.content}`,
          finishReason: 'stop',
          usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
          timings: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1000 },
        };
      },
      complete: async () => {
        throw new Error('unused');
      },
      countTokens: async (request) => request.messages.length,
      embed: async (input) => ({ embeddings: input.map((t) => [t.length, 1]), usage: { promptTokens: input.length, totalTokens: input.length } }),
      dispose: async () => void disposed.push(m.name),
    };
    return handle;
  };
  const runtime = createLocalRuntime(loadConfig({}, { keepAliveMs: -1 }), { store, engines: { 'llama-cpp': llm } });
  return { runtime, removed, disposed, loads };
};

describe('LocalRuntime (fake engine)', () => {
  it('chats through the engine under the canonical name, loading once', async () => {
    const { runtime, loads } = setup();
    const tokens: string[] = [];
    const a = await runtime.chat({ model: 'chat-alias', messages: [{ role: 'user', content: 'hi' }], onToken: (t) => tokens.push(t) });
    const b = await runtime.chat({ model: 'chatty', messages: [{ role: 'user', content: 'yo' }] });
    expect(a).toMatchObject({ model: 'chatty', text: 'echo: hi', finishReason: 'stop' });
    expect(tokens.join('')).toBe(a.text);
    expect(b.text).toBe('echo: yo');
    expect(a.timings.firstTokenMs).toBeGreaterThanOrEqual(1);
    expect(loads).toEqual(['chatty']);
    expect((await runtime.ps()).map((m) => [m.name, m.memoryBytes])).toEqual([['chatty', 42]]);
  });

  it('refuses verbs a model kind cannot do, without loading it', async () => {
    const { runtime, loads } = setup();
    const chat = await runtime.chat({ model: 'voice', messages: [] }).catch((e: AppError) => e);
    expect(chat).toBeInstanceOf(AppError);
    expect((chat as AppError).code).toBe('model_kind_mismatch');
    expect((chat as AppError).message).toContain("'voice' is a tts model");
    const complete = await runtime.complete({ model: 'embedder', prompt: 'x' }).catch((e: AppError) => e);
    expect((complete as AppError).code).toBe('model_kind_mismatch');
    expect(loads).toEqual([]);
    const embedded = await runtime.embed({ model: 'embedder', input: ['abc', 'de'] });
    // The engine's vectors come back at unit length.
    expect(embedded).toEqual({ model: 'embedder', embeddings: [[3 / Math.sqrt(10), 1 / Math.sqrt(10)], [2 / Math.sqrt(5), 1 / Math.sqrt(5)]], usage: { promptTokens: 2, totalTokens: 2 } });
  });

  it('passes unknown models through as the store reports them', async () => {
    const { runtime } = setup();
    await expect(runtime.chat({ model: 'nope', messages: [] })).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(runtime.getModel('nope')).rejects.toMatchObject({ code: 'model_not_found' });
    expect((await runtime.listModels()).map((m) => m.name)).toEqual(['chatty', 'embedder', 'voice']);
  });

  it('loads with a keep-alive, unloads by alias, and unloads before removing', async () => {
    const { runtime, removed, disposed } = setup();
    const loaded = await runtime.load('chat-alias', { keepAliveMs: 60_000 });
    expect(loaded).toMatchObject({ name: 'chatty', kind: 'llm', inFlight: 0 });
    expect(loaded.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(await runtime.unload(['chat-alias'])).toEqual(['chatty']);
    expect(disposed).toEqual(['chatty']);
    await runtime.load('embedder');
    await runtime.remove('embedder');
    expect(disposed).toEqual(['chatty', 'embedder']);
    expect(removed).toEqual(['embedder']);
    await runtime.load('chatty');
    await runtime[Symbol.asyncDispose]();
    expect(disposed).toEqual(['chatty', 'embedder', 'chatty']);
    expect(await runtime.ps()).toEqual([]);
  });

  it('copies through the store, loading nothing', async () => {
    const { runtime, loads } = setup();
    expect(await runtime.copy('chat-alias', 'chatty-2')).toMatchObject({ name: 'chatty-2', kind: 'llm' });
    expect(loads).toEqual([]);
  });
});
