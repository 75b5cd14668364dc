import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Runtime } from '../../src/runtime/types.js';
import { createMetrics } from '../../src/server/metrics.js';
import { startServer, type ListenOptions, type RunningServer } from '../../src/server/listen.js';
import type { ChatRequest } from '../../src/types/chat.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

/*
 * The daemon's connection limits on a real listener (127.0.0.1, an
 * ephemeral port): header and body timeouts, the connection cap, and
 * `Connection: close` on streamed replies. The timeouts are set small here;
 * nothing asserts a speed, only what the server does (each wait is bounded
 * by the test's own timeout).
 */

const servers: RunningServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const start = async (options: Partial<ListenOptions> = {}, runtime: Runtime = createFakeRuntime()) => {
  const server = await startServer(runtime, { port: 0, graceMs: 1000, ...options });
  servers.push(server);
  return server;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw TCP client of the server: what it has received, and whether the server has closed it. */
interface Raw {
  readonly socket: Socket;
  readonly received: () => string;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;
  isClosed: boolean;
}

const raw = (port: number, send = ''): Raw => {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  // A reset (a refused or evicted connection) is a close too.
  socket.on('error', () => {});
  const client: Raw = {
    socket,
    received: () => text,
    connected: new Promise((resolve) => socket.once('connect', () => resolve())),
    closed: new Promise((resolve) => socket.once('close', () => resolve())),
    isClosed: false,
  };
  void client.closed.then(() => (client.isClosed = true));
  if (send) socket.write(send);
  return client;
};

/** Writes `piece` every 20 ms until the socket closes. */
const trickle = (client: Raw, piece: string) => {
  const timer = setInterval(() => {
    if (!client.socket.destroyed) client.socket.write(piece);
  }, 20);
  void client.closed.then(() => clearInterval(timer));
};

const head = (method: string, path: string, headers: Record<string, string | number> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const text = body === undefined ? '' : JSON.stringify(body);
  return head(method, path, { ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }), ...headers }) + text;
};

const chat = (content: string) => ({ model: 'stories', stream: true, messages: [{ role: 'user', content }] });

/** Resolves once `client` has received a complete response (a chunked one ends with its last chunk). */
const responded = (client: Raw) => expect.poll(() => /\r\n\r\n/.test(client.received()) && (!/transfer-encoding: chunked/i.test(client.received()) || client.received().endsWith('0\r\n\r\n'))).toBe(true);

describe('header and body timeouts', () => {
  it('answers 408 and closes a client whose headers never finish, trickled or silent', async () => {
    const server = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const slow = raw(server.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    trickle(slow, 'X-Pad: a\r\n');
    const silent = raw(server.port);
    await Promise.all([slow.closed, silent.closed]);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a client whose body never finishes, and the request it started ends', async () => {
    const metrics = createMetrics();
    const server = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400, metrics });
    const slow = raw(server.port, head('POST', '/v1/chat/completions', { 'Content-Type': 'application/json', 'Content-Length': 100_000 }) + '{');
    trickle(slow, ' ');
    const stalled = raw(server.port, head('POST', '/v1/chat/completions', { 'Content-Type': 'application/json', 'Content-Length': 100_000 }) + '{"model":');
    await Promise.all([slow.closed, stalled.closed]);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(stalled.received()).toMatch(/^HTTP\/1\.1 408 /);
    await expect.poll(() => metrics.active.count).toBe(0);
    // The daemon goes on serving.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('does not cut a streamed reply that runs, or waits for its first token, past both timeouts', async () => {
    const fake = createFakeRuntime();
    // A first token that takes far longer than the timeouts (a model loading), then a stream that does too.
    const runtime: Runtime = { ...fake, chat: async (req: ChatRequest) => (await sleep(700), fake.chat(req)) };
    const server = await start({ headersTimeoutMs: 100, requestTimeoutMs: 200 }, runtime);
    const client = raw(server.port, request('POST', '/v1/chat/completions', chat('slow')));
    await expect.poll(() => client.received().includes(' t0')).toBe(true);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    const soFar = client.received().length;
    await sleep(700);
    expect(client.isClosed).toBe(false);
    expect(client.received().length).toBeGreaterThan(soFar);
    expect(client.received()).not.toContain('HTTP/1.1 408');
  });

  it('does not time out a WebSocket at /v1/audio/speech/stream that outlives both timeouts', async () => {
    const server = await start({ headersTimeoutMs: 100, requestTimeoutMs: 200 });
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/audio/speech/stream?model=voice`);
    const events: { type: string }[] = [];
    let closed = false;
    ws.on('message', (data, binary) => void (binary || events.push(JSON.parse(data.toString()) as { type: string })));
    ws.on('close', () => (closed = true));
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    await sleep(700);
    expect(closed).toBe(false);
    ws.send(JSON.stringify({ type: 'input_text.append', text: 'Hello there.' }));
    ws.send(JSON.stringify({ type: 'input_text.flush' }));
    await expect.poll(() => events.some((e) => e.type === 'audio.delta')).toBe(true);
    expect(closed).toBe(false);
    ws.close();
  });

  it('closes an idle keep-alive connection after the keep-alive timeout, and serves it until then', async () => {
    const server = await start({ keepAliveTimeoutMs: 200 });
    const client = raw(server.port, request('GET', '/health'));
    await responded(client);
    expect(client.received()).toMatch(/keep-alive/i);
    client.socket.write(request('GET', '/health'));
    await expect.poll(() => client.received().match(/HTTP\/1\.1 200 /g)?.length).toBe(2);
    await client.closed;
  });
});

describe('the connection cap', () => {
  it('closes the longest-idle keep-alive connections to let new clients in', async () => {
    const server = await start({ maxConnections: 4, keepAliveTimeoutMs: 60_000 });
    const idle: Raw[] = [];
    for (let i = 0; i < 4; i++) {
      const client = raw(server.port, request('GET', '/health'));
      await responded(client);
      idle.push(client);
    }
    expect(idle.some((c) => c.isClosed)).toBe(false);
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    await idle[0]!.closed;
    expect(idle.slice(1).some((c) => c.isClosed)).toBe(false);
  });

  it('keeps serving while many more idle sockets than the cap are open', async () => {
    const server = await start({ maxConnections: 8 });
    const silent = Array.from({ length: 40 }, () => raw(server.port));
    await Promise.all(silent.map((c) => c.connected));
    // All 40 reached the server: it holds 8 and has closed the rest.
    await expect.poll(() => silent.filter((c) => c.isClosed).length).toBe(32);
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/health`, { headers: { Connection: 'close' } })).status).toBe(200);
    expect(silent.filter((c) => !c.isClosed).length).toBeLessThanOrEqual(8);
  });

  it('refuses a new connection when every one is busy, and takes them again once one is free', async () => {
    const server = await start({ maxConnections: 3 });
    const streams = Array.from({ length: 3 }, () => raw(server.port, request('POST', '/v1/chat/completions', chat('slow'))));
    for (const s of streams) await expect.poll(() => s.received().includes(' t0')).toBe(true);
    const refused = raw(server.port, request('GET', '/health'));
    await refused.closed;
    expect(refused.received()).toBe('');
    expect(streams.some((s) => s.isClosed)).toBe(false);
    streams[0]!.socket.destroy();
    await expect.poll(async () => (await fetch(`${server.url}/health`, { headers: { Connection: 'close' } }).catch(() => undefined))?.status).toBe(200);
  });
});

describe('Connection: close on streamed replies', () => {
  const cases: [string, string, unknown, string][] = [
    ['an SSE chat stream', '/v1/chat/completions', chat('hi'), 'data: [DONE]'],
    ['an SSE speech stream', '/v1/audio/speech', { model: 'voice', input: 'Hello there.', response_format: 'pcm', stream_format: 'sse' }, 'speech.audio.done'],
    ['a raw audio stream', '/v1/audio/speech', { model: 'voice', input: 'Hello there.', response_format: 'wav' }, 'RIFF'],
  ];
  it.each(cases)('the server closes the socket once %s is over', async (_name, path, body, last) => {
    // A keep-alive timeout longer than the test's: only honouring the close can end the socket in time.
    const server = await start({ keepAliveTimeoutMs: 120_000 });
    const client = raw(server.port, request('POST', path, body, { Connection: 'close' }));
    await client.closed;
    const [headers] = client.received().split('\r\n\r\n');
    expect(headers).toMatch(/^HTTP\/1\.1 200 /);
    expect(headers).toMatch(/^connection: close$/im);
    expect(headers).not.toMatch(/keep-alive/i);
    expect(client.received()).toContain(last);
    expect(client.received().endsWith('0\r\n\r\n')).toBe(true);
  });

  it('keeps a streamed reply`s connection open for the next request when the client did not ask to close', async () => {
    const server = await start({ keepAliveTimeoutMs: 120_000 });
    const client = raw(server.port, request('POST', '/v1/chat/completions', chat('hi')));
    await responded(client);
    client.socket.write(request('GET', '/health', undefined, { Connection: 'close' }));
    await client.closed;
    expect(client.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  });
});
