import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s16leToFloat } from '../../src/audio/pcm.js';
import { resample } from '../../src/audio/resample.js';
import { readWav } from '../../src/audio/wav-read.js';
import { createRemoteRuntime } from '../../src/client/remote-runtime.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import { missingModels, testModel } from '../helpers/models.js';

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const GGUF = 'stories260K/stories260K.gguf';
const TEN = Array.from({ length: 10 }, (_, i) => `Sentence ${'abcdefghij'[i]} is here.`).join(' ');

/** The SSE events of a body, parsed. */
const events = async (res: Response): Promise<Record<string, unknown>[]> =>
  (await res.text())
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => JSON.parse(frame.slice(6)) as Record<string, unknown>);

describe.skipIf(missingModels(CHARS, GGUF))('POST /v1/audio/speech on a real server (openai client, synthetic voice)', () => {
  let home: string;
  let runtime: LocalRuntime;
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-speech-http-'));
    runtime = await createRuntime(loadConfig({}, { home, threads: 1, gpu: 'off', keepAliveMs: -1, parallel: 1 }), { maxQueued: 2 });
    await runtime.pull(join(testModel(CHARS)!, '..'), { name: 'chars' });
    await runtime.pull(testModel(GGUF)!, { name: 'tiny-llm' });
    server = await startServer(runtime, { port: 0 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('streams WAV bytes whose length follows the text', async () => {
    const direct = await runtime.speak({ model: 'chars', text: TEN });
    const res = await client.audio.speech.create({ model: 'chars', voice: 'alloy', input: TEN, response_format: 'wav' });
    expect(res.headers.get('content-type')).toMatch(/audio\/(x-)?wav/);
    const reader = res.body!.getReader();
    const pieces: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) pieces.push(r.value);
    const decoded = readWav(Buffer.concat(pieces));
    expect(decoded.sampleRate).toBe(16000);
    expect(decoded.samples.length).toBe(direct.samples.length);
  });

  it('streams PCM as SSE deltas with usage at the end', async () => {
    const direct = await runtime.speak({ model: 'chars', text: TEN });
    const res = await client.audio.speech.create({ model: 'chars', voice: 'alloy', input: TEN, response_format: 'pcm', stream_format: 'sse' });
    expect(res.headers.get('x-sample-rate')).toBe('24000');
    const list = await events(res);
    const deltas = list.filter((e) => e.type === 'speech.audio.delta');
    // One delta per sentence (murmur names it in `text`), then one more with the resampler's last few samples.
    expect(deltas.filter((e) => e.text)).toHaveLength(10);
    expect(deltas.length).toBeLessThanOrEqual(11);
    const bytes = deltas.reduce((n, e) => n + Buffer.from(e.audio as string, 'base64').length, 0);
    const done = list.at(-1)!;
    expect(done).toMatchObject({ type: 'speech.audio.done', sample_rate: 24000 });
    expect(done.usage).toMatchObject({ input_tokens: TEN.length });
    const usage = done.usage as { input_tokens: number; output_tokens: number; total_tokens: number };
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    expect(bytes).toBe(Math.ceil((direct.samples.length * 24000) / direct.sampleRate) * 2);
  });

  it("answers raw pcm as OpenAI defines it: 24 kHz s16le mono, as long as the in-process audio", async () => {
    const direct = await runtime.speak({ model: 'chars', text: TEN });
    expect(direct.sampleRate).toBe(16000); // the voice's own rate, so the daemon has to resample
    const res = await client.audio.speech.create({ model: 'chars', voice: 'alloy', input: TEN, response_format: 'pcm' });
    expect(res.headers.get('content-type')).toBe('audio/pcm');
    expect(res.headers.get('x-sample-rate')).toBe('24000');
    const bytes = Buffer.from(await res.arrayBuffer());
    // One streaming resampler runs over the whole answer (not one per sentence), so the total is
    // its exact length for the whole input, ceil(samples · 24000 / rate), within one sample of
    // round(seconds · 24000); for 16 kHz (× 1.5) the two agree.
    const seconds = direct.samples.length / direct.sampleRate;
    expect(bytes.length).toBe(Math.ceil((direct.samples.length * 24000) / direct.sampleRate) * 2);
    expect(bytes.length).toBe(Math.round(seconds * 24000) * 2);
    // And it is the voice's audio resampled, not padded: it matches resampling the in-process samples.
    const heard = s16leToFloat(bytes);
    const expected = resample(direct.samples, direct.sampleRate, 24000);
    expect(heard.length).toBe(expected.length);
    let worst = 0;
    for (let i = 0; i < heard.length; i++) worst = Math.max(worst, Math.abs(heard[i]! - expected[i]!));
    expect(worst).toBeLessThan(2 / 32768); // 16-bit quantization
    // sample_rate: 'native' (murmur's, what RemoteRuntime asks for) keeps the voice's rate and samples.
    const native = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'chars', input: TEN, response_format: 'pcm', sample_rate: 'native' }) });
    expect(native.headers.get('x-sample-rate')).toBe('16000');
    expect((await native.arrayBuffer()).byteLength).toBe(direct.samples.length * 2);
  });

  it('answers bad requests with OpenAI-shaped 400s', async () => {
    await expect(client.audio.speech.create({ model: 'chars', voice: 'nobody', input: 'Hi.' })).rejects.toMatchObject({ status: 400, param: 'voice' });
    await expect(client.audio.speech.create({ model: 'chars', voice: 'alloy', input: '   ' })).rejects.toMatchObject({ status: 400, param: 'input' });
    await expect(client.audio.speech.create({ model: 'chars', voice: 'alloy', input: 'Hi.', speed: 5 })).rejects.toMatchObject({ status: 400, param: 'speed' });
    await expect(client.audio.speech.create({ model: 'chars', voice: 'alloy', input: 'Hi.', response_format: 'aac' })).rejects.toMatchObject({ status: 400, param: 'response_format' });
    await expect(client.audio.speech.create({ model: 'tiny-llm', voice: 'alloy', input: 'Hi.' })).rejects.toMatchObject({ status: 400, code: 'model_kind_mismatch' });
    await expect(client.chat.completions.create({ model: 'chars', messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({ status: 400, code: 'model_kind_mismatch' });
    await expect(client.audio.speech.create({ model: 'nope', voice: 'alloy', input: 'Hi.' })).rejects.toMatchObject({ status: 404 });
  });

  it('lists voices', async () => {
    const body = (await (await fetch(`${server.url}/v1/audio/voices?model=chars`)).json()) as { data: { model: string; default_voice: string; voices: { name: string }[] }[] };
    expect(body.data).toEqual([{ model: 'chars', default_voice: 'speaker-0', voices: [{ name: 'speaker-0', id: 0 }] }]);
  });

  it('a RemoteRuntime session against a server without the session door speaks sentence by sentence, the same audio', async () => {
    // A server that knows /v1/audio/speech but not murmur's sessions (an older murmur, another OpenAI-compatible server).
    const withoutDoor: typeof fetch = async (input, init) =>
      String(input).includes('/v1/audio/speech/sessions')
        ? new Response(JSON.stringify({ error: { message: 'Invalid URL (POST /v1/audio/speech/sessions).', type: 'invalid_request_error', param: null, code: 'unknown_url' } }), { status: 404 })
        : fetch(input, init);
    const remote = createRemoteRuntime(loadConfig({}), { baseUrl: server.url, fetch: withoutDoor });
    const session = await remote.openSpeech({ model: 'chars' });
    const texts: string[] = [];
    let samples = 0;
    const reading = (async () => {
      for await (const chunk of session) (texts.push(chunk.text), (samples += chunk.samples.length));
    })();
    for (const word of TEN.split(' ')) session.append(`${word} `);
    session.close();
    await reading;
    expect(texts).toHaveLength(10);
    expect(samples).toBe((await runtime.speak({ model: 'chars', text: TEN })).samples.length);
  });

  it('speaks through RemoteRuntime with sentence chunks, as LocalRuntime does', async () => {
    const remote = createRemoteRuntime(loadConfig({}), { baseUrl: server.url });
    const texts: string[] = [];
    const parts: Float32Array[] = [];
    const result = await remote.speak({ model: 'chars', text: TEN, onAudio: (c) => (texts.push(c.text), parts.push(c.samples)) });
    const local = await runtime.speak({ model: 'chars', text: TEN });
    expect(texts).toHaveLength(10);
    expect(result).toMatchObject({ model: 'chars', voice: 'speaker-0', sampleRate: 16000, sampleCount: local.samples.length });
    const streamed = Float32Array.from(parts.flatMap((p) => [...p]));
    expect(streamed.length).toBe(local.samples.length);
    expect(Math.max(...streamed.map((v, i) => Math.abs(v - local.samples[i]!)))).toBeLessThan(1 / 16000);
    // Without onAudio the samples come back whole.
    expect((await remote.speak({ model: 'chars', text: TEN })).samples.length).toBe(local.samples.length);
    expect((await remote.voices('chars'))[0]).toMatchObject({ model: 'chars', defaultVoice: 'speaker-0' });
  });

  it('queues a flood of requests, refuses the overflow with 503, and answers every one', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `Flood sentence ${i}.`).join(' ');
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'chars', input: long, response_format: 'pcm' }) });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
  });
});
