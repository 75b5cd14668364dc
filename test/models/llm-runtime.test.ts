import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppError, isAbortError, ModelNotFoundError } from '../../src/errors.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local-runtime.js';
import type { InstalledModel } from '../../src/store/types.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';

/** An installed model as the store would describe it, pointing at a file by hand. */
const installed = (name: string, file: string, extra: Partial<InstalledModel> = {}): InstalledModel => ({
  name,
  kind: 'llm',
  engine: 'llama-cpp',
  family: 'gguf',
  source: file,
  layout: { model: file.split(/[\\/]/).pop()! },
  files: [],
  size: 0,
  pulledAt: new Date(0).toISOString(),
  dir: dirname(file),
  ...extra,
});

const fakeStore = (models: InstalledModel[]) => {
  const get = async (name: string) => models.find((m) => m.name === name);
  return {
    list: async () => models,
    get,
    require: async (name: string) => {
      const model = await get(name);
      if (!model) throw new ModelNotFoundError(name);
      return model;
    },
    pull: async () => {
      throw new Error('not in this test');
    },
    remove: async () => undefined,
    copy: async () => Promise.reject(new Error('not in this test')),
  };
};

const caught = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (e: unknown) => e);

describe.skipIf(missingModels(GGUF))('LocalRuntime on node-llama-cpp (stories260K)', () => {
  let runtime: LocalRuntime;
  let temp: string;

  beforeAll(() => {
    const good = testModel(GGUF)!;
    temp = mkdtempSync(join(tmpdir(), 'murmur-llm-'));
    const broken = join(temp, 'broken', 'broken.gguf');
    const copy = join(temp, 'copy', 'copy.gguf');
    mkdirs(broken, copy);
    writeFileSync(broken, readFileSync(good).subarray(0, 100_000));
    copyFileSync(good, copy);
    // One thread: on small machines llama.cpp's thread hand-offs dominate a 260K-parameter model.
    const config = loadConfig({}, { threads: 1, gpu: 'off', parallel: 4, keepAliveMs: -1, maxLoaded: 3 });
    runtime = createLocalRuntime(config, {
      store: fakeStore([
        installed('stories260k', good),
        installed('broken', broken),
        installed('copy', copy),
        installed('voice', good, { kind: 'tts', engine: 'sherpa-onnx', family: 'vits' }),
      ]),
    });
  });

  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    rmSync(temp, { recursive: true, force: true });
  });

  const user = (content: string) => [{ role: 'user' as const, content }];

  it('streams tokens whose concatenation is the reply, with usage and timings', async () => {
    const chunks: string[] = [];
    const result = await runtime.chat({
      model: 'stories260k',
      messages: [{ role: 'system', content: 'You tell stories.' }, ...user('Once upon a time')],
      maxTokens: 40,
      seed: 7,
      onToken: (t) => chunks.push(t),
    });
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('')).toBe(result.text);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.model).toBe('stories260k');
    expect(result.usage.promptTokens).toBeGreaterThan(5);
    expect(result.usage.completionTokens).toBeGreaterThan(3);
    expect(result.usage.totalTokens).toBe(result.usage.promptTokens + result.usage.completionTokens);
    expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.firstTokenMs);
  });

  it('stops at maxTokens with finishReason length', async () => {
    const result = await runtime.chat({ model: 'stories260k', messages: user('Tell me a story'), maxTokens: 9, seed: 1 });
    expect(result.finishReason).toBe('length');
    expect(result.usage.completionTokens).toBe(9);
  });

  it('stops at a stop sequence with finishReason stop', async () => {
    const result = await runtime.chat({ model: 'stories260k', messages: user('Tell me a story'), maxTokens: 300, stop: ['.'], seed: 2 });
    expect(result.finishReason).toBe('stop');
    expect(result.text).not.toContain('.');
    expect(result.usage.completionTokens).toBeLessThan(300);
  });

  it('stops early when aborted, and the model keeps serving', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const error = await caught(
      runtime.chat({
        model: 'stories260k',
        messages: user('Tell me a long story'),
        maxTokens: 1500,
        signal: controller.signal,
        onToken: () => {
          if (++chunks === 3) controller.abort();
        },
      }),
    );
    expect(isAbortError(error)).toBe(true);
    expect(chunks).toBeLessThan(50);
    const after = await runtime.chat({ model: 'stories260k', messages: user('Hello'), maxTokens: 5 });
    expect(after.usage.completionTokens).toBe(5);
  });

  it('constrains output to a JSON schema and to JSON', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' }, happy: { type: 'boolean' } },
      required: ['name', 'age', 'happy'],
      additionalProperties: false,
    };
    const result = await runtime.chat({
      model: 'stories260k',
      messages: user('Describe the girl as JSON'),
      responseFormat: { type: 'json_schema', schema },
      maxTokens: 300,
      seed: 3,
    });
    const value = JSON.parse(result.text) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['age', 'happy', 'name']);
    expect(typeof value.name).toBe('string');
    expect(Number.isInteger(value.age)).toBe(true);
    expect(typeof value.happy).toBe('boolean');

    const any = await runtime.chat({ model: 'stories260k', messages: user('JSON please'), responseFormat: { type: 'json_object' }, maxTokens: 200, seed: 4 });
    if (any.finishReason === 'stop') expect(() => JSON.parse(any.text)).not.toThrow();
    expect(any.text.trimStart().startsWith('{')).toBe(true);
  });

  it('gives the same text for the same seed and temperature', async () => {
    const ask = (seed: number) =>
      runtime.chat({ model: 'stories260k', messages: user('Once upon a time'), maxTokens: 40, temperature: 0.9, seed });
    const [a, b, c] = [await ask(42), await ask(42), await ask(43)];
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
  });

  it('runs 4 chats at once as sequences of one context', async () => {
    // Overlap: how many requests were streaming at once (1 if they ran one after another).
    let streaming = 0;
    let overlap = 0;
    const replies = await Promise.all(
      [1, 2, 3, 4].map(async (seed) => {
        let started = false;
        const reply = await runtime.chat({
          model: 'stories260k',
          messages: user(`Story ${seed}`),
          maxTokens: 60,
          seed,
          onToken: () => {
            if (started) return;
            started = true;
            overlap = Math.max(overlap, ++streaming);
          },
        });
        streaming -= 1;
        return reply;
      }),
    );
    expect(overlap).toBeGreaterThanOrEqual(3);
    for (const reply of replies) {
      expect(reply.text.length).toBeGreaterThan(0);
      expect(reply.usage.completionTokens).toBeGreaterThan(0);
    }
    const [loaded] = (await runtime.ps()).filter((m) => m.name === 'stories260k');
    expect(loaded).toMatchObject({ kind: 'llm', inFlight: 0, queued: 0, expiresAt: null });
    expect(loaded.memoryBytes).toBeGreaterThan(1_000_000);
  });

  it('completes raw text', async () => {
    const chunks: string[] = [];
    const result = await runtime.complete({ model: 'stories260k', prompt: 'Once upon a time', maxTokens: 12, seed: 5, onToken: (t) => chunks.push(t) });
    expect(result.usage.completionTokens).toBe(12);
    expect(result.finishReason).toBe('length');
    expect(chunks.join('')).toBe(result.text);
  });

  it('makes embeddings of the right shape', async () => {
    const result = await runtime.embed({ model: 'stories260k', input: ['a little girl', 'the big red ball'] });
    expect(result.embeddings).toHaveLength(2);
    const [a, b] = result.embeddings;
    expect(a.length).toBeGreaterThan(8);
    expect(b.length).toBe(a.length);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a).not.toEqual(b);
    expect(result.usage.promptTokens).toBeGreaterThan(2);
  });

  it('refuses a prompt longer than the context, naming both lengths', async () => {
    const error = (await caught(runtime.chat({ model: 'stories260k', messages: user('the cat sat. '.repeat(1200)) }))) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('context_length_exceeded');
    const numbers = error.message.match(/\d+/g)!.map(Number);
    expect(numbers.some((n) => n > 2048)).toBe(true);
    expect(numbers).toContain(2048);
    const completion = (await caught(runtime.complete({ model: 'stories260k', prompt: 'the cat sat. '.repeat(1200) }))) as AppError;
    expect(completion.code).toBe('context_length_exceeded');
  });

  it('fails a truncated GGUF with EngineLoadError naming the file, then loads a good one', async () => {
    const error = (await caught(runtime.chat({ model: 'broken', messages: user('hi'), maxTokens: 3 }))) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('engine_load_failed');
    expect(error.message).toContain('broken.gguf');
    expect(error.hint).toContain('murmur pull broken');
    expect((await runtime.ps()).map((m) => m.name)).not.toContain('broken');
    const ok = await runtime.chat({ model: 'copy', messages: user('hi'), maxTokens: 3 });
    expect(ok.usage.completionTokens).toBe(3);
  });

  it('offers tools to the model (their documentation is part of the prompt)', async () => {
    const messages = user('What is the weather in Paris?');
    const plain = await runtime.chat({ model: 'stories260k', messages, maxTokens: 4 });
    const tools = [{ name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const offered = await runtime.chat({ model: 'stories260k', messages, tools, maxTokens: 4 });
    expect(offered.usage.promptTokens).toBeGreaterThan(plain.usage.promptTokens + 20);
    expect(['stop', 'length', 'tool_calls']).toContain(offered.finishReason);
    for (const call of offered.toolCalls ?? []) expect(() => JSON.parse(call.arguments)).not.toThrow();
    const none = await runtime.chat({ model: 'stories260k', messages, tools, toolChoice: 'none', maxTokens: 4 });
    expect(none.usage.promptTokens).toBe(plain.usage.promptTokens);
  });

  it('refuses to chat with a model of another kind', async () => {
    const error = (await caught(runtime.chat({ model: 'voice', messages: user('hi') }))) as AppError;
    expect(error.code).toBe('model_kind_mismatch');
    expect(error.message).toContain('voice');
  });
});

function mkdirs(...files: string[]) {
  for (const file of files) mkdirSync(dirname(file), { recursive: true });
}

describe.skipIf(missingModels(GGUF))('LocalRuntime limits on node-llama-cpp (stories260K)', () => {
  const good = () => installed('stories260k', testModel(GGUF)!);
  const make = (overrides: Parameters<typeof loadConfig>[1], maxQueued?: number) =>
    createLocalRuntime(loadConfig({}, { threads: 1, gpu: 'off', ...overrides }), { store: fakeStore([good()]), maxQueued });

  it('unloads right after the request with keep-alive 0', async () => {
    await using runtime = make({ keepAliveMs: 0, parallel: 2 });
    const result = await runtime.chat({ model: 'stories260k', messages: [{ role: 'user', content: 'hi' }], maxTokens: 3 });
    expect(result.usage.completionTokens).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(await runtime.ps()).toEqual([]);
  });

  it('queues beyond the parallel sequences, then refuses with overloaded; nothing hangs', async () => {
    await using runtime = make({ keepAliveMs: -1, parallel: 1 }, 1);
    const ask = () => runtime.chat({ model: 'stories260k', messages: [{ role: 'user', content: 'Tell a story' }], maxTokens: 40, seed: 1 });
    const settled = await Promise.allSettled([ask(), ask(), ask(), ask()]);
    const refused = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason as AppError);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(2);
    expect(refused.map((e) => e.code)).toEqual(['overloaded', 'overloaded']);
    expect(refused[0].hint).toMatch(/parallel/);
    const [loaded] = await runtime.ps();
    expect(loaded).toMatchObject({ inFlight: 0, queued: 0 });
  });
});
