import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { createRemoteRuntime, probeDaemon } from '../../src/client/remote-runtime.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import type { PullEvent } from '../../src/store/types.js';
import { createFakeRuntime, type FakeRuntime } from '../helpers/fake-runtime.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A real HTTP daemon on an ephemeral port around a fake runtime, and a RemoteRuntime talking to it. */
const daemon = async (apiKey?: string, graceMs?: number) => {
  const fake: FakeRuntime = createFakeRuntime();
  server = await startServer(fake, { port: 0, apiKey, graceMs });
  const remote = createRemoteRuntime(loadConfig({}), { baseUrl: server.url, apiKey });
  return { fake, remote, url: server.url };
};

const user = (content: string) => [{ role: 'user' as const, content }];

/** A never-ending stream through `remote`, once its first token has come: the call (settling with its error). */
const streaming = async (remote: ReturnType<typeof createRemoteRuntime>) => {
  let first!: () => void;
  const started = new Promise<void>((resolve) => (first = resolve));
  const call = remote.chat({ model: 'stories', messages: user('slow'), onToken: () => first() }).catch((e: unknown) => e);
  await started;
  // In an object: an async function returning the promise itself would wait for it.
  return { call };
};

describe('RemoteRuntime against a real HTTP daemon', () => {
  it('chats whole and streamed, with tool calls, usage and timings', async () => {
    const { remote } = await daemon();
    const whole = await remote.chat({ model: 'stories', messages: user('hi'), maxTokens: 2 });
    expect(whole).toMatchObject({ model: 'stories', text: 'Once upon', finishReason: 'length', usage: { promptTokens: 7, completionTokens: 2, totalTokens: 9 } });

    const pieces: string[] = [];
    const streamed = await remote.chat({ model: 'stories', messages: user('hi'), onToken: (t) => pieces.push(t) });
    expect(pieces).toEqual(['Once', ' upon', ' a', ' time']);
    expect(streamed).toMatchObject({ text: 'Once upon a time', finishReason: 'stop', usage: { completionTokens: 4 } });
    expect(streamed.timings.totalMs).toBeGreaterThanOrEqual(streamed.timings.firstTokenMs);

    const tools = [{ name: 'weather', parameters: { type: 'object' } }];
    const called = await remote.chat({ model: 'stories', messages: user('x'), tools, onToken: () => {} });
    expect(called.finishReason).toBe('tool_calls');
    expect(called.toolCalls).toEqual([{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }]);
  });

  it('completes, embeds, lists and shows models', async () => {
    const { remote } = await daemon();
    expect((await remote.complete({ model: 'stories', prompt: 'Once', onToken: () => {} })).text).toBe('Once upon a time');
    expect((await remote.embed({ model: 'embed', input: ['abc', 'de'] })).embeddings).toEqual([[3, 0.5, -0.25], [2, 0.5, -0.25]]);
    expect((await remote.listModels()).map((m) => m.name).sort()).toEqual(['embed', 'stories', 'voice']);
    expect(await remote.getModel('voice')).toMatchObject({ name: 'voice', kind: 'tts' });
  });

  it('loads, lists, unloads, pulls and removes through the admin routes', async () => {
    const { remote } = await daemon();
    const loaded = await remote.load('stories', { keepAliveMs: 60_000 });
    expect(loaded.loadedAt).toBeInstanceOf(Date);
    expect(loaded.expiresAt!.getTime() - loaded.loadedAt.getTime()).toBeGreaterThanOrEqual(59_000);
    expect((await remote.load('embed', { keepAliveMs: -1 })).expiresAt).toBeNull();
    expect((await remote.ps()).map((m) => m.name).sort()).toEqual(['embed', 'stories']);
    expect(await remote.unload(['stories'])).toEqual(['stories']);
    expect(await remote.unload('all')).toEqual(['embed']);
    const events: PullEvent[] = [];
    const pulled = await remote.pull('/tmp/new.gguf', { name: 'new', onProgress: (e) => events.push(e) });
    expect(pulled.name).toBe('new');
    expect(events.map((e) => e.status)).toEqual(['resolving', 'downloading', 'success']);
    await remote.remove('new');
    await expect(remote.getModel('new')).rejects.toMatchObject({ code: 'model_not_found' });
  });

  it('turns error bodies back into AppErrors with their hints', async () => {
    const { remote } = await daemon();
    const missing = await remote.chat({ model: 'nope', messages: user('x') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AppError);
    expect(missing).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect((missing as AppError).hint).toMatch(/murmur list/);
    await expect(remote.chat({ model: 'stories', messages: user('overload'), onToken: () => {} })).rejects.toMatchObject({ code: 'overloaded' });
    await expect(remote.chat({ model: 'voice', messages: user('x') })).rejects.toMatchObject({ code: 'model_kind_mismatch' });
  });

  it('sends the API key, and a wrong one is unauthorized', async () => {
    const { url } = await daemon('k1');
    await expect(createRemoteRuntime(loadConfig({}), { baseUrl: url, apiKey: 'k1' }).ps()).resolves.toEqual([]);
    await expect(createRemoteRuntime(loadConfig({}), { baseUrl: url, apiKey: 'k2' }).ps()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(await probeDaemon(url)).toBe(true);
  });

  it('aborting a streamed request closes the socket and aborts the generation on the daemon', async () => {
    const { remote, fake } = await daemon();
    const client = new AbortController();
    let tokens = 0;
    const call = remote.chat({
      model: 'stories',
      messages: user('slow'),
      signal: client.signal,
      onToken: () => {
        if (++tokens === 3) client.abort();
      },
    });
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await expect.poll(() => fake.running).toBe(0);
    expect(fake.aborted).toBe(1);
    expect((await remote.chat({ model: 'stories', messages: user('hi') })).text).toBe('Once upon a time');
  });

  it('says no daemon answers when nothing listens', async () => {
    const { url } = await daemon();
    await server!.close();
    server = undefined;
    expect(await probeDaemon(url)).toBe(false);
    await expect(createRemoteRuntime(loadConfig({}), { baseUrl: url }).ps()).rejects.toMatchObject({ code: 'daemon_unreachable', hint: expect.stringMatching(/murmur serve/) });
  });

  it('close() lets the grace period pass, then aborts in-flight streams', async () => {
    const { remote, fake } = await daemon(undefined, 100);
    const { call } = await streaming(remote);
    await server!.close();
    server = undefined;
    await call;
    await expect.poll(() => fake.running).toBe(0);
    expect(fake.aborted).toBe(1);
  });

  it('while it drains, new requests get 503 stopping and /health says so; the listener closes after', async () => {
    const { remote, url, fake } = await daemon(undefined, 300);
    const { call } = await streaming(remote);
    const closing = server!.close();
    server = undefined;
    const refused = await fetch(`${url}/v1/models`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('stopping');
    expect(((await (await fetch(`${url}/health`)).json()) as { status: string }).status).toBe('stopping');
    // The stream in flight was served through the grace period, then cut with a last error event saying why.
    expect(fake.running).toBe(1);
    await closing;
    expect(await call).toMatchObject({ code: 'stopping', message: expect.stringMatching(/shut down before this reply was finished/) });
    expect(await probeDaemon(url)).toBe(false);
  });
});
