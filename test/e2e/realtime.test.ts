import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resample } from '../../src/audio/resample.js';
import { readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * `GET /v1/realtime` on a real `murmur serve` over TLS, driven by the
 * official openai package's OpenAIRealtimeWS (which opens only wss://), on
 * the shared models: stories260K, the yes/no recognizer, Silero VAD and a
 * synthetic voice. A yes/no recording streamed as a microphone would send it
 * is heard, transcribed and answered in text and audio; speech over a reply
 * cancels it; manual commits, text-only turns, transcription sessions and
 * the beta dialect work; every bad input gets an error event, never a
 * dropped daemon.
 */

const fixtures = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'fixtures', 'tls');
const CERT = join(fixtures, 'cert.pem');
const KEY = join(fixtures, 'key.pem');
const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);
const ca = readFileSync(CERT);
const RATE = 24_000;
const FRAME = RATE / 50;
const KEY_VALUE = 'sekret';

let home: string;
let daemon: Daemon;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: KEY_VALUE, MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '', MURMUR_MAX_REALTIME: '6', MURMUR_KEEP_ALIVE: '5m' });

/** The clip at 24 kHz pcm16 with a quarter second of silence before it and 1.5 s after (so the turn ends). */
const speechPcm = (padded = true): Buffer => {
  const wav = readTestWav(testModel(CLIP)!);
  const clip = resample(wav.samples, wav.sampleRate, RATE);
  const samples = padded ? new Float32Array(clip.length + RATE * 1.75) : clip;
  if (padded) samples.set(clip, RATE / 4);
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  return out;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are read field by field, as the wire has them
type Event = { type: string; [field: string]: any };

/** An official realtime client on the daemon, with every event it gets kept in order. */
const connect = async (query: { model?: string; beta?: boolean } = {}) => {
  const client = new OpenAI({ apiKey: KEY_VALUE, baseURL: `${daemon.url}/v1` });
  const rt = new OpenAIRealtimeWS({ model: query.model ?? 'tiny', options: { ca, ...(query.beta ? { headers: { 'OpenAI-Beta': 'realtime=v1' } } : {}) } }, client);
  const events: Event[] = [];
  const waiters: { test: (e: Event) => boolean; done: (e: Event) => void }[] = [];
  rt.on('event', (raw) => {
    const event = raw as unknown as Event;
    events.push(event);
    for (const w of [...waiters]) if (w.test(event)) (waiters.splice(waiters.indexOf(w), 1), w.done(event));
  });
  rt.on('error', () => undefined); // errors are events too, read from `events`
  const closed = new Promise<number>((done) => rt.socket.on('close', (code) => done(code)));
  /** Resolves with the first event (from `from` on) that passes `test`. */
  const next = (test: (e: Event) => boolean, from = 0) => {
    const seen = events.slice(from).find(test);
    return seen ? Promise.resolve(seen) : new Promise<Event>((done) => waiters.push({ test, done }));
  };
  await next((e) => e.type === 'session.created' || e.type === 'error');
  const send = (event: Record<string, unknown>) => rt.socket.send(JSON.stringify(event));
  const stream = (pcm: Buffer) => {
    for (let i = 0; i < pcm.length; i += FRAME * 2) send({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + FRAME * 2).toString('base64') });
  };
  return { rt, events, next, send, stream, closed, types: () => events.map((e) => e.type), close: () => rt.close() };
};

describe.skipIf(skip)(`the realtime door on a real murmur serve${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-realtime-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await runCli(env(), 'pull', testModel(SILERO)!, '--name', 'vad');
    daemon = await startDaemon(env(), ['--tls-cert', CERT, '--tls-key', KEY]);
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('hears a spoken turn, transcribes it and answers it with text, transcript and audio', async () => {
    const s = await connect();
    const created = s.events[0]!;
    expect(created).toMatchObject({ type: 'session.created', session: { type: 'realtime', model: 'tiny', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } }, output: { format: { type: 'audio/pcm', rate: 24000 } } } } });
    s.send({ type: 'session.update', session: { type: 'realtime', instructions: 'You tell stories.', max_output_tokens: 40 } });
    await s.next((e) => e.type === 'session.updated');
    s.stream(speechPcm());
    const done = (await s.next((e) => e.type === 'response.done')) as unknown as Extract<RealtimeServerEvent, { type: 'response.done' }> & { murmur: { timings: Record<string, number> } };
    const types = s.types();
    const order = ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'conversation.item.added', 'conversation.item.input_audio_transcription.completed', 'response.created', 'response.output_item.added', 'response.content_part.added', 'response.output_audio_transcript.delta', 'response.output_audio.delta', 'response.output_audio.done', 'response.output_audio_transcript.done', 'response.content_part.done', 'response.output_item.done', 'response.done'];
    const at = order.map((t) => types.indexOf(t));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const transcript = s.events.find((e) => e.type === 'conversation.item.input_audio_transcription.completed') as unknown as Extract<RealtimeServerEvent, { type: 'conversation.item.input_audio_transcription.completed' }>;
    expect(transcript.transcript).toBe('YNYYYNYN');
    const committed = s.events.find((e) => e.type === 'input_audio_buffer.committed') as unknown as Extract<RealtimeServerEvent, { type: 'input_audio_buffer.committed' }>;
    expect(transcript.item_id).toBe(committed.item_id);
    // stories260K never stops by itself: the reply runs to max_output_tokens, and says so as OpenAI does.
    expect(done.response).toMatchObject({ status: 'incomplete', status_details: { type: 'incomplete', reason: 'max_output_tokens' }, usage: { output_tokens: 40 } });
    const text = s.events.filter((e) => e.type === 'response.output_audio_transcript.delta').map((e) => e.delta).join('');
    expect(text.length).toBeGreaterThan(0);
    expect(done.response.output?.[0]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_audio', transcript: text }] });
    const audio = s.events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta, 'base64'));
    const bytes = Buffer.concat(audio);
    expect(bytes.length % 2).toBe(0);
    let peak = 0;
    for (let i = 0; i < bytes.length; i += 2) peak = Math.max(peak, Math.abs(bytes.readInt16LE(i)));
    expect(peak).toBeGreaterThan(1000);
    expect(done.murmur.timings).toMatchObject({ transcription_ms: expect.any(Number), first_token_ms: expect.any(Number), first_audio_ms: expect.any(Number), total_ms: expect.any(Number) });
    // The same stages in /metrics.
    const { request } = await import('node:https');
    const metrics = await new Promise<string>((done, fail) =>
      request(`${daemon.url}/metrics`, { ca, headers: { Authorization: `Bearer ${KEY_VALUE}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c)));
        res.on('end', () => done(body));
      })
        .on('error', fail)
        .end(),
    );
    expect(metrics).toMatch(/^murmur_realtime_stage_seconds_count\{stage="first_audio"\} [1-9]/m);
    expect(metrics).toMatch(/^murmur_realtime_stage_seconds_count\{stage="transcription"\} [1-9]/m);
    expect(metrics).toMatch(/^murmur_realtime_sessions 1$/m);
    s.close();
  });

  it('barge-in: speech over a reply cancels it (turn_detected) and no audio of it follows', async () => {
    const s = await connect();
    s.send({ type: 'session.update', session: { max_output_tokens: 3000 } });
    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } });
    s.send({ type: 'response.create' });
    const first = await s.next((e) => e.type === 'response.output_audio.delta');
    s.stream(speechPcm());
    const started = await s.next((e) => e.type === 'input_audio_buffer.speech_started');
    const done = (await s.next((e) => e.type === 'response.done')) as unknown as Extract<RealtimeServerEvent, { type: 'response.done' }>;
    expect(done.response).toMatchObject({ id: first.response_id, status: 'cancelled', status_details: { type: 'cancelled', reason: 'turn_detected' } });
    const after = s.events.slice(s.events.indexOf(started));
    expect(after.some((e) => e.type === 'response.output_audio.delta' && e.response_id === done.response.id)).toBe(false);
    // The turn that interrupted is answered next.
    const transcript = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    expect(transcript.transcript).toBe('YNYYYNYN');
    await s.next((e) => e.type === 'response.created', s.events.indexOf(done as unknown as Event));
    // A response.create sent while a cancel completes is queued, not refused.
    const from = s.events.length;
    s.send({ type: 'response.cancel' });
    s.send({ type: 'response.create', response: { max_output_tokens: 4 } });
    const second = (await s.next((e) => e.type === 'response.done', s.events.indexOf(done as unknown as Event) + 1)) as unknown as Extract<RealtimeServerEvent, { type: 'response.done' }>;
    expect(second.response).toMatchObject({ status: 'cancelled', status_details: { reason: 'client_cancelled' } });
    const third = (await s.next((e) => e.type === 'response.done' && e.response.id !== second.response.id, from)) as unknown as Extract<RealtimeServerEvent, { type: 'response.done' }>;
    expect(third.response).toMatchObject({ status: 'incomplete', max_output_tokens: 4 });
    expect(s.events.slice(from).some((e) => e.type === 'error')).toBe(false);
    s.close();
  });

  it('manual commits with turn_detection null, then response.create', async () => {
    const s = await connect();
    s.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } }, max_output_tokens: 8 } });
    const updated = await s.next((e) => e.type === 'session.updated');
    expect((updated as unknown as { session: { audio: { input: { turn_detection: unknown } } } }).session.audio.input.turn_detection).toBeNull();
    s.send({ type: 'input_audio_buffer.commit' });
    const empty = await s.next((e) => e.type === 'error');
    expect((empty as unknown as { error: { message: string } }).error.message).toMatch(/0 ms of audio to commit; at least 100 ms/);
    // 50 ms is too little too (49 once the resampler has kept back its few samples).
    const from = s.events.length;
    s.stream(Buffer.alloc(2 * 1200));
    s.send({ type: 'input_audio_buffer.commit' });
    expect((await s.next((e) => e.type === 'error', from)).error.message).toMatch(/(4\d|50) ms of audio to commit/);
    s.send({ type: 'input_audio_buffer.clear' });
    await s.next((e) => e.type === 'input_audio_buffer.cleared');
    // The clip alone: a manual commit transcribes all that was appended, silence too.
    s.stream(speechPcm(false));
    s.send({ type: 'input_audio_buffer.commit' });
    const transcript = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed');
    expect(transcript.transcript).toBe('YNYYYNYN');
    expect(s.types()).not.toContain('input_audio_buffer.speech_started');
    expect(s.types()).not.toContain('response.created');
    s.send({ type: 'response.create' });
    const done = await s.next((e) => e.type === 'response.done');
    expect((done as unknown as { response: { status: string } }).response.status).toBe('incomplete');
    s.close();
  });

  it('a text-only turn: output_modalities text gives output_text deltas and no audio', async () => {
    const s = await connect();
    s.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], max_output_tokens: 10 } });
    await s.next((e) => e.type === 'session.updated');
    s.send({ type: 'conversation.item.create', event_id: 'mine_1', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] } });
    const added = await s.next((e) => e.type === 'conversation.item.added');
    expect(added).toMatchObject({ item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] } });
    s.send({ type: 'response.create' });
    const done = await s.next((e) => e.type === 'response.done');
    expect(s.types()).toContain('response.output_text.delta');
    expect(s.types()).toContain('response.output_text.done');
    expect(s.types()).not.toContain('response.output_audio.delta');
    expect((done as unknown as { response: { output: { content: { type: string }[] }[] } }).response.output[0]!.content[0]!.type).toBe('output_text');
    s.close();
  });

  it('a transcription session (?intent=transcription) transcribes turns and makes no responses', async () => {
    const url = `${daemon.url.replace(/^https/, 'wss')}/v1/realtime?intent=transcription`;
    const ws = new WebSocket(url, ['realtime', `openai-insecure-api-key.${KEY_VALUE}`], { ca });
    const events: Event[] = [];
    const completed = new Promise<Event>((done) =>
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as Event;
        events.push(event);
        if (event.type === 'session.created') {
          const pcm = speechPcm();
          for (let i = 0; i < pcm.length; i += FRAME * 2) ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + FRAME * 2).toString('base64') }));
        }
        if (event.type === 'conversation.item.input_audio_transcription.completed') done(event);
      }),
    );
    expect((await completed).transcript).toBe('YNYYYNYN');
    expect(events[0]).toMatchObject({ type: 'session.created', session: { type: 'transcription' } });
    expect(ws.protocol).toBe('realtime');
    ws.send(JSON.stringify({ type: 'response.create' }));
    await new Promise((r) => setTimeout(r, 200));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/transcription session/) } });
    ws.close();
  });

  it('the beta dialect (OpenAI-Beta: realtime=v1): flat session fields and the beta event names', async () => {
    const s = await connect({ beta: true });
    expect(s.events[0]).toMatchObject({ type: 'session.created', session: { object: 'realtime.session', input_audio_format: 'pcm16', output_audio_format: 'pcm16', turn_detection: { type: 'server_vad' } } });
    s.send({ type: 'session.update', session: { modalities: ['audio', 'text'], max_response_output_tokens: 12 } });
    await s.next((e) => e.type === 'session.updated');
    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] } });
    s.send({ type: 'response.create' });
    await s.next((e) => e.type === 'response.done');
    const types = s.types();
    expect(types).toContain('conversation.item.created');
    expect(types).toContain('response.audio.delta');
    expect(types).toContain('response.audio_transcript.delta');
    expect(types).toContain('response.audio.done');
    expect(types).not.toContain('response.output_audio.delta');
    s.close();
  });

  it('bad input gets an error event naming what is wrong, and the session goes on', async () => {
    const s = await connect();
    const errorAfter = async (event: string | Record<string, unknown>) => {
      const from = s.events.length;
      s.rt.socket.send(typeof event === 'string' ? event : JSON.stringify(event));
      return (await s.next((e) => e.type === 'error', from)) as unknown as unknown as { error: { message: string; param: string | null; event_id: string | null; type: string } };
    };
    expect((await errorAfter('not json')).error.message).toMatch(/not JSON/);
    expect((await errorAfter({ type: 'nope.nope', event_id: 'e1' })).error).toMatchObject({ message: expect.stringMatching(/Unknown event type "nope.nope"/), event_id: 'e1' });
    expect((await errorAfter({ type: 'input_audio_buffer.append' })).error).toMatchObject({ param: 'audio' });
    expect((await errorAfter({ type: 'input_audio_buffer.append', audio: '***' })).error.message).toMatch(/not base64/);
    expect((await errorAfter({ type: 'input_audio_buffer.append', audio: Buffer.from([1, 2, 3]).toString('base64') })).error.message).toMatch(/not whole 16-bit samples/);
    expect((await errorAfter({ type: 'conversation.item.truncate', item_id: 'item_nope', content_index: 0, audio_end_ms: 10 })).error.message).toMatch(/no reply 'item_nope'/);
    expect((await errorAfter({ type: 'conversation.item.delete', item_id: 'item_nope' })).error.message).toMatch(/no item 'item_nope'/);
    expect((await errorAfter({ type: 'response.cancel' })).error.message).toMatch(/no active response/);
    // A session.update naming a model that is not there, or not of the right kind: the error names it, the old settings stay.
    const unknown = await errorAfter({ type: 'session.update', session: { audio: { input: { transcription: { model: 'nosuch' } } }, instructions: 'changed' } });
    expect(unknown.error).toMatchObject({ message: expect.stringMatching(/nosuch/), param: 'session.audio.input.transcription.model' });
    const wrong = await errorAfter({ type: 'session.update', session: { model: 'voice' } });
    expect(wrong.error.message).toMatch(/'voice' is a tts model/);
    expect((await errorAfter({ type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } })).error.message).toMatch(/24000 Hz/);
    // A field murmur does not know is named, not dropped; a voice is checked even for text replies.
    expect((await errorAfter({ type: 'session.update', session: { bogus_field: 1 } })).error.message).toMatch(/bogus_field/);
    expect((await errorAfter({ type: 'session.update', session: { output_modalities: ['text'], audio: { output: { voice: 'nobody' } } } })).error.message).toMatch(/nobody/);
    // Still the old settings: a good update shows them.
    s.send({ type: 'session.update', session: { max_output_tokens: 8 } });
    const updated = (await s.next((e) => e.type === 'session.updated')) as unknown as unknown as { session: { instructions: string; max_output_tokens: number } };
    expect(updated.session).toMatchObject({ instructions: '', max_output_tokens: 8 });
    // Truncating past the audio sent.
    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] } });
    s.send({ type: 'response.create' });
    const done = (await s.next((e) => e.type === 'response.done')) as unknown as Extract<RealtimeServerEvent, { type: 'response.done' }>;
    const reply = done.response.output![0]!.id!;
    const past = await errorAfter({ type: 'conversation.item.truncate', item_id: reply, content_index: 0, audio_end_ms: 600_000 });
    expect(past.error).toMatchObject({ message: expect.stringMatching(/past the \d+ ms of audio sent/), param: 'audio_end_ms' });
    s.send({ type: 'conversation.item.truncate', item_id: reply, content_index: 0, audio_end_ms: 0 });
    await s.next((e) => e.type === 'conversation.item.truncated');
    s.close();
  });

  it('an event over 15 MiB gets an error and a close (1009); the session limit refuses with 1013', async () => {
    const s = await connect();
    s.rt.socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'A'.repeat(15 * 1024 * 1024 + 8) }));
    expect(await s.closed).toBe(1009);
    expect(s.events.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/at most 15728640 bytes/) } });
    const held = await Promise.all(Array.from({ length: 6 }, () => connect()));
    const refused = await connect();
    expect(await refused.closed).toBe(1013);
    expect(refused.events[0]).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/MURMUR_MAX_REALTIME/) } });
    held.forEach((h) => h.close());
    await Promise.all(held.map((h) => h.closed));
  });

  it('a wrong key is refused (1008); a client that vanishes mid-response stops its generation and frees its models', async () => {
    const client = new OpenAI({ apiKey: 'wrong', baseURL: `${daemon.url}/v1` });
    const bad = new OpenAIRealtimeWS({ model: 'tiny', options: { ca } }, client);
    bad.on('error', () => undefined);
    expect(await new Promise((done) => bad.socket.on('close', done))).toBe(1008);

    const s = await connect();
    s.send({ type: 'session.update', session: { max_output_tokens: 3000 } });
    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } });
    s.send({ type: 'response.create' });
    await s.next((e) => e.type === 'response.output_audio.delta');
    s.rt.socket.terminate();
    // The chat model's requests in flight drop to 0 once the session is gone.
    const { request } = await import('node:https');
    const inFlight = () =>
      new Promise<number>((done, fail) =>
        request(`${daemon.url}/murmur/v1/ps`, { ca, headers: { Authorization: `Bearer ${KEY_VALUE}` } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += String(c)));
          res.on('end', () => done((JSON.parse(body) as { models: { name: string; in_flight?: number; inFlight?: number }[] }).models.reduce((n, m) => n + (m.in_flight ?? m.inFlight ?? 0), 0)));
        })
          .on('error', fail)
          .end(),
      );
    let busy = await inFlight();
    for (let i = 0; i < 50 && busy > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      busy = await inFlight();
    }
    expect(busy).toBe(0);
    // And the daemon goes on.
    const again = await connect();
    expect(again.events[0]!.type).toBe('session.created');
    again.close();
  });
});
