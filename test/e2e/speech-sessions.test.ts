import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteRuntime } from '../../src/client/remote-runtime.js';
import { loadConfig } from '../../src/config.js';
import { builtBin, runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * Speech sessions over HTTP on a real `murmur serve` with the shared
 * synthetic voice (deterministic: the same text gives the same samples).
 */

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const skip = missingModels(CHARS);
const KEY = 'session-key';
// A long first sentence: the session starts it at its first clause, and one-shot speech cuts it the same way.
const TEXT = 'When a reply begins with a long first sentence, it starts at the clause. This reply streams in, piece by piece. Does it sound the same? It should, to the byte.';
/** TEXT cut into 20 pieces, as an LLM streams it. */
const pieces = (text: string, n = 20) => Array.from({ length: n }, (_, i) => text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)));

interface SseEvent {
  type: string;
  audio?: string;
  text?: string;
  offset_ms?: number;
  usage?: { input_tokens: number };
  seconds?: number;
  error?: { code: string };
}

describe.skipIf(skip)(`speech sessions on a real daemon${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_HOST: daemon?.url ?? 'http://127.0.0.1:9', MURMUR_API_KEY: KEY, ...extra });
  const api = (path: string, init: { method?: string; body?: unknown; key?: string; raw?: string } = {}) =>
    fetch(`${daemon.url}/v1/audio/speech${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: { Authorization: `Bearer ${init.key ?? KEY}`, 'Content-Type': 'application/json' },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
  const open = async (body: Record<string, unknown> = {}) => {
    const res = await api('/sessions', { body: { model: 'chars', ...body } });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; sample_rate: number; response_format: string; object: string; model: string; voice: string; expires_at: number };
  };
  const input = (id: string, body: unknown) => api(`/sessions/${id}/input`, { body });
  const sseEvents = async (res: Response) =>
    (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('data: '))
      .map((f) => JSON.parse(f.slice(6)) as SseEvent);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-sessions-'));
    await runCli(env(), 'pull', join(testModel(CHARS)!, '..'), '--name', 'chars');
    daemon = await startDaemon(env({ MURMUR_SPEECH_SESSION_IDLE: '1s', MURMUR_MAX_SPEECH_SESSIONS: '6' }), ['--api-key', KEY]);
  });

  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('fed in 20 pieces, its audio is byte for byte what one-shot speech of the joined text is', async () => {
    const session = await open({ response_format: 'pcm' });
    expect(session).toMatchObject({ object: 'speech.session', model: 'chars', voice: 'speaker-0', sample_rate: 24000, response_format: 'pcm' });
    expect(session.id).toMatch(/^spsess_[\w-]{20,}$/);
    const audio = api(`/sessions/${session.id}/audio`).then(async (res) => ({ type: res.headers.get('content-type'), rate: res.headers.get('x-sample-rate'), bytes: Buffer.from(await res.arrayBuffer()) }));
    for (const piece of pieces(TEXT)) expect((await input(session.id, { text: piece })).status).toBe(204);
    const closed = await api(`/sessions/${session.id}/close`, { method: 'POST' });
    expect(((await closed.json()) as { state: string }).state).toMatch(/closing|done/);
    const got = await audio;
    const oneShot = Buffer.from(await (await api('', { body: { model: 'chars', input: TEXT, response_format: 'pcm' } })).arrayBuffer());
    expect(got).toMatchObject({ type: 'audio/pcm', rate: '24000' });
    expect(got.bytes.length).toBeGreaterThan(10_000);
    expect(got.bytes.equals(oneShot)).toBe(true);
    const state = (await (await api(`/sessions/${session.id}`)).json()) as { state: string; characters: number; seconds: number };
    expect(state).toMatchObject({ state: 'done', characters: TEXT.length });
    expect(state.seconds).toBeCloseTo(oneShot.length / 2 / 24000, 1);
  });

  it('streams SSE deltas with their text and offsets, which add up, then done with usage', async () => {
    const session = await open({ response_format: 'pcm', sample_rate: 'native' });
    expect(session.sample_rate).toBe(16000);
    const reading = api(`/sessions/${session.id}/audio?stream_format=sse`).then(sseEvents);
    await input(session.id, { text: TEXT });
    await api(`/sessions/${session.id}/close`, { method: 'POST' });
    const events = await reading;
    const deltas = events.filter((e) => e.type === 'speech.audio.delta');
    expect(deltas.map((d) => d.text)).toEqual(['When a reply begins with a long first sentence,', 'it starts at the clause.', 'This reply streams in, piece by piece.', 'Does it sound the same?', 'It should, to the byte.']);
    let ms = 0;
    for (const delta of deltas) {
      expect(delta.offset_ms).toBe(Math.round(ms));
      ms += (Buffer.from(delta.audio!, 'base64').length / 2 / 16000) * 1000;
    }
    expect(events.at(-1)).toMatchObject({ type: 'speech.audio.done', usage: { input_tokens: TEXT.length } });
    expect(events.at(-1)!.seconds).toBeCloseTo(ms / 1000, 3);
  });

  it('flush speaks a half sentence at once; cancel ends the stream mid-session', async () => {
    const session = await open({ response_format: 'pcm', sample_rate: 'native' });
    const res = await api(`/sessions/${session.id}/audio?stream_format=sse`);
    await input(session.id, { text: 'No full stop yet', flush: true });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"text":"No full stop yet"');
    await input(session.id, { text: 'One more sentence. And another that never gets said' });
    const cancelled = await api(`/sessions/${session.id}`, { method: 'DELETE' });
    expect(((await cancelled.json()) as { state: string }).state).toBe('cancelled');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"type":"speech.audio.done","cancelled":true');
    const late = await input(session.id, { text: 'too late' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('session_conflict');
  });

  it('refuses bad input with OpenAI-shaped errors', async () => {
    const unknown = await input('spsess_nosuch', { text: 'hi' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('session_not_found');
    const session = await open();
    expect((await api(`/sessions/${session.id}`, { key: 'wrong' })).status).toBe(401);
    expect((await input(session.id, { text: '' })).status).toBe(400);
    expect((await input(session.id, { text: 'x'.repeat(20_000) })).status).toBe(400);
    expect((await input(session.id, {})).status).toBe(400);
    expect((await input(session.id, { flush: true })).status).toBe(204);
    expect((await api(`/sessions/${session.id}/input`, { raw: '{"text":"\xff"}' })).status).toBe(204);
    const invalidUtf8 = await fetch(`${daemon.url}/v1/audio/speech/sessions/${session.id}/input`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(invalidUtf8.status).toBe(400);
    expect((await api('/sessions', { body: { model: 'chars', response_format: 'aiff' } })).status).toBe(400);
    expect((await api('/sessions', { body: { model: 'nosuch' } })).status).toBe(404);
    const first = api(`/sessions/${session.id}/audio`);
    await new Promise((r) => setTimeout(r, 50));
    const second = await api(`/sessions/${session.id}/audio`);
    expect(second.status).toBe(409);
    await api(`/sessions/${session.id}`, { method: 'DELETE' });
    await (await first).arrayBuffer();
  });

  it('speaks a finished sentence at the end of the text once no more comes, and opens with no body at all', async () => {
    const res = await api('/sessions', { method: 'POST', raw: '' });
    expect(res.status).toBe(201);
    const { id, sample_rate } = (await res.json()) as { id: string; sample_rate: number };
    expect(sample_rate).toBe(16000); // mp3 at the voice's rate
    const reading = api(`/sessions/${id}/audio?stream_format=sse`);
    await input(id, { text: 'Sure.' });
    const reader = (await reading).body!.getReader();
    // No close, no flush, no more text: the sentence still comes, after a moment.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"text":"Sure."');
    await api(`/sessions/${id}`, { method: 'DELETE' });
    await reader.cancel();
  });

  it('expires an idle session, and refuses sessions past the limit with 503', async () => {
    const idle = await open();
    await new Promise((r) => setTimeout(r, 1600));
    expect((await api(`/sessions/${idle.id}`)).status).toBe(404);
    const held = [];
    for (let i = 0; i < 6; i++) held.push(await open());
    const over = await api('/sessions', { body: { model: 'chars' } });
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('1');
    for (const s of held) await api(`/sessions/${s.id}`, { method: 'DELETE' });
    expect((await api('/sessions', { body: { model: 'chars' } })).status).toBe(201);
  });

  it('RemoteRuntime.openSpeech uses the door: the same chunks as one-shot speech', async () => {
    const remote = createRemoteRuntime(loadConfig({ MURMUR_API_KEY: KEY }), { baseUrl: daemon.url });
    const session = await remote.openSpeech({ model: 'chars' });
    expect(session).toMatchObject({ model: 'chars', voice: 'speaker-0', sampleRate: 16000 });
    const chunks: { text: string; length: number; offsetSamples: number }[] = [];
    const reading = (async () => {
      for await (const chunk of session) chunks.push({ text: chunk.text, length: chunk.samples.length, offsetSamples: chunk.offsetSamples });
    })();
    for (const piece of pieces(TEXT)) session.append(piece);
    session.close();
    await reading;
    const whole = await remote.speak({ model: 'chars', text: TEXT });
    expect(chunks.map((c) => c.text)).toHaveLength(5);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(whole.samples.length);
    expect(chunks[1]!.offsetSamples).toBe(chunks[0]!.length);
    expect((await session.done).cancelled).toBe(false);
  });

  it('echo … | murmur speak runs on a daemon session', async () => {
    const { execFile } = await import('node:child_process');
    const out = join(home, 'piped.pcm');
    await new Promise<void>((resolve, reject) => {
      const child = execFile(process.execPath, [builtBin, 'speak', '--model', 'chars', '-o', out], { env: env() }, (error) => (error ? reject(error) : resolve()));
      child.stdin!.end(`${TEXT}\n`);
    });
    const { readFileSync } = await import('node:fs');
    const direct = Buffer.from(await (await api('', { body: { model: 'chars', input: TEXT, response_format: 'pcm', sample_rate: 'native' } })).arrayBuffer());
    expect(readFileSync(out).equals(direct)).toBe(true);
    const log = daemon.stderr();
    expect(log).toMatch(/\/v1\/audio\/speech\/sessions\/spsess_[\w-]+\/audio/);
  });
});
