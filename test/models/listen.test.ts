import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { ListenEvent, ListenSession } from '../../src/runtime/listen-session.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Listening sessions (Runtime.openListen) on the real Silero VAD and yes/no
 * recognizer: a recording streamed as a microphone would send it (20 ms
 * frames of 24 kHz, the Realtime API's rate) becomes turns — speech
 * started, stopped, committed, and the turn's transcript — with OpenAI's
 * server_vad parameters, or turns committed by hand. In this process, and
 * with each model in an engine process of its own (the daemon's way).
 */

const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const OTHER = 'yesno-tdnn-ctc/test_wavs/0_1_1_1_1_1_1_1.wav';
const skip = missingModels(YESNO, SILERO, CLIP, OTHER);
const RATE = 24_000;

/** A clip at 24 kHz. */
const clip = (relative: string) => {
  const wav = readTestWav(testModel(relative)!);
  return resample(wav.samples, wav.sampleRate, RATE);
};
const silence = (seconds: number) => new Float32Array(Math.round(seconds * RATE));
const join24 = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
/** Pushes `audio` in 20 ms frames. */
const stream = (session: ListenSession, audio: Float32Array) => {
  for (let i = 0; i < audio.length; i += RATE / 50) session.push(audio.subarray(i, i + RATE / 50), RATE);
};
const collect = (session: ListenSession) => {
  const events: ListenEvent[] = [];
  const done = (async () => {
    for await (const event of session) events.push(event);
  })();
  return { events, done };
};

describe.skipIf(skip).each(['none', 'process'] as const)(`listening sessions on the real VAD and recognizer (isolation %s)${skip ? ` (skipped: ${skip})` : ''}`, (isolation) => {
  let home: string;
  let runtime: LocalRuntime;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-listen-'));
    // Keep-alive 0: a model goes as soon as nothing holds it, so a lease that outlives its session shows.
    const config = loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_KEEP_ALIVE: '0' }, { isolation });
    // Engine processes run the built host (dist/, which test/global-setup.ts builds): so does this runtime.
    const create = isolation === 'process' ? ((await import('../../dist/src/runtime/create-runtime.js' as string)) as { createRuntime: typeof createRuntime }).createRuntime : createRuntime;
    runtime = await create(config);
    await runtime.pull(testModel(YESNO)!.replace(/\/[^/]+$/, ''), { name: 'yesno' });
    await runtime.pull(testModel(SILERO)!, { name: 'vad' });
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('turns a spoken clip and the silence after it into one turn: started, stopped, committed, then its transcript', async () => {
    const session = await runtime.openListen!({ model: 'yesno', vad: 'vad' });
    const { events, done } = collect(session);
    const speech = clip(CLIP);
    // The session holds its two models for its whole life.
    expect(runtime.models.ps().map((m) => m.name).sort()).toEqual(['vad', 'yesno']);
    stream(session, join24(silence(0.5), speech, silence(1.5)));
    await session.close();
    await done;
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped', 'committed', 'transcript']);
    const [started, stopped, committed, transcript] = events as [
      Extract<ListenEvent, { type: 'speech_started' }>,
      Extract<ListenEvent, { type: 'speech_stopped' }>,
      Extract<ListenEvent, { type: 'committed' }>,
      Extract<ListenEvent, { type: 'transcript' }>,
    ];
    expect(transcript).toMatchObject({ turn: 1, text: 'YNYYYNYN' });
    expect(started.turn).toBe(1);
    // The speech begins after the half second of silence, less the 300 ms of prefix padding; it ends within the clip plus the 500 ms silence window.
    expect(started.audioStartMs).toBeGreaterThanOrEqual(200);
    expect(committed.audioStartMs).toBeLessThan(committed.audioEndMs);
    expect(stopped.audioEndMs).toBe(committed.audioEndMs);
    expect(stopped.audioEndMs).toBeLessThanOrEqual(500 + (speech.length / RATE) * 1000 + 500);
    expect(stopped.audioEndMs).toBeGreaterThan(500 + (speech.length / RATE) * 1000 - 1000);
    // Its leases go with it: nothing holds the models any more, so they unload.
    await expect.poll(() => runtime.models.ps().map((m) => m.name)).toEqual([]);
  });

  it('two utterances apart are two turns, transcribed in order; a longer silence window joins them', async () => {
    const audio = join24(clip(CLIP), silence(1.2), clip(OTHER), silence(1.5));
    const apart = await runtime.openListen!({ model: 'yesno', vad: 'vad' });
    const a = collect(apart);
    stream(apart, audio);
    await apart.close();
    await a.done;
    expect(a.events.filter((e) => e.type === 'transcript').map((e) => [e.turn, (e as { text: string }).text])).toEqual([
      [1, 'YNYYYNYN'],
      [2, 'NYYYYYYY'],
    ]);

    const joined = await runtime.openListen!({ model: 'yesno', vad: 'vad', turnDetection: { silenceDurationMs: 3000 } });
    const b = collect(joined);
    stream(joined, join24(audio, silence(3)));
    await joined.close();
    await b.done;
    expect(b.events.filter((e) => e.type === 'committed')).toHaveLength(1);
  });

  it('without turn detection, a turn is what was pushed since the last commit', async () => {
    const session = await runtime.openListen!({ model: 'yesno', turnDetection: null });
    expect(session.vad).toBeUndefined();
    const { events, done } = collect(session);
    expect(() => session.commit()).toThrow(/0 ms of audio to commit; at least 100 ms/);
    stream(session, clip(OTHER));
    session.clear();
    expect(() => session.commit()).toThrow(/at least 100 ms/);
    const speech = clip(CLIP);
    stream(session, speech);
    session.commit();
    await session.close();
    await done;
    expect(events.map((e) => e.type)).toEqual(['cleared', 'committed', 'transcript']);
    // The cleared audio comes first on the timeline (to within the resampler's few ms of delay).
    const committed = events[1] as Extract<ListenEvent, { type: 'committed' }>;
    expect(committed.turn).toBe(1);
    expect(Math.abs(committed.audioStartMs - (clip(OTHER).length / RATE) * 1000)).toBeLessThan(20);
    expect(Math.abs(committed.audioEndMs - ((clip(OTHER).length + speech.length) / RATE) * 1000)).toBeLessThan(20);
    expect(events[2]).toMatchObject({ turn: 1, text: 'YNYYYNYN' });
  });

  it('refuses a sample rate out of range, a wrong-kind model and bad turn detection, with messages', async () => {
    const session = await runtime.openListen!({ model: 'yesno', vad: 'vad' });
    expect(() => session.push(new Float32Array(10), 500_009)).toThrow(/from 1,000 to 384,000 Hz/);
    expect(() => session.push(new Float32Array(10), 0)).toThrow(/from 1,000 to 384,000 Hz/);
    await session.close();
    await expect(runtime.openListen!({ model: 'vad' })).rejects.toMatchObject({ code: 'model_kind_mismatch' });
    await expect(runtime.openListen!({ model: 'yesno', vad: 'yesno' })).rejects.toMatchObject({ code: 'model_kind_mismatch' });
    await expect(runtime.openListen!({ model: 'yesno', vad: 'vad', turnDetection: { threshold: 2 } })).rejects.toMatchObject({ code: 'invalid_request', param: 'turn_detection.threshold' });
    // A refused session leaves no lease behind.
    await expect.poll(() => runtime.models.ps().map((m) => m.name)).toEqual([]);
  });
});
