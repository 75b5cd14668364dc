import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog, loadCatalog } from '../../../src/catalog/catalog.js';
import { pickDefaultModel } from '../../../src/catalog/default-model.js';
import { loadConfig } from '../../../src/config.js';
import type { TtsHandle } from '../../../src/engines/speech/tts-types.js';
import type { EngineFactory, LlmHandle } from '../../../src/engines/types.js';
import { createRuntime } from '../../../src/runtime/create-runtime.js';
import { createStore } from '../../../src/store/store.js';
import type { Manifest } from '../../../src/store/types.js';

/*
 * The runtime's lookups on a real store directory: an index of manifests
 * (read once, refreshed when models/ changes), one catalog parse per
 * runtime, and the one rule for default models.
 */

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

const manifest = (name: string, kind: Manifest['kind'], pulledAt: string): Manifest => ({
  name,
  kind,
  engine: kind === 'llm' ? 'llama-cpp' : 'sherpa-onnx',
  family: kind === 'llm' ? 'gguf' : 'vits',
  source: name,
  layout: { model: 'model.bin' },
  files: [{ path: 'model.bin', size: 1 }],
  size: 1,
  pulledAt,
});

/** A home with these manifests installed, models/ aged past the index's racy window. */
const homeWith = (...manifests: Manifest[]) => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-core-'));
  homes.push(home);
  for (const m of manifests) {
    mkdirSync(join(home, 'models', m.name), { recursive: true });
    writeFileSync(join(home, 'models', m.name, 'murmur.json'), JSON.stringify(m));
  }
  age(home);
  return home;
};
const age = (home: string) => {
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(home, 'models'), past, past);
};

const countingReads = () => {
  const reads: string[] = [];
  return { reads, readManifest: (path: string) => (reads.push(path), readFile(path, 'utf8')) };
};

const echoLlm: EngineFactory = async (m) => {
  const handle: LlmHandle = {
    kind: m.kind,
    contextSize: 64,
    stats: async () => ({ memoryBytes: 1 }),
    chat: async () => ({ text: 'hi', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, timings: { firstTokenMs: 1, totalMs: 1, tokensPerSecond: 1 } }),
    complete: async () => Promise.reject(new Error('unused')),
    countTokens: async () => Promise.reject(new Error('unused')),
    embed: async () => Promise.reject(new Error('unused')),
    dispose: async () => {},
  };
  return handle;
};

/** A voice making one sample per character, with one voice named 'only'; `onLoad` counts loads. */
const fakeTts = (onLoad?: () => void): EngineFactory => async () => {
  onLoad?.();
  const handle: TtsHandle = {
    kind: 'tts',
    sampleRate: 1000,
    voices: [{ name: 'only', id: 0 }],
    defaultVoice: 'only',
    stats: async () => ({ memoryBytes: 1 }),
    synthesize: async (text) => new Float32Array(text.length),
    dispose: async () => {},
  };
  return handle;
};

describe('the store index', () => {
  it('reads each manifest once; warm lookups and requests read none', async () => {
    const home = homeWith(manifest('alpha', 'llm', '2026-01-01T00:00:00Z'), manifest('beta', 'llm', '2026-01-02T00:00:00Z'));
    const config = loadConfig({ MURMUR_HOME: home }, { keepAliveMs: -1 });
    const counter = countingReads();
    const store = createStore(config, createCatalog(), counter);
    await using runtime = await createRuntime(config, { store, catalog: createCatalog(), engines: { 'llama-cpp': echoLlm } });
    expect((await runtime.listModels()).map((m) => m.name)).toEqual(['alpha', 'beta']);
    expect(counter.reads).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      await runtime.getModel('alpha');
      await runtime.chat({ model: 'beta', messages: [{ role: 'user', content: 'hello' }] });
      await runtime.listModels();
    }
    expect(counter.reads).toHaveLength(2);
  });

  it("sees another process's install and removal (models/ changes), and its own at once", async () => {
    const home = homeWith(manifest('alpha', 'llm', '2026-01-01T00:00:00Z'));
    const config = loadConfig({ MURMUR_HOME: home });
    const counter = countingReads();
    const store = createStore(config, createCatalog(), counter);
    expect(await store.get('gamma')).toBeUndefined();
    // Another process installs gamma (a rename into models/), then this index is asked again.
    mkdirSync(join(home, 'tmp', 'gamma'), { recursive: true });
    writeFileSync(join(home, 'tmp', 'gamma', 'murmur.json'), JSON.stringify(manifest('gamma', 'tts', '2026-02-01T00:00:00Z')));
    const { renameSync } = await import('node:fs');
    renameSync(join(home, 'tmp', 'gamma'), join(home, 'models', 'gamma'));
    expect((await store.get('gamma'))?.kind).toBe('tts');
    // Its own removal is seen even before the directory's stamp could tell.
    await store.remove('alpha');
    expect(await store.get('alpha')).toBeUndefined();
    expect((await store.list()).map((m) => m.name)).toEqual(['gamma']);
  });
});

describe('one catalog per runtime', () => {
  it('parses the catalog when the runtime is made, not per request', async () => {
    const home = homeWith(manifest('voice-a', 'tts', '2026-01-01T00:00:00Z'));
    const userCatalog = join(home, 'catalog.json');
    writeFileSync(userCatalog, JSON.stringify({ models: [] }));
    const config = loadConfig({ MURMUR_HOME: home, MURMUR_CATALOG: userCatalog });
    await using runtime = await createRuntime(config, { engines: { 'sherpa-onnx': fakeTts() } });
    // A request re-reading the catalog would now fail on the broken file.
    writeFileSync(userCatalog, '{ not json');
    const result = await runtime.speak({ text: 'Hello there.' });
    expect(result).toMatchObject({ model: 'voice-a', voice: 'only' });
    expect((await runtime.voices())[0]).toMatchObject({ model: 'voice-a' });
  });
});

describe('the default-model rule', () => {
  const installed = [
    { name: 'later', pulledAt: '2026-03-01T00:00:00Z' },
    { name: 'first', pulledAt: '2026-01-01T00:00:00Z' },
    { name: 'catalog-one', pulledAt: '2026-02-01T00:00:00Z' },
  ];

  it('takes the configured model, else the catalog default when installed, else the earliest installed', () => {
    expect(pickDefaultModel({ configured: 'mine', catalogDefault: 'catalog-one', installed })).toEqual({ name: 'mine', installed: false, why: 'configured' });
    expect(pickDefaultModel({ catalogDefault: 'catalog-one', installed })).toEqual({ name: 'catalog-one', installed: true, why: 'catalog' });
    expect(pickDefaultModel({ catalogDefault: 'not-here', installed })).toEqual({ name: 'first', installed: true, why: 'installed' });
    expect(pickDefaultModel({ catalogDefault: 'not-here', installed: [] })).toEqual({ name: 'not-here', installed: false, why: 'catalog' });
    expect(pickDefaultModel({ installed: [] })).toBeUndefined();
  });

  it('does not change when another model is imported, whatever its name', () => {
    const before = pickDefaultModel({ installed })!.name;
    for (const name of ['aaa', 'zzz', '0-first-by-name']) {
      expect(pickDefaultModel({ installed: [...installed, { name, pulledAt: '2026-04-01T00:00:00Z' }] })!.name).toBe(before);
    }
  });

  it('is what the runtime uses for speech with no model named', async () => {
    const catalog = await loadCatalog({});
    const home = homeWith(manifest('zeta-voice', 'tts', '2026-01-01T00:00:00Z'), manifest('alpha-voice', 'tts', '2026-05-01T00:00:00Z'));
    const tts = fakeTts();
    await using runtime = await createRuntime(loadConfig({ MURMUR_HOME: home }), { catalog, engines: { 'sherpa-onnx': tts } });
    // Neither is the catalog default: the one installed first answers, though 'alpha-voice' sorts first by name.
    expect((await runtime.speak({ text: 'Hi.' })).model).toBe('zeta-voice');
    await using configured = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_TTS_MODEL: 'alpha-voice' }), { catalog, engines: { 'sherpa-onnx': tts } });
    expect((await configured.speak({ text: 'Hi.' })).model).toBe('alpha-voice');
  });
});

describe('a speech session on LocalRuntime', () => {
  it('looks its model up once and holds it for the whole session, however many sentences', async () => {
    const home = homeWith(manifest('voice-a', 'tts', '2026-01-01T00:00:00Z'));
    const config = loadConfig({ MURMUR_HOME: home }, { keepAliveMs: 0 });
    const real = createStore(config, createCatalog());
    let lookups = 0;
    const store = { ...real, get: (n: string) => (lookups++, real.get(n)), require: (n: string) => (lookups++, real.require(n)), list: () => (lookups++, real.list()) };
    let loads = 0;
    await using runtime = await createRuntime(config, { store, catalog: createCatalog(), engines: { 'sherpa-onnx': fakeTts(() => (loads += 1)) } });
    const session = await runtime.openSpeech({ model: 'voice-a' });
    const opened = lookups;
    const texts: string[] = [];
    const reading = (async () => {
      for await (const chunk of session) texts.push(chunk.text);
    })();
    for (let i = 0; i < 20; i++) {
      session.append(`Sentence ${i}. `);
      await new Promise((r) => setImmediate(r));
    }
    // Keep-alive 0 would unload an unleased model between sentences.
    expect((await runtime.ps()).map((m) => m.name)).toEqual(['voice-a']);
    session.close();
    await reading;
    expect(texts).toHaveLength(20);
    expect(lookups).toBe(opened);
    expect(loads).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(await runtime.ps()).toEqual([]);
  });
});
