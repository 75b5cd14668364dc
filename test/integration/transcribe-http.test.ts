import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotDownloadedError, ModelNotFoundError } from '../../src/errors.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local-runtime.js';
import { createApp } from '../../src/server/app.js';
import type { InstalledModel } from '../../src/store/types.js';
import { asrConfig, buildYesnoFile, encodeWav16, SILERO, sileroModel, YESNO, yesnoModel, yesnoWavs } from '../helpers/asr.js';
import { missingModels } from '../helpers/models.js';

const skip = missingModels(YESNO, SILERO);

const fakeStore = (models: InstalledModel[]) => ({
  list: async () => models,
  get: async (name: string) => models.find((m) => m.name === name),
  require: async (name: string) => {
    const found = models.find((m) => m.name === name);
    if (found) return found;
    if (name === 'whisper-tiny.en') throw new ModelNotDownloadedError(name);
    throw new ModelNotFoundError(name);
  },
  pull: async () => {
    throw new Error('no pulls here');
  },
  remove: async () => {},
  copy: async () => Promise.reject(new Error('no copies here')),
});

const upload = (file: Blob | Uint8Array, fields: Record<string, string | string[]> = {}, name = 'audio.wav') => {
  const form = new FormData();
  form.append('file', file instanceof Blob ? file : new Blob([file]), name);
  for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(key, v);
  return { method: 'POST', body: form };
};

describe.skipIf(skip)(`POST /v1/audio/transcriptions on real sherpa-onnx${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let runtime: LocalRuntime;
  let app: ReturnType<typeof createApp>;
  const wav = () => readFileSync(yesnoWavs()[2]!.path);
  const expected = () => yesnoWavs()[2]!.expected;

  beforeAll(() => {
    runtime = createLocalRuntime({ ...asrConfig(), parallel: 1 }, { store: fakeStore([yesnoModel(), sileroModel()]), maxQueued: 1 });
    app = createApp(runtime, { uploadLimitBytes: 2 * 1024 * 1024 });
  });
  afterAll(() => runtime?.[Symbol.asyncDispose]());

  it('answers json by default', async () => {
    const res = await app.request('/v1/audio/transcriptions', upload(wav(), { model: 'yesno' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: expected(), usage: { type: 'duration' } });
  });

  it('answers text, srt, vtt and verbose_json', async () => {
    const text = await app.request('/v1/audio/transcriptions', upload(wav(), { model: 'yesno', response_format: 'text' }));
    expect(await text.text()).toBe(`${expected()}\n`);
    const srt = await (await app.request('/v1/audio/transcriptions', upload(wav(), { model: 'yesno', response_format: 'srt' }))).text();
    expect(srt).toMatch(new RegExp(`^1\\n00:00:00,000 --> 00:00:0\\d,\\d{3}\\n${expected()}\\n$`));
    const vtt = await app.request('/v1/audio/transcriptions', upload(wav(), { model: 'yesno', response_format: 'vtt' }));
    expect(vtt.headers.get('Content-Type')).toContain('text/vtt');
    expect(await vtt.text()).toMatch(new RegExp(`^WEBVTT\\n\\n00:00:00\\.000 --> 00:00:0\\d\\.\\d{3}\\n${expected()}\\n$`));
    const verbose = (await (await app.request('/v1/audio/transcriptions', upload(wav(), { model: 'yesno', response_format: 'verbose_json' }))).json()) as Record<string, unknown>;
    expect(verbose).toMatchObject({ task: 'transcribe', text: expected(), segments: [{ id: 0, seek: 0, start: 0, text: expected(), tokens: [], temperature: 0 }] });
    expect(verbose.duration as number).toBeGreaterThan(5);
  });

  it('cuts a long upload with the VAD into timed segments', async () => {
    const { samples, sampleRate, placed } = buildYesnoFile(2);
    const res = await app.request('/v1/audio/transcriptions', upload(encodeWav16(samples, sampleRate), { model: 'yesno', response_format: 'verbose_json', vad: 'true' }));
    const body = (await res.json()) as { segments: { start: number; text: string }[] };
    expect(body.segments.map((s) => s.text)).toEqual(placed.map((p) => p.expected));
    body.segments.forEach((s, i) => expect(Math.abs(s.start - placed[i]!.start)).toBeLessThan(0.3));
  });

  it('streams transcript.text.delta and transcript.text.segment (with its times) per segment, then transcript.text.done', async () => {
    const { samples, sampleRate, placed } = buildYesnoFile(2);
    const res = await app.request('/v1/audio/transcriptions', upload(encodeWav16(samples, sampleRate), { model: 'yesno', stream: 'true', vad: 'true' }));
    expect(res.headers.get('Content-Type')).toContain('text/event-stream');
    const events = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.replace(/^data: /, '')).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
    expect(events.map((e) => e.type)).toEqual([...placed.flatMap(() => ['transcript.text.delta', 'transcript.text.segment']), 'transcript.text.done']);
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    expect(deltas.map((e) => e.delta).join('')).toBe(events.at(-1).text);
    const segments = events.filter((e) => e.type === 'transcript.text.segment');
    expect(segments.map((e) => e.id)).toEqual(placed.map((_, i) => `seg_${i}`));
    for (const [i, segment] of segments.entries()) {
      expect(segment.text).toBe(placed[i]!.expected);
      expect(segment.end).toBeGreaterThan(segment.start);
      if (i > 0) expect(segment.start).toBeGreaterThanOrEqual(segments[i - 1].end);
    }
    expect(events.at(-1).text).toBe(placed.map((p) => p.expected).join(' '));
  });

  const rejects = async (request: RequestInit, status: number, pattern: RegExp, param?: string, path = '/v1/audio/transcriptions') => {
    const res = await app.request(path, request);
    const body = (await res.json()) as { error: { message: string; param: string | null } };
    expect(res.status, body.error.message).toBe(status);
    expect(body.error.message).toMatch(pattern);
    if (param) expect(body.error.param).toBe(param);
  };

  it('rejects a file that is not audio', () => rejects(upload(new TextEncoder().encode('just some text, not sound at all'), { model: 'yesno' }, 'notes.txt'), 400, /audio|format|recogni/i));
  it('rejects an empty file', () => rejects(upload(new Uint8Array(0), { model: 'yesno' }), 400, /empty/i, 'file'));
  it('rejects a zero-length WAV', () => rejects(upload(encodeWav16(new Float32Array(0), 8000), { model: 'yesno' }), 400, /no samples|zero/i));
  it('rejects a truncated WAV', () => rejects(upload(wav().subarray(0, 30), { model: 'yesno' }), 400, /truncated/i));
  it('rejects a format nothing installed can decode, saying what to install', () =>
    rejects(upload(Buffer.concat([Buffer.from('FORM\0\0\0\x20AIFF'), Buffer.alloc(64)]), { model: 'yesno' }, 'clip.aiff'), 400, /ffmpeg/i));
  it('rejects a file over the size limit with 413', () => rejects(upload(new Uint8Array(3 * 1024 * 1024), { model: 'yesno' }), 413, /larger than/i));
  it('rejects an unknown language code', () => rejects(upload(wav(), { model: 'yesno', language: 'xx' }), 400, /Unknown language code 'xx'/, 'language'));
  it('rejects a multipart body whose boundary is missing or never comes, with a 400', async () => {
    for (const [type, body] of [
      ['multipart/form-data; boundary=zzz', '--yyy\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nxxxx\r\n'],
      ['multipart/form-data', 'garbage'],
    ] as const) {
      const res = await app.request('/v1/audio/transcriptions', { method: 'POST', headers: { 'Content-Type': type }, body });
      expect(res.status, type).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe('file');
    }
  });
  it('rejects a missing file field', () => rejects({ method: 'POST', body: (() => { const f = new FormData(); f.append('model', 'yesno'); return f; })() }, 400, /file/, 'file'));
  it('rejects a bad response_format', () => rejects(upload(wav(), { model: 'yesno', response_format: 'mp3' }), 400, /response_format/, 'response_format'));
  it('rejects translation by a model that cannot translate', () => rejects(upload(wav(), { model: 'yesno' }), 400, /cannot translate/, 'model', '/v1/audio/translations'));

  it('refuses to chat or speak with an asr model (400)', async () => {
    const chat = await app.request('/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'yesno', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { message: string } }).error.message).toMatch(/asr model; it cannot chat/);
    await expect(runtime.speak({ model: 'yesno', text: 'hello' })).rejects.toMatchObject({ code: 'model_kind_mismatch' });
  });

  it('queues a flood of requests and answers 503 beyond the queue', async () => {
    const { samples, sampleRate } = buildYesnoFile(1, 3);
    const long = encodeWav16(samples, sampleRate);
    const responses = await Promise.all(Array.from({ length: 6 }, () => app.request('/v1/audio/transcriptions', upload(long, { model: 'yesno', vad: 'false' }))));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const overloaded = responses.find((r) => r.status === 503)!;
    expect(overloaded.headers.get('Retry-After')).toBeTruthy();
  });
});
