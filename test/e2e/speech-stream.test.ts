import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/* The WebSocket speech stream on a real `murmur serve`, with the shared synthetic voice. */

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const skip = missingModels(CHARS);
const KEY = 'stream-key';

interface Event {
  type: string;
  context_id?: string;
  text?: string;
  audio?: string;
  offset_ms?: number;
  sample_rate?: number;
  code?: string;
  message?: string;
  cancelled?: boolean;
  usage?: { input_tokens: number };
}

/** A socket that records every event (and binary frame) it receives. */
const connect = (url: string, protocols?: string[], headers?: Record<string, string>) =>
  new Promise<{ ws: WebSocket; events: Event[]; frames: Buffer[]; closed: Promise<{ code: number; reason: string }>; next: (type: string, where?: (e: Event) => boolean) => Promise<Event> }>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const events: Event[] = [];
    const frames: Buffer[] = [];
    const waiters: { type: string; where?: (e: Event) => boolean; done: (e: Event) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (data, binary) => {
      if (binary) return void frames.push(data as Buffer);
      const event = JSON.parse(data.toString()) as Event;
      events.push(event);
      for (const w of waiters.filter((w) => w.type === event.type && (!w.where || w.where(event)))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(event);
      }
    });
    const next = (type: string, where?: (e: Event) => boolean) => {
      const seen = events.find((e) => e.type === type && (!where || where(e)) && !(e as { taken?: boolean }).taken);
      if (seen) {
        (seen as { taken?: boolean }).taken = true;
        return Promise.resolve(seen);
      }
      return new Promise<Event>((done) => waiters.push({ type, where, done: (e) => ((e as { taken?: boolean }).taken = true, done(e)) }));
    };
    ws.on('open', () => resolve({ ws, events, frames, closed, next }));
    ws.on('error', reject);
  });

const send = (ws: WebSocket, message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message));

describe.skipIf(skip)(`the WebSocket speech stream${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let base: string;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_HOST: 'http://127.0.0.1:9' });
  const oneShot = async (text: string) =>
    Buffer.from(
      await (
        await fetch(`${daemon.url}/v1/audio/speech`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'chars', input: text, response_format: 'pcm' }),
        })
      ).arrayBuffer(),
    );

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-stream-'));
    await runCli(env(), 'pull', join(testModel(CHARS)!, '..'), '--name', 'chars');
    daemon = await startDaemon(env(), ['--api-key', KEY]);
    base = `${daemon.url.replace(/^http/, 'ws')}/v1/audio/speech/stream?model=chars`;
  });

  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('speaks two contexts interleaved on one socket, each with audio equal to its one-shot speech', async () => {
    const socket = await connect(`${base}&response_format=pcm`, [`murmur-key.${KEY}`]);
    expect(socket.ws.protocol).toBe(`murmur-key.${KEY}`);
    expect((await socket.next('session.created')) as unknown).toMatchObject({ model: 'chars', voice: 'speaker-0', response_format: 'pcm', sample_rate: 24000 });
    const a = ['The first context ', 'speaks this. And then ', 'this, too.'];
    const b = ['Meanwhile the second ', 'prepares its turn.'];
    for (let i = 0; i < 3; i++) {
      send(socket.ws, { type: 'input_text.append', context_id: 'a', text: a[i] });
      if (b[i]) send(socket.ws, { type: 'input_text.append', context_id: 'b', text: b[i] });
    }
    send(socket.ws, { type: 'context.close', context_id: 'a' });
    send(socket.ws, { type: 'context.close', context_id: 'b' });
    const doneA = await socket.next('context.done', (e) => e.context_id === 'a');
    const doneB = await socket.next('context.done', (e) => e.context_id === 'b');
    expect(doneA).toMatchObject({ cancelled: false, usage: { input_tokens: a.join('').length } });
    expect(doneB.usage!.input_tokens).toBe(b.join('').length);
    const audioOf = (id: string) => Buffer.concat(socket.events.filter((e) => e.type === 'audio.delta' && e.context_id === id).map((e) => Buffer.from(e.audio!, 'base64')));
    expect(audioOf('a').equals(await oneShot(a.join('')))).toBe(true);
    expect(audioOf('b').equals(await oneShot(b.join('')))).toBe(true);
    // The resampler's last samples come in a delta of their own, with no text.
    expect(socket.events.filter((e) => e.type === 'audio.delta' && e.context_id === 'a' && e.text).map((e) => e.text)).toEqual(['The first context speaks this.', 'And then this, too.']);
    send(socket.ws, { type: 'session.close' });
    expect((await socket.closed).code).toBe(1000);
  });

  it('sends binary frames when asked, cancels mid-context, and keeps going after bad messages', async () => {
    const socket = await connect(`${base}&response_format=pcm&sample_rate=native&binary=true`, undefined, { Authorization: `Bearer ${KEY}` });
    send(socket.ws, 'not json at all');
    expect((await socket.next('error')).message).toMatch(/not JSON/);
    send(socket.ws, { type: 'speak.now' });
    expect((await socket.next('error')).message).toMatch(/Unknown message type/);
    send(socket.ws, { type: 'input_text.append', text: 42 });
    expect((await socket.next('error')).message).toMatch(/text/);
    send(socket.ws, [1, 2]);
    expect((await socket.next('error')).message).toMatch(/JSON object/);
    send(socket.ws, { type: 'input_text.append', text: '' });
    expect((await socket.next('error')).message).toMatch(/empty/);
    send(socket.ws, { type: 'context.close', context_id: 'nobody' });
    expect((await socket.next('error')).code).toBe('session_not_found');
    socket.ws.send(Buffer.from([1, 2, 3]));
    expect((await socket.next('error')).message).toMatch(/Binary/);

    send(socket.ws, { type: 'input_text.append', text: `${Array.from({ length: 30 }, (_, i) => `Sentence ${i}.`).join(' ')} ` });
    const first = await socket.next('audio.delta');
    expect(first.audio).toBeUndefined();
    expect(first.sample_rate).toBe(16000);
    send(socket.ws, { type: 'context.cancel' });
    const done = await socket.next('context.done');
    expect(done.cancelled).toBe(true);
    const deltas = socket.events.filter((e) => e.type === 'audio.delta').length;
    expect(deltas).toBeLessThan(30);
    expect(socket.frames.length).toBe(deltas);
    expect(socket.frames[0]!.length).toBeGreaterThan(0);
    // The socket still works: a new context on it speaks.
    send(socket.ws, { type: 'input_text.append', context_id: 'again', text: 'Still here.' });
    send(socket.ws, { type: 'input_text.flush', context_id: 'again' });
    expect((await socket.next('audio.delta', (e) => e.context_id === 'again')).text).toBe('Still here.');
    socket.ws.close();
    await socket.closed;
  });

  it('closes with 1008 before any audio when the key is wrong or missing, and refuses a bad query with 400', async () => {
    for (const protocols of [['murmur-key.wrong'], undefined]) {
      const socket = await connect(base, protocols);
      send(socket.ws, { type: 'input_text.append', text: 'Should never be said.' });
      const closed = await socket.closed;
      expect(closed.code).toBe(1008);
      expect(socket.events.filter((e) => e.type === 'audio.delta')).toEqual([]);
    }
    // A bad query or model is said on the socket (node-ws would answer a refused upgrade with a bare status line).
    for (const [query, code, message] of [['&response_format=aiff', 4400, /aiff/], ['&voice=nobody', 4400, /nobody/]] as const) {
      const socket = await connect(`${base}${query}`, [`murmur-key.${KEY}`]);
      expect((await socket.next('error')).message).toMatch(message);
      expect((await socket.closed).code).toBe(code);
    }
    const unknown = await connect(base.replace('model=chars', 'model=nosuch'), [`murmur-key.${KEY}`]);
    expect((await unknown.next('error')).code).toBe('model_not_found');
    expect((await unknown.closed).code).toBe(4404);
    const plain = await fetch(`${daemon.url}/v1/audio/speech/stream?model=chars`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toMatch(/WebSocket/);
  });
});
