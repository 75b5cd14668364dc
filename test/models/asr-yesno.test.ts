import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsrHandle, VadHandle } from '../../src/engines/speech/asr-types.js';
import { loadAsr } from '../../src/engines/speech/asr.js';
import { loadVad } from '../../src/engines/speech/vad.js';
import { runTranscription } from '../../src/runtime/transcribe.js';
import type { TranscriptSegment } from '../../src/types/transcript.js';
import { asrConfig, buildYesnoFile, memoryAudio, readTestWav, SILERO, sileroModel, YESNO, yesnoModel, yesnoWavs } from '../helpers/asr.js';
import { missingModels } from '../helpers/models.js';

const skipAsr = missingModels(YESNO);
const skipVad = missingModels(YESNO, SILERO);

describe.skipIf(skipAsr)(`the asr engine on the real yesno TDNN${skipAsr ? ` (skipped: ${skipAsr})` : ''}`, () => {
  let asr: AsrHandle;
  beforeAll(async () => {
    asr = await loadAsr(asrConfig(), yesnoModel());
  });
  afterAll(() => asr?.dispose());

  it('reports the model rate from the manifest', async () => {
    expect(asr.kind).toBe('asr');
    expect(asr.sampleRate).toBe(8000);
    expect((await asr.stats()).memoryBytes).toBeGreaterThan(0);
  });

  it.each(yesnoWavs())('decodes $path to the sequence its name spells', async ({ path, expected }) => {
    const wav = readTestWav(path);
    const result = await asr.transcribe(wav.samples, wav.sampleRate);
    expect(result.text).toBe(expected);
  });

  it('accepts audio at another rate (resampled to the model rate)', async () => {
    const { path, expected } = yesnoWavs()[1]!;
    const wav = readTestWav(path);
    // Naive 2× upsampling (each sample twice) is the same sound at 16 kHz.
    const up = new Float32Array(wav.samples.length * 2);
    wav.samples.forEach((s, i) => up.set([s, s], i * 2));
    expect((await asr.transcribe(up, 16000)).text).toBe(expected);
  });

  it('rejects an unknown language code, naming what it accepts', async () => {
    const wav = readTestWav(yesnoWavs()[0]!.path);
    await expect(asr.transcribe(wav.samples, wav.sampleRate, { language: 'xx' })).rejects.toMatchObject({ code: 'invalid_request', param: 'language' });
  });

  it('refuses to translate (only whisper can)', async () => {
    const wav = readTestWav(yesnoWavs()[0]!.path);
    await expect(asr.transcribe(wav.samples, wav.sampleRate, { task: 'translate' })).rejects.toMatchObject({ code: 'not_supported' });
  });

  it('decodes without VAD in windows, one segment per window', async () => {
    const { samples, sampleRate } = buildYesnoFile(0.5);
    expect(samples.length / sampleRate).toBeLessThan(30);
    const result = await runTranscription({ asr, model: 'yesno', vadMode: 'off', open: async () => memoryAudio(samples, sampleRate), request: {} });
    expect(result.duration).toBeCloseTo(samples.length / sampleRate, 2);
    expect(result.segments).toHaveLength(1);
    expect(result.segments[0]).toMatchObject({ start: 0 });
    expect(result.text.replace(/\s/g, '')).toBe(yesnoWavs().map((w) => w.expected).join(''));
  });

  it('decodes a chunk that is exactly one 30 s window as it is, with the same result as 1 s chunks', async () => {
    const { samples, sampleRate } = buildYesnoFile(2, 2);
    const seconds = samples.length / sampleRate;
    // Two whole windows, then a shorter rest that goes through the copying path.
    expect(seconds).toBeGreaterThan(60);
    expect(seconds).toBeLessThan(90);
    // Records what reaches the model, to see that the whole-window chunk itself (not a copy) is decoded.
    const decoded: Float32Array[] = [];
    const recording: AsrHandle = Object.create(asr, {
      transcribe: {
        value: (...args: Parameters<AsrHandle['transcribe']>) => {
          decoded.push(args[0]);
          return asr.transcribe(...args);
        },
      },
    });
    const bySecond = await runTranscription({ asr, model: 'yesno', vadMode: 'off', open: async () => memoryAudio(samples, sampleRate, 1), request: {} });
    const audio = memoryAudio(samples, sampleRate, 30);
    const chunks: Float32Array[] = [];
    const byWindow = await runTranscription({
      asr: recording,
      model: 'yesno',
      vadMode: 'off',
      open: async () => ({
        ...audio,
        async *chunks() {
          for await (const chunk of audio.chunks()) {
            chunks.push(chunk);
            yield chunk;
          }
        },
      }),
      request: {},
    });
    expect(chunks[0]).toHaveLength(30 * sampleRate);
    expect(decoded).toHaveLength(3);
    expect(decoded[0]).toBe(chunks[0]);
    expect(decoded[1]).toBe(chunks[1]);
    expect(decoded[2]).toHaveLength(samples.length - 60 * sampleRate);
    expect(byWindow.segments.map((s) => [s.start, s.end])).toEqual([[0, 30], [30, 60], [60, Math.round(seconds * 1000) / 1000]]);
    expect(byWindow.segments).toEqual(bySecond.segments);
    expect(byWindow.text).toBe(bySecond.text);
    expect(byWindow.text.replace(/\s/g, '')).toMatch(/^[YN]+$/);
  });
});

describe.skipIf(skipVad)(`VAD-segmented transcription with real Silero VAD${skipVad ? ` (skipped: ${skipVad})` : ''}`, () => {
  let asr: AsrHandle;
  let vad: VadHandle;
  beforeAll(async () => {
    asr = await loadAsr(asrConfig(), yesnoModel());
    vad = await loadVad(asrConfig(), sileroModel());
  });

  it('finds each recording where it was put (within 0.3 s) and decodes each segment', async () => {
    const { samples, sampleRate, placed } = buildYesnoFile(2.5);
    const audio = memoryAudio(samples, sampleRate);
    const streamed: TranscriptSegment[] = [];
    const result = await runTranscription({ asr, vad, vadMode: 'on', model: 'yesno', open: async () => audio, request: { onSegment: (s) => streamed.push(s) }, concurrency: 2 });
    expect(audio.closed).toBe(true);
    expect(result.segments.map((s) => s.text)).toEqual(placed.map((p) => p.expected));
    result.segments.forEach((segment, i) => {
      expect(segment.id).toBe(i);
      expect(Math.abs(segment.start - placed[i]!.start)).toBeLessThan(0.3);
      expect(Math.abs(segment.end - placed[i]!.end)).toBeLessThan(0.3);
    });
    expect(streamed).toEqual(result.segments);
    expect(result.text).toBe(placed.map((p) => p.expected).join(' '));
    expect(result.timings.realTimeFactor).toBeGreaterThan(0);
  });

  it('uses VAD on its own for audio over 30 s when a VAD is given', async () => {
    const { samples, sampleRate, placed } = buildYesnoFile(2, 2);
    expect(samples.length / sampleRate).toBeGreaterThan(30);
    const result = await runTranscription({ asr, vad, vadMode: 'auto', model: 'yesno', open: async () => memoryAudio(samples, sampleRate), request: {} });
    expect(result.segments.map((s) => s.text)).toEqual(placed.map((p) => p.expected));
  });

  it('stops when aborted and closes the audio', async () => {
    const { samples, sampleRate } = buildYesnoFile(2, 3);
    const audio = memoryAudio(samples, sampleRate);
    const controller = new AbortController();
    const run = runTranscription({ asr, vad, vadMode: 'on', model: 'yesno', open: async () => audio, request: { signal: controller.signal, onSegment: () => controller.abort() } });
    await expect(run).rejects.toThrow();
    expect(audio.closed).toBe(true);
  });
});
