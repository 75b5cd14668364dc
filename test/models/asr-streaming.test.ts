import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { loadConfig } from '../../src/config.js';
import { loadAsr } from '../../src/engines/speech/asr.js';
import type { AsrHandle, AsrResult } from '../../src/engines/speech/asr-types.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { recognizeModel } from '../../src/store/detect-family.js';
import type { InstalledModel } from '../../src/store/types.js';
import { asrConfig, encodeWav16, roomTone, yesnoModel } from '../helpers/asr.js';
import { missingModels } from '../helpers/models.js';
import { concat, tone, writeStreamingTransducer } from '../helpers/streaming-transducer.js';

/**
 * Streaming transducers run in sherpa-onnx's OnlineRecognizer. No real
 * streaming model is needed: test/helpers/streaming-transducer.ts writes a
 * synthetic zipformer (v1, the 20M model's kind) that sherpa-onnx loads
 * and runs for real — each burst of a loud tone is heard as the next word
 * of ONE TWO THREE FOUR FIVE, timed at the burst's onset to a 40 ms
 * frame, and silence or faint room tone as nothing (that file says how).
 * So these tests check the engine's plumbing — chunked decoding, the tail
 * of silence that flushes the last chunk, resampling, partial and final
 * results, token times — in this process and through an engine process.
 */

const RATE = 16_000;
const silence = (seconds: number, rate = RATE) => new Float32Array(Math.round(seconds * rate));
/** Two bursts: at 0.5 s and at 1.3 s. */
const twoBursts = (rate = RATE) => concat(silence(0.5, rate), tone(0.3, rate), silence(0.5, rate), tone(0.3, rate), silence(0.4, rate));
const ONSETS = [0.5, 1.3];

let root: string;
let model: InstalledModel;

/** The synthetic model as the store would install it (layout from the store's own detection). */
const installed = async (dir: string): Promise<InstalledModel> => {
  const layout = await recognizeModel(dir);
  const files = Object.values(layout.files).map((path) => ({ path, size: statSync(join(dir, path)).size }));
  return {
    name: 'zipformer-test',
    kind: 'asr',
    engine: 'sherpa-onnx',
    family: layout.family,
    source: 'test',
    languages: ['en'],
    layout: layout.files,
    files,
    size: files.reduce((n, f) => n + f.size, 0),
    sampleRate: 16000,
    pulledAt: new Date(0).toISOString(),
    dir,
  };
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'murmur-streaming-'));
  await writeStreamingTransducer(join(root, 'model'), { int8: true });
  model = await installed(join(root, 'model'));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const expectWordsAt = (result: AsrResult, words: string[], onsets: number[]) => {
  expect(result.text).toBe(words.join(' '));
  expect(result.tokens?.map((t) => t.text.trim())).toEqual(words);
  result.tokens!.forEach((t, i) => expect(Math.abs(t.start - onsets[i]!)).toBeLessThanOrEqual(0.06));
};

describe('a streaming transducer in this process (synthetic zipformer)', () => {
  let asr: AsrHandle;
  beforeAll(async () => {
    expect(model.family).toBe('streaming-transducer');
    asr = await loadAsr(asrConfig(), model);
  });
  afterAll(async () => {
    await asr?.dispose();
  });

  it('is a streaming, English, 16 kHz handle', () => {
    expect(asr).toMatchObject({ kind: 'asr', streaming: true, sampleRate: 16000, languages: ['en'], canTranslate: false });
  });

  it('transcribes a recording through the online recognizer: the words, each timed at its burst; silence is nothing', async () => {
    expectWordsAt(await asr.transcribe(twoBursts(), RATE), ['ONE', 'TWO'], ONSETS);
    expect(await asr.transcribe(silence(2), RATE)).toEqual({ text: '' });
    expect((await asr.transcribe(roomTone(2 * RATE), RATE)).text).toBe('');
  });

  it('decodes the last chunk too: a burst in the audio’s final 0.2 s is heard', async () => {
    expectWordsAt(await asr.transcribe(concat(silence(1), tone(0.2)), RATE), ['ONE'], [1]);
  });

  it('takes any input rate (resampled to 16 kHz)', async () => {
    for (const rate of [8000, 24_000, 44_100]) expectWordsAt(await asr.transcribe(twoBursts(rate), rate), ['ONE', 'TWO'], ONSETS);
  });

  it('refuses translation and languages the model does not know; accepts its own', async () => {
    await expect(asr.transcribe(twoBursts(), RATE, { task: 'translate' })).rejects.toMatchObject({ code: 'not_supported' });
    await expect(asr.transcribe(twoBursts(), RATE, { language: 'de' })).rejects.toMatchObject({ code: 'invalid_request', param: 'language' });
    expect(await asr.transcribe(twoBursts(), RATE, { language: 'en' })).toMatchObject({ text: 'ONE TWO', lang: 'en' });
  });

  it('an aborted transcription rejects', async () => {
    await expect(asr.transcribe(twoBursts(), RATE, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('streams: the partial text grows as audio is accepted, and finish gives the final result with token times', async () => {
    const rate = 24_000;
    const audio = twoBursts(rate);
    const stream = asr.openStream(rate);
    const partials: { at: number; text: string }[] = [];
    // 20 ms frames, as a microphone sends them.
    for (let i = 0; i < audio.length; i += rate / 50) partials.push({ at: (i + rate / 50) / rate, text: await stream.accept(audio.subarray(i, i + rate / 50)) });
    const before = (seconds: number) => partials.filter((p) => p.at <= seconds).at(-1)!.text;
    expect(before(0.5)).toBe('');
    expect(before(1.3)).toBe('ONE');
    expect(partials.at(-1)!.text).toBe('ONE TWO');
    // Each partial extends the one before (greedy search never takes a word back).
    partials.forEach((p, i) => i && expect(p.text.startsWith(partials[i - 1]!.text)).toBe(true));
    expectWordsAt(await stream.finish(), ['ONE', 'TWO'], ONSETS);
    // Finished: the stream takes no more audio.
    expect(await stream.accept(tone(0.5, rate))).toBe('ONE TWO');
    stream.close();
  });

  it('finish decodes what partials have not reached yet (a burst at the very end)', async () => {
    const stream = asr.openStream(RATE);
    expect(await stream.accept(concat(silence(0.7), tone(0.15)))).toBe('');
    expectWordsAt(await stream.finish(), ['ONE'], [0.7]);
  });

  it('keeps streams apart, and a closed one takes nothing', async () => {
    const a = asr.openStream(RATE);
    const b = asr.openStream(RATE);
    await a.accept(concat(silence(0.3), tone(0.3), silence(0.5)));
    await b.accept(silence(1.1));
    await a.accept(concat(tone(0.3), silence(0.5)));
    expect((await a.finish()).text).toBe('ONE TWO');
    expect((await b.finish()).text).toBe('');
    const c = asr.openStream(RATE);
    c.close();
    expect(await c.accept(twoBursts())).toBe('');
    expect(await c.finish()).toEqual({ text: '' });
  });

  it('a model that would make sherpa-onnx exit (no T, no model_type) is refused at load, and this process lives on', async () => {
    // sherpa-onnx _Exit(-1)s on the first (exit code 255) and segfaults on the second; pull refuses both, and load checks again.
    for (const [name, change] of [['no-t', { T: null }], ['no-type', { model_type: null }]] as const) {
      const dir = join(root, name);
      await writeStreamingTransducer(dir, { encoderMetadata: change });
      await expect(loadAsr(asrConfig(), { ...model, dir, layout: (await installed(dir)).layout })).rejects.toMatchObject({ code: 'model_invalid' });
    }
  });

  it('after unloading, streams and transcriptions are refused', async () => {
    const other = await loadAsr(asrConfig(), model);
    const stream = other.openStream(RATE);
    await other.dispose();
    await expect(stream.accept(tone(0.1))).rejects.toMatchObject({ code: 'internal' });
    await expect(other.transcribe(tone(0.1), RATE)).rejects.toMatchObject({ code: 'internal' });
    expect(() => other.openStream(RATE)).toThrow(/unloaded/);
  });
});

describe.skipIf(missingModels('yesno-tdnn-ctc/model.onnx'))('an offline model', () => {
  it('is not streaming, and opening a stream on it says so', async () => {
    const asr = await loadAsr(asrConfig(), yesnoModel());
    try {
      expect(asr.streaming).toBe(false);
      expect(() => asr.openStream(8000)).toThrow(expect.objectContaining({ code: 'not_supported' }));
    } finally {
      await asr.dispose();
    }
  });
});

describe.each(['none', 'process'] as const)('a streaming transducer through the runtime (isolation %s)', (isolation) => {
  let home: string;
  let runtime: LocalRuntime;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-streaming-rt-'));
    const config = loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_KEEP_ALIVE: '0' }, { isolation });
    // Engine processes run the built host (dist/, which test/global-setup.ts builds): so does this runtime.
    const create = isolation === 'process' ? ((await import('../../dist/src/runtime/create-runtime.js' as string)) as { createRuntime: typeof createRuntime }).createRuntime : createRuntime;
    runtime = await create(config);
    // Imported the way `murmur pull <dir>` does: the store recognizes the release's layout and checks its files.
    await runtime.pull(join(root, 'model'), { name: 'zipformer' });
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('transcribes a WAV file (the CLI’s and the HTTP route’s path): text, segments and word times', async () => {
    const result = await runtime.transcribe({ model: 'zipformer', input: { bytes: encodeWav16(twoBursts(), RATE) }, vad: false });
    expect(result).toMatchObject({ model: 'zipformer', text: 'ONE TWO', duration: 2 });
    expect(result.segments).toHaveLength(1);
    const words = result.segments[0]!.words!;
    expect(words.map((w) => w.word)).toEqual(['ONE', 'TWO']);
    words.forEach((w, i) => expect(Math.abs(w.start - ONSETS[i]!)).toBeLessThanOrEqual(0.06));
  });

  it('its handle streams partial and final text', async () => {
    const lease = await runtime.models.lease('zipformer');
    try {
      const asr = lease.handle as AsrHandle;
      expect(asr.streaming).toBe(true);
      if (isolation === 'process') expect(asr.pid).toBeGreaterThan(0);
      else expect(asr.pid).toBeUndefined();
      const rate = 48_000;
      const audio = resample(twoBursts(), RATE, rate);
      const stream = asr.openStream(rate);
      // Accepts sent without waiting still answer in order.
      const partials = await Promise.all(Array.from({ length: Math.ceil(audio.length / (rate / 10)) }, (_, i) => stream.accept(audio.subarray(i * (rate / 10), (i + 1) * (rate / 10)))));
      expect(partials[0]).toBe('');
      expect(partials).toContain('ONE');
      expect(partials.at(-1)).toBe('ONE TWO');
      expectWordsAt(await stream.finish(), ['ONE', 'TWO'], ONSETS);
      stream.close();
      // Another stream on the same handle starts from nothing.
      const again = asr.openStream(RATE);
      expect(await again.accept(tone(0.3))).toBe('');
      expect((await again.finish()).text).toBe('ONE');
    } finally {
      lease.release();
    }
  });
});
