import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { ListenEvent, ListenSession } from '../../src/runtime/listen-session.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { readTestWav, SILERO } from '../helpers/asr.js';
import { missingModels, testModel } from '../helpers/models.js';
import { concat, tone, writeStreamingTransducer } from '../helpers/streaming-transducer.js';

/**
 * A listening session on a streaming transducer (the synthetic streaming
 * zipformer of test/helpers/streaming-transducer.ts, run by sherpa-onnx's
 * OnlineRecognizer: each burst of a loud tone is heard as the next word of
 * ONE TWO THREE…): the turn's text comes as deltas while it is spoken, and
 * its end finishes the stream instead of decoding the turn again.
 */

const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(SILERO, CLIP);
const RATE = 16_000;
const silence = (seconds: number) => new Float32Array(Math.round(seconds * RATE));

const pushAll = (session: ListenSession, audio: Float32Array) => {
  for (let i = 0; i < audio.length; i += RATE / 50) session.push(audio.subarray(i, i + RATE / 50), RATE);
};
const readUntil = async (session: ListenSession, until: (e: ListenEvent) => boolean) => {
  const events: ListenEvent[] = [];
  for await (const event of session) {
    events.push(event);
    if (until(event)) break;
  }
  return events;
};

describe.skipIf(skip)(`listening with a streaming recognizer${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let runtime: LocalRuntime;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-listen-streaming-'));
    const model = join(home, 'synthetic-zipformer');
    await writeStreamingTransducer(model);
    runtime = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1' }));
    await runtime.pull(model, { name: 'zipformer' });
    await runtime.pull(testModel(SILERO)!, { name: 'vad' });
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('manual commits: deltas as the audio comes, the whole text at the commit', async () => {
    const session = await runtime.openListen!({ model: 'zipformer', turnDetection: null });
    pushAll(session, concat(silence(0.5), tone(0.3), silence(0.5), tone(0.3), silence(0.4)));
    await session.idle();
    session.commit();
    const events = await readUntil(session, (e) => e.type === 'transcript');
    const deltas = events.filter((e): e is Extract<ListenEvent, { type: 'transcript_delta' }> => e.type === 'transcript_delta');
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    // The deltas came before the commit: they were heard while the audio went in.
    expect(events.indexOf(deltas[0]!)).toBeLessThan(events.findIndex((e) => e.type === 'committed'));
    expect(deltas.every((d) => d.turn === 1)).toBe(true);
    const transcript = events.at(-1) as Extract<ListenEvent, { type: 'transcript' }>;
    expect(transcript).toMatchObject({ turn: 1, text: 'ONE TWO' });
    expect(deltas.at(-1)!.text.trim().length).toBeGreaterThan(0);
    expect(transcript.text.startsWith(deltas.at(-1)!.text.trim())).toBe(true);
    await session.close();
  });

  it('with turn detection: the spoken turn streams deltas between speech started and its transcript', async () => {
    const session = await runtime.openListen!({ model: 'zipformer', vad: 'vad' });
    const wav = readTestWav(testModel(CLIP)!);
    pushAll(session, concat(silence(0.3), resample(wav.samples, wav.sampleRate, RATE), silence(1.5)));
    const events = await readUntil(session, (e) => e.type === 'transcript');
    const types = events.map((e) => e.type);
    const started = types.indexOf('speech_started');
    const firstDelta = types.indexOf('transcript_delta');
    expect(started).toBeGreaterThanOrEqual(0);
    expect(firstDelta).toBeGreaterThan(started);
    expect(firstDelta).toBeLessThan(types.indexOf('speech_stopped'));
    const deltas = events.filter((e): e is Extract<ListenEvent, { type: 'transcript_delta' }> => e.type === 'transcript_delta');
    const transcript = events.at(-1) as Extract<ListenEvent, { type: 'transcript' }>;
    // Speech is loud and quiet by turns: the synthetic model hears words in it, the stream's text grows as it is spoken.
    expect(transcript.text).toMatch(/^(ONE|ONE TWO|ONE TWO THREE|ONE TWO THREE FOUR|ONE TWO THREE FOUR FIVE)\b/);
    expect(transcript.text.startsWith(deltas.map((d) => d.delta).join('').trim())).toBe(true);
    await session.close();
  });
});
