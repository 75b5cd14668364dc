import type { Store } from '../../src/store/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../commands/context.js';
import { openRuntime } from '../../commands/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { EngineHandle } from '../../src/engines/types.js';
import { AppError } from '../../src/errors.js';
import { createModelManager } from '../../src/runtime/model-manager.js';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest, GenerationResult } from '../../src/types/chat.js';
import { createApp, type RequestLogEntry } from '../../src/server/app.js';
import { runCli } from '../helpers/cli.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

const post = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** A promise with its resolve, for stepping a fake engine by hand. */
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

describe('GET /health says ready or loading', () => {
  it('is ok with nothing loading, loading (still 200) while a load is in flight, and 503 only when stopping', async () => {
    const runtime = createFakeRuntime();
    let loading: string[] = [];
    const app = createApp({ ...runtime, loading: () => loading });
    expect(await (await app.request('/health')).json()).toMatchObject({ status: 'ok', loading: [] });
    loading = ['stories'];
    const res = await app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'loading', loading: ['stories'] });

    const stop = new AbortController();
    const stopping = createApp(runtime, { shutdown: stop.signal });
    stop.abort();
    expect((await stopping.request('/health')).status).toBe(503);
  });

  it('the model manager reports a model as loading until its load settles, whether it succeeds or fails', async () => {
    const loads = new Map<string, { open: () => void; fail: boolean }>();
    const manager = createModelManager({
      keepAliveMs: -1,
      maxLoaded: 3,
      parallel: 1,
      load: (name) =>
        new Promise<EngineHandle>((resolve, reject) => {
          const fail = name === 'bad';
          loads.set(name, {
            fail,
            open: () => (fail ? reject(new AppError('engine_load_failed', 'corrupt')) : resolve({ kind: 'llm', stats: async () => ({ memoryBytes: 1 }), dispose: async () => {} })),
          });
        }),
    });
    const good = manager.load('good');
    const bad = manager.load('bad').catch((error: unknown) => error);
    expect(manager.loading().sort()).toEqual(['bad', 'good']);
    loads.get('good')!.open();
    await good;
    expect(manager.loading()).toEqual(['bad']);
    loads.get('bad')!.open();
    expect(await bad).toMatchObject({ code: 'engine_load_failed' });
    expect(manager.loading()).toEqual([]);
    expect(manager.ps().map((m) => m.name)).toEqual(['good']);
    await manager[Symbol.asyncDispose]();
  });
});

describe('shutting down while a model loads', () => {
  it('disposing the manager aborts loads in flight instead of waiting for them, and their callers are told', async () => {
    let seen: AbortSignal | undefined;
    const manager = createModelManager({
      keepAliveMs: -1,
      maxLoaded: 3,
      parallel: 1,
      // A load that only ends when its signal fires (as node-llama-cpp's loadModel({loadSignal}) does).
      load: (_name, signal) =>
        new Promise<EngineHandle>((_resolve, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    });
    const caller = manager.run('big', async () => 'never').catch((error: unknown) => error);
    expect(manager.loading()).toEqual(['big']);
    expect(seen?.aborted).toBe(false);
    await manager[Symbol.asyncDispose]();
    expect(seen?.aborted).toBe(true);
    expect(await caller).toMatchObject({ name: 'AbortError' });
    expect(manager.loading()).toEqual([]);
  });
});

describe('the request log of streamed replies', () => {
  it('writes the entry when the stream ends, with the whole time in ms and the time to headers in headersMs', async () => {
    const fake = createFakeRuntime();
    const rest = gate();
    const runtime: Runtime = {
      ...fake,
      chat: async (request: ChatRequest): Promise<GenerationResult> => {
        request.onToken?.('Once');
        await rest.opened;
        request.onToken?.(' upon');
        return {
          model: request.model,
          text: 'Once upon',
          finishReason: 'stop',
          usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
          timings: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1000 },
        };
      },
    };
    const log: RequestLogEntry[] = [];
    const app = createApp(runtime, { log: (entry) => log.push(entry as RequestLogEntry) });
    const res = await app.request('/v1/chat/completions', post({ model: 'stories', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    // The headers and the first token are out, the stream is not over: nothing logged yet.
    expect(log).toEqual([]);
    rest.open();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
    expect(text).toContain(' upon');
    expect(text).toContain('data: [DONE]');
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, model: 'stories' });
    expect(log[0]!.headersMs).toBeTypeOf('number');
    expect(log[0]!.ms).toBeGreaterThanOrEqual(log[0]!.headersMs!);
  });

  it('logs a stream the client cancels, and the cancel still reaches the generation', async () => {
    const runtime = createFakeRuntime();
    const log: RequestLogEntry[] = [];
    const app = createApp(runtime, { log: (entry) => log.push(entry as RequestLogEntry) });
    const res = await app.request('/v1/chat/completions', post({ model: 'stories', stream: true, messages: [{ role: 'user', content: 'slow' }] }));
    const reader = res.body!.getReader();
    await reader.read();
    expect(log).toEqual([]);
    await reader.cancel();
    await expect.poll(() => runtime.aborted).toBe(1);
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]!.headersMs).toBeTypeOf('number');
  });

  it('logs whole replies at once, without headersMs', async () => {
    const log: RequestLogEntry[] = [];
    const app = createApp(createFakeRuntime(), { log: (entry) => log.push(entry as RequestLogEntry) });
    await (await app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'hi' }] }))).json();
    expect(log).toHaveLength(1);
    expect(log[0]!.headersMs).toBeUndefined();
  });
});

describe('a body over the limit', () => {
  it('is a 413 that closes the connection, so clients do not reuse a socket with unread bytes on it', async () => {
    const app = createApp(createFakeRuntime(), { bodyLimitBytes: 100 });
    const res = await app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'x'.repeat(200) }] }));
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});

describe('--gpu, --max-queue and MURMUR_MAX_QUEUE', () => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-hardening-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const env = { MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9' };

  it('reads MURMUR_MAX_QUEUE (0 allowed: no waiting at all) and refuses nonsense', () => {
    expect(loadConfig({}).maxQueue).toBeUndefined();
    expect(loadConfig({ MURMUR_MAX_QUEUE: '0' }).maxQueue).toBe(0);
    expect(loadConfig({ MURMUR_MAX_QUEUE: '12' }).maxQueue).toBe(12);
    expect(() => loadConfig({ MURMUR_MAX_QUEUE: '-1' })).toThrow(/MURMUR_MAX_QUEUE must be a whole number of 0 or more/);
  });

  it('usage errors exit 2 before anything starts', async () => {
    for (const args of [
      ['serve', '--gpu', 'tpu'],
      ['serve', '--max-queue', 'many'],
      ['serve', '--max-queue', '-3'],
      ['chat', '--local', '--gpu', 'quantum', 'stories', 'hi'],
    ]) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/--(gpu|max-queue) must be/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("chat's --gpu reaches the in-process runtime's config (the one the engine is built from)", async () => {
    const ctx: CommandContext = {
      env,
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      signal: new AbortController().signal,
      config: (overrides) => loadConfig(env, overrides),
    };
    await using off = await openRuntime(ctx, { local: true, gpu: 'cpu' });
    expect(off.config.gpu).toBe('off');
    expect(off.config.home).toBe(home);
    await using vulkan = await openRuntime(ctx, { local: true, gpu: 'Vulkan' });
    expect(vulkan.config.gpu).toBe('vulkan');
    await using plain = await openRuntime(ctx, { local: true });
    expect(plain.config.gpu).toBe('auto');
  });

  it('--max-queue bounds the wait list of a model: with 0, a second request is refused at once with 503', async () => {
    const { createLocalRuntime } = await import('../../src/runtime/local-runtime.js');
    const fake = createFakeRuntime();
    const release = gate();
    const started = gate();
    const runtime = createLocalRuntime(loadConfig({}, { parallel: 1, maxQueue: 0 }), {
      // The fake runtime's models are whole store entries.
      store: { list: fake.listModels, get: async (n: string) => fake.getModel(n), require: fake.getModel, pull: fake.pull, remove: fake.remove } as unknown as Store,
      engines: {
        'llama-cpp': async () => ({
          kind: 'llm',
          stats: async () => ({ memoryBytes: 1 }),
          contextSize: 64,
          dispose: async () => {},
          chat: async () => {
            started.open();
            await release.opened;
            return { text: 'x', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, timings: { firstTokenMs: 0, totalMs: 0, tokensPerSecond: 0 } };
          },
          complete: async () => Promise.reject(new Error('unused')),
          embed: async () => Promise.reject(new Error('unused')),
        }),
      },
    });
    const app = createApp(runtime);
    const first = app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'a' }] }));
    await started.opened;
    const second = await app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'b' }] }));
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('1');
    release.open();
    expect((await first).status).toBe(200);
    await runtime[Symbol.asyncDispose]();
  });
});

describe('an engine that dies under a request', () => {
  it('answers 503 engine_crashed with Retry-After, and the next request loads the model afresh', async () => {
    const { createLocalRuntime } = await import('../../src/runtime/local-runtime.js');
    const fake = createFakeRuntime();
    const started = gate();
    let loads = 0;
    const runtime = createLocalRuntime(loadConfig({}, { parallel: 1 }), {
      store: { list: fake.listModels, get: async (n: string) => fake.getModel(n), require: fake.getModel, pull: fake.pull, remove: fake.remove } as unknown as Store,
      engines: {
        'llama-cpp': async () => {
          const load = ++loads;
          let die!: (error: Error) => void;
          const died = new Promise<Error>((resolve) => (die = resolve));
          return {
            kind: 'llm',
            stats: async () => ({ memoryBytes: 1 }),
            died,
            contextSize: 64,
            dispose: async () => {},
            chat: async () => {
              if (load === 1) {
                // The first engine's process goes away mid-reply; its call never settles by itself.
                started.open();
                die(new Error('the engine process exited with signal SIGABRT'));
                return new Promise<never>(() => {});
              }
              return { text: 'fine', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, timings: { firstTokenMs: 0, totalMs: 0, tokensPerSecond: 0 } };
            },
            complete: async () => Promise.reject(new Error('unused')),
            embed: async () => Promise.reject(new Error('unused')),
          };
        },
      },
    });
    const app = createApp(runtime);
    const crashed = await app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'a' }] }));
    await started.opened;
    expect(crashed.status).toBe(503);
    expect(crashed.headers.get('retry-after')).toBe('1');
    const body = (await crashed.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: 'engine_crashed', type: 'server_error' });
    expect(body.error.message).toMatch(/stories.*SIGABRT/);
    const again = await app.request('/v1/chat/completions', post({ model: 'stories', messages: [{ role: 'user', content: 'b' }] }));
    expect(again.status).toBe(200);
    expect(loads).toBe(2);
    await runtime[Symbol.asyncDispose]();
  });
});
