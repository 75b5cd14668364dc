import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../../src/errors.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local-runtime.js';
import { createApp } from '../../src/server/app.js';
import { recognizeModel } from '../../src/store/detect-family.js';
import type { InstalledModel } from '../../src/store/types.js';
import { asrConfig, encodeWav16, YESNO, yesnoModel, yesnoWavs } from '../helpers/asr.js';
import { missingModels } from '../helpers/models.js';
import { concat, tone, writeStreamingTransducer } from '../helpers/streaming-transducer.js';

/*
 * OpenAI's transcription parameters over HTTP, on real sherpa-onnx: word
 * times from a model that times its tokens (the synthetic streaming
 * zipformer of test/helpers/streaming-transducer.ts) and a 400 naming the
 * family of one that does not (the yesno TDNN); the language verbose_json
 * reports; and GET /v1/models/{id} for OpenAI's speech model names.
 */

const skip = missingModels(YESNO);

const fakeStore = (models: InstalledModel[]) => ({
  list: async () => models,
  get: async (name: string) => models.find((m) => m.name === name),
  require: async (name: string) => {
    const found = models.find((m) => m.name === name);
    if (!found) throw new ModelNotFoundError(name);
    return found;
  },
  pull: async () => {
    throw new Error('no pulls here');
  },
  remove: async () => {},
  copy: async () => Promise.reject(new Error('no copies here')),
});

const upload = (file: Uint8Array, fields: Record<string, string | string[]> = {}) => {
  const form = new FormData();
  form.append('file', new Blob([file]), 'audio.wav');
  for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(key, v);
  return { method: 'POST', body: form };
};

const RATE = 16_000;
const silence = (seconds: number) => new Float32Array(Math.round(seconds * RATE));
/** Two bursts the synthetic zipformer hears as ONE (at 0.5 s) and TWO (at 1.3 s). */
const twoBursts = () => concat(silence(0.5), tone(0.3, RATE), silence(0.5), tone(0.3, RATE), silence(0.4));

interface Verbose {
  language: string;
  text: string;
  segments?: unknown[];
  words?: { word: string; start: number; end: number }[];
}
interface ErrorBody {
  error: { message: string; param: string | null; code: string | null };
}

describe.skipIf(skip)(`transcription parameters on real sherpa-onnx${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let root: string;
  let runtime: LocalRuntime;
  let app: ReturnType<typeof createApp>;
  const yesno = () => readFileSync(yesnoWavs()[2]!.path);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'murmur-transcription-params-'));
    const dir = join(root, 'model');
    await writeStreamingTransducer(dir, { int8: true });
    const layout = await recognizeModel(dir);
    const files = Object.values(layout.files).map((path) => ({ path, size: statSync(join(dir, path)).size }));
    const zipformer: InstalledModel = {
      name: 'zipformer',
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
    // The yesno recordings are Hebrew; one copy says so, the other says nothing.
    const hebrew: InstalledModel = { ...yesnoModel(), name: 'yesno-he', languages: ['he'], pulledAt: new Date(1000).toISOString() };
    const voice: InstalledModel = { ...yesnoModel(), name: 'voice', kind: 'tts', family: 'vits', pulledAt: new Date(2000).toISOString() };
    runtime = createLocalRuntime({ ...asrConfig(), parallel: 2 }, { store: fakeStore([yesnoModel(), hebrew, zipformer, voice]) });
    app = createApp(runtime);
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const transcribe = async <T>(audio: Uint8Array, fields: Record<string, string | string[]>, status = 200): Promise<T> => {
    const res = await app.request('/v1/audio/transcriptions', upload(audio, { response_format: 'verbose_json', ...fields }));
    const body = (await res.json()) as T & Partial<ErrorBody>;
    expect(res.status, body.error?.message).toBe(status);
    return body;
  };

  it('gives words with their times where the model times its tokens', async () => {
    const body = await transcribe<Verbose>(encodeWav16(twoBursts(), RATE), { model: 'zipformer', vad: 'false', 'timestamp_granularities[]': 'word' });
    expect(body.text).toBe('ONE TWO');
    expect(body.words!.map((w) => w.word)).toEqual(['ONE', 'TWO']);
    body.words!.forEach((w, i) => {
      expect(Math.abs(w.start - [0.5, 1.3][i]!)).toBeLessThanOrEqual(0.06);
      expect(w.end).toBeGreaterThan(w.start);
    });
    // Word granularity alone leaves the segments out, as OpenAI does.
    expect(body.segments).toBeUndefined();
    // The model's one language, since the request names none.
    expect(body.language).toBe('en');
  });

  it('refuses word times with a 400 naming the family of a model that gives none', async () => {
    const body = await transcribe<ErrorBody>(yesno(), { model: 'yesno', 'timestamp_granularities[]': ['word', 'segment'] }, 400);
    expect(body.error).toMatchObject({ code: 'not_supported', param: 'timestamp_granularities' });
    expect(body.error.message).toMatch(/'yesno' \(tdnn\) gives no word times/);
    // Segments alone are fine; murmur's words_optional takes words where there are some (its own client sends it).
    expect((await transcribe<Verbose>(yesno(), { model: 'yesno', 'timestamp_granularities[]': 'segment' })).segments).toHaveLength(1);
    const optional = await transcribe<Verbose>(yesno(), { model: 'yesno', 'timestamp_granularities[]': ['segment', 'word'], words_optional: 'true' });
    expect(optional.words).toBeUndefined();
    expect(optional.segments).toHaveLength(1);
  });

  it('refuses word times where the answer cannot carry them: another format, or a stream', async () => {
    const cases: Record<string, string>[] = [{ response_format: 'json' }, { response_format: 'srt' }, { stream: 'true' }];
    for (const fields of cases) {
      const body = await transcribe<ErrorBody>(encodeWav16(twoBursts(), RATE), { model: 'zipformer', 'timestamp_granularities[]': 'word', ...fields }, 400);
      expect(body.error.param).toBe('timestamp_granularities');
    }
  });

  it('reports the language asked for, else the model’s own, else unknown', async () => {
    expect((await transcribe<Verbose>(yesno(), { model: 'yesno', language: 'HE' })).language).toBe('he');
    expect((await transcribe<Verbose>(yesno(), { model: 'yesno-he' })).language).toBe('he');
    expect((await transcribe<Verbose>(yesno(), { model: 'yesno' })).language).toBe('unknown');
  });

  it('answers GET /v1/models/{id} for OpenAI’s speech model names, as the audio routes take them', async () => {
    const entry = async (id: string) => {
      const res = await app.request(`/v1/models/${id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    // The default asr model here is the earliest installed: yesno.
    const yesnoEntry = await entry('yesno');
    for (const alias of ['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe']) expect(await entry(alias)).toEqual({ ...yesnoEntry, id: alias });
    const voiceEntry = await entry('voice');
    expect(voiceEntry.kind).toBe('tts');
    for (const alias of ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']) expect(await entry(alias)).toEqual({ ...voiceEntry, id: alias });
    // The transcription route takes the alias the same way.
    expect((await transcribe<Verbose>(yesno(), { model: 'whisper-1' })).text).toBe(yesnoWavs()[2]!.expected);
    // A name that is no alias and no model is still a 404.
    expect((await app.request('/v1/models/whisper-2')).status).toBe(404);
  });
});
