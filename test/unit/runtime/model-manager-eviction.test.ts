import { describe, expect, it } from 'vitest';
import type { EngineHandle } from '../../../src/engines/types.js';
import { createModelManager, defaultMaxMemory, type ModelEvent, type ModelManagerOptions } from '../../../src/runtime/model-manager.js';
import type { ModelKind } from '../../../src/types/models.js';
import { createLogger, describeEntry } from '../../../src/server/log.js';

/*
 * The model manager's eviction policy over fake engines: pinned models
 * (keep-alive -1) are never evicted, VAD models count against neither bound,
 * the memory budget evicts least recently used models before a load, and
 * every load, unload and eviction is an event with its reason.
 */

const MB = 1024 ** 2;

/** Fake engines whose kind and memory come from the table (default llm, 100 MB). */
const fakeEngines = (table: Record<string, { kind?: ModelKind; bytes?: number; vram?: number }> = {}) => {
  const loads: string[] = [];
  const disposed: string[] = [];
  const load = async (name: string): Promise<EngineHandle> => {
    loads.push(name);
    const { kind = 'llm', bytes = 100 * MB, vram } = table[name] ?? {};
    return { kind, stats: async () => ({ memoryBytes: bytes, ...(vram !== undefined ? { vramBytes: vram } : {}) }), dispose: async () => void disposed.push(name) };
  };
  return { load, loads, disposed };
};

const flush = () => new Promise((r) => setImmediate(r));

const setup = (table: NonNullable<Parameters<typeof fakeEngines>[0]>, options: Partial<ModelManagerOptions> = {}) => {
  const engines = fakeEngines(table);
  const mm = createModelManager({ keepAliveMs: 60_000, maxLoaded: 3, parallel: 2, load: engines.load, ...options });
  const events: ModelEvent[] = [];
  mm.onEvent((e) => events.push(e));
  const use = (name: string, kind: ModelKind = table[name]?.kind ?? 'llm') => mm.run(name, async () => undefined, { hint: { kind, expectedBytes: table[name]?.bytes ?? 100 * MB } });
  const names = () => mm.ps().map((m) => m.name).sort();
  return { mm, events, use, names, ...engines };
};

describe('model manager eviction', () => {
  it('never evicts a model pinned with keep-alive -1 (the `load tiny --keep-alive -1`, then speak and transcribe case)', async () => {
    const { mm, use, names, events } = setup({ tiny: { kind: 'asr' }, piper: { kind: 'tts' }, whisper: { kind: 'asr' }, silero: { kind: 'vad', bytes: 2 * MB } });
    await mm.load('tiny', { keepAliveMs: -1, hint: { kind: 'asr' } });
    await use('piper');
    await use('whisper');
    await use('silero');
    await use('qwen');
    await flush();
    // Four counted models in three slots: piper (least recently used, unpinned) made room; the VAD took none.
    expect(names()).toEqual(['qwen', 'silero', 'tiny', 'whisper']);
    expect(events.filter((e) => e.event === 'evict').map((e) => e.model)).toEqual(['piper']);
    expect(mm.ps().find((m) => m.name === 'tiny')!.expiresAt).toBeNull();
    await mm[Symbol.asyncDispose]();
  });

  it('refuses a new model with 503 overloaded naming the pinned models when they fill every slot', async () => {
    const { mm, use, events } = setup({ silero: { kind: 'vad', bytes: 2 * MB } }, { maxLoaded: 2 });
    await mm.load('a', { keepAliveMs: -1 });
    await mm.load('b', { keepAliveMs: -1 });
    await expect(use('c')).rejects.toMatchObject({
      code: 'overloaded',
      message: expect.stringMatching(/all 2 model slots .* pinned with keep-alive -1 \(a, b\)/),
      hint: expect.stringMatching(/murmur unload a/),
    });
    expect(events.at(-1)).toMatchObject({ event: 'load_failed', model: 'c', code: 'overloaded' });
    // A VAD still loads: helpers take no slot.
    await use('silero');
    // Unpinned by a load with another keep-alive, a model makes room again.
    await mm.load('b', { keepAliveMs: 1000 });
    await use('c');
    await flush();
    expect(mm.ps().map((m) => m.name).sort()).toEqual(['a', 'c', 'silero']);
    await mm[Symbol.asyncDispose]();
  });

  it('a VAD model never counts against maxLoaded and never pushes a chat model out', async () => {
    const { mm, use, names, events, loads } = setup({ vad: { kind: 'vad', bytes: 2 * MB } }, { maxLoaded: 1, maxMemoryBytes: 150 * MB });
    await use('qwen');
    await use('vad');
    await use('qwen');
    await use('vad');
    await flush();
    expect(names()).toEqual(['qwen', 'vad']);
    expect(loads).toEqual(['qwen', 'vad']);
    expect(events.some((e) => e.event === 'evict')).toBe(false);
    await mm[Symbol.asyncDispose]();
  });

  it('evicts least recently used models before a load until its size on disk fits the memory budget', async () => {
    const { mm, use, names, events } = setup({ a: { bytes: 400 * MB }, b: { bytes: 400 * MB }, c: { bytes: 400 * MB }, big: { bytes: 900 * MB } }, { maxLoaded: 10, maxMemoryBytes: 1300 * MB });
    await use('a');
    await use('b');
    await use('c');
    await use('a');
    // 1200 MB held; big (900 MB on disk) needs two to go: b, then c (a was used last).
    await use('big');
    await flush();
    expect(names()).toEqual(['a', 'big']);
    const evictions = events.filter((e) => e.event === 'evict');
    expect(evictions.map((e) => e.model)).toEqual(['b', 'c']);
    expect(evictions[0]).toMatchObject({ reason: 'least recently used', for: 'big', limit: 'memory', usedBytes: 1200 * MB, budgetBytes: 1300 * MB });
    expect(describeEntry({ time: '', ...evictions[0]! })).toBe('evicted b (least recently used) to make room for big: 1.26 GB of 1.36 GB budget');
    await mm[Symbol.asyncDispose]();
  });

  it('refuses a model that pinned models leave no memory for, and loads one alone over the budget when nothing is pinned', async () => {
    const { mm, use } = setup({ a: { bytes: 800 * MB }, huge: { bytes: 2000 * MB } }, { maxMemoryBytes: 1000 * MB });
    await use('huge');
    expect(mm.ps().map((m) => m.name)).toEqual(['huge']);
    await mm.unload(['huge']);
    await mm.load('a', { keepAliveMs: -1, hint: { expectedBytes: 800 * MB } });
    await expect(use('huge')).rejects.toMatchObject({ code: 'overloaded', message: expect.stringMatching(/pinned with keep-alive -1 \(a\) hold 839 MB of the 1.05 GB memory budget/) });
    await mm[Symbol.asyncDispose]();
  });

  it('emits load, unload (with why) and eviction events, which the log writes as JSON lines or readable ones', async () => {
    const { mm, use, events } = setup({}, { maxLoaded: 1 });
    await use('a');
    await use('b');
    await mm.unload(['b']);
    await flush();
    expect(events.map((e) => [e.event, e.model])).toEqual([
      ['load', 'a'],
      ['evict', 'a'],
      ['load', 'b'],
      ['unload', 'b'],
    ]);
    expect(events[0]).toMatchObject({ kind: 'llm', memoryBytes: 100 * MB, loaded: 1, maxLoaded: 1 });
    expect(events[1]).toMatchObject({ reason: 'least recently used', for: 'b', limit: 'count' });
    expect(events[3]).toMatchObject({ reason: 'unload requested', memoryBytes: 100 * MB });
    const lines: string[] = [];
    const json = createLogger({ format: 'json', write: (l) => lines.push(l) });
    events.forEach(json.model);
    expect(lines.map((l) => JSON.parse(l) as { event: string }).map((l) => l.event)).toEqual(['load', 'evict', 'load', 'unload']);
    // An unbounded budget is null in JSON (which has no Infinity).
    expect(JSON.parse(lines[0]!)).toMatchObject({ budgetBytes: null, time: expect.any(String) });
    const pretty: string[] = [];
    events.forEach(createLogger({ format: 'pretty', write: (l) => pretty.push(l) }).model);
    expect(pretty[1]).toMatch(/^\S+Z evicted a \(least recently used\) to make room for b: 1 of 1 models loaded \(MURMUR_MAX_LOADED\)\n$/);
    expect(pretty[3]).toMatch(/unloaded b \(unload requested\), freeing 105 MB/);
    await mm[Symbol.asyncDispose]();
  });

  it('logs the keep-alive as the reason of an idle unload', async () => {
    const { mm, use, events } = setup({}, { keepAliveMs: 0 });
    await use('a');
    await flush();
    expect(events.at(-1)).toMatchObject({ event: 'unload', model: 'a', reason: 'keep-alive 0' });
    await mm[Symbol.asyncDispose]();
  });

  it("ps says what of a model's memory is on a GPU, as its engine reports it", async () => {
    const { mm, use } = setup({ gpu: { bytes: 300 * MB, vram: 200 * MB }, cpu: { bytes: 50 * MB, vram: 0 } });
    await use('gpu');
    await use('cpu');
    const byName = new Map(mm.ps().map((m) => [m.name, m]));
    expect(byName.get('gpu')).toMatchObject({ memoryBytes: 300 * MB, vramBytes: 200 * MB });
    expect(byName.get('cpu')).not.toHaveProperty('vramBytes');
  });

  it('derives the default budget from free memory, leaving headroom', () => {
    const GiB = 1024 ** 3;
    expect(defaultMaxMemory(12 * GiB, 16 * GiB)).toBe(Math.round(12 * GiB - 1.6 * GiB));
    expect(defaultMaxMemory(3 * GiB, 4 * GiB)).toBe(2 * GiB);
    expect(defaultMaxMemory(GiB / 2, 4 * GiB)).toBe(GiB);
  });
});
