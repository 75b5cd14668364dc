import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { TtsHandle } from '../../src/engines/speech/tts-types.js';
import type { EngineFactory } from '../../src/engines/types.js';
import { createLocalRuntime } from '../../src/runtime/local-runtime.js';
import { createApp } from '../../src/server/app.js';
import { createSessionRegistry, ownerOf } from '../../src/server/speech-sessions.js';
import type { Store } from '../../src/store/types.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

/*
 * The HTTP session door in process, on a LocalRuntime with a counting fake
 * voice: what a slow or vanishing reader does to synthesis and to the
 * model's lease.
 */

const voiceModel = {
  name: 'voice',
  kind: 'tts',
  engine: 'sherpa-onnx',
  family: 'vits',
  source: 'voice',
  layout: {},
  files: [],
  size: 1,
  pulledAt: new Date(0).toISOString(),
  dir: '/models/voice',
} as const;

const setup = () => {
  let synthesized = 0;
  const tts: EngineFactory = async () => {
    const handle: TtsHandle = {
      kind: 'tts',
      sampleRate: 16000,
      voices: [{ name: 'only', id: 0 }],
      defaultVoice: 'only',
      stats: async () => ({ memoryBytes: 1 }),
      synthesize: async (text) => {
        synthesized += 1;
        return new Float32Array(text.length * 100).fill(0.25);
      },
      dispose: async () => {},
    };
    return handle;
  };
  const store = {
    list: async () => [voiceModel],
    get: async (name: string) => (name === 'voice' ? voiceModel : undefined),
    require: async () => voiceModel,
    pull: async () => voiceModel,
    remove: async () => undefined,
    copy: async () => Promise.reject(new Error('unused')),
  } as unknown as Store;
  const runtime = createLocalRuntime(loadConfig({}, { keepAliveMs: 0 }), { store, engines: { 'sherpa-onnx': tts } });
  const app = createApp(runtime);
  const json = (path: string, body?: unknown, method = 'POST') =>
    app.request(`/v1/audio/speech${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { runtime, app, json, synthesized: () => synthesized };
};

const settle = async (turns = 20) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

describe('the HTTP speech-session door', () => {
  it('a reader that does not read pauses synthesis: the buffer stays bounded', async () => {
    const { runtime, json, synthesized } = setup();
    const { id } = (await (await json('/sessions', { response_format: 'pcm' })).json()) as { id: string };
    const res = await json(`/sessions/${id}/audio`, undefined, 'GET');
    expect(res.status).toBe(200);
    await json(`/sessions/${id}/input`, { text: Array.from({ length: 200 }, (_, i) => `Sentence ${i}.`).join(' ') });
    await settle();
    // A handful of sentences made and waiting (the session's buffer), not 200.
    expect(synthesized()).toBeGreaterThan(0);
    expect(synthesized()).toBeLessThan(10);
    const reader = res.body!.getReader();
    await reader.read();
    await settle();
    expect(synthesized()).toBeLessThan(12);
    await reader.cancel();
    await runtime[Symbol.asyncDispose]();
  });

  it('a reader that leaves mid-stream cancels the session and gives the model back', async () => {
    const { runtime, json } = setup();
    const { id } = (await (await json('/sessions', { response_format: 'wav' })).json()) as { id: string };
    expect((await runtime.ps()).map((m) => m.name)).toEqual(['voice']);
    const res = await json(`/sessions/${id}/audio`, undefined, 'GET');
    await json(`/sessions/${id}/input`, { text: 'One. Two. Three. Four. Five. Six. Seven. Eight.' });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await settle();
    const state = (await (await json(`/sessions/${id}`, undefined, 'GET')).json()) as { state: string };
    expect(state.state).toBe('cancelled');
    // Keep-alive 0: once the lease is back, the model goes.
    expect(await runtime.ps()).toEqual([]);
    await runtime[Symbol.asyncDispose]();
  });

  it('a session belongs to the key that made it', async () => {
    const shutdown = new AbortController();
    const registry = createSessionRegistry({ idleMs: 60_000, maxSessions: 4, shutdown: shutdown.signal });
    const runtime = createFakeRuntime();
    const alice = ownerOf('Bearer alice-key');
    const entry = await registry.create(runtime, { model: 'voice', format: 'mp3' }, alice);
    expect(registry.get(entry.id, ownerOf('Bearer  alice-key ')).id).toBe(entry.id);
    expect(() => registry.get(entry.id, ownerOf('Bearer bob-key'))).toThrow(/No speech session/);
    expect(() => registry.get(entry.id, undefined)).toThrow(/No speech session/);
    expect(alice).not.toContain('alice');
    shutdown.abort();
    expect(entry.session.progress().state).toBe('cancelled');
    expect(registry.open).toBe(0);
  });
});
