import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import type { EventLogEntry, RequestLogEntry } from '../../src/server/app.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import type { GenerationResult } from '../../src/types/chat.js';
import { startDaemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * Tenants of a shared daemon: several named keys with limits, on a real
 * HTTP server over the real tiny model, driven by the official clients. The
 * daemon runs in process (startServer) so that one stream can be held open
 * on cue: the real chat runs, and its reply's end waits for `gate`.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const skip = missingModels(GGUF, VOICE);

const KEYS = [
  { name: 'alice', key: 'alice-key', requestsPerMinute: 2 },
  { name: 'bob', key: 'bob-key', streams: 1 },
  { name: 'carol', key: 'carol-key', tokensPerMinute: 1 },
  { name: 'dave', key: 'dave-key' },
];
const ask = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Once upon a time' }], max_tokens: 8 };

describe.skipIf(skip)(`tenants on a shared daemon${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let runtime: LocalRuntime;
  let server: RunningServer;
  let gate: Promise<void> | undefined;
  const log: (RequestLogEntry | EventLogEntry)[] = [];
  const client = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-tenants-'));
    runtime = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1' }));
    await runtime.pull(testModel(GGUF)!, { name: 'tiny' });
    await runtime.pull(dirname(testModel(VOICE)!), { name: 'voice' });
    const realChat = runtime.chat.bind(runtime);
    runtime.chat = async (request): Promise<GenerationResult> => {
      const result = await realChat(request);
      await gate;
      return result;
    };
    server = await startServer(runtime, { port: 0, keys: KEYS, apiKey: 'old-key', log: (entry) => log.push(entry) });
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('turns a key away past its requests per minute with a 429 in OpenAI\'s shape and Retry-After, while other keys go on', async () => {
    const alice = client('alice-key');
    await alice.chat.completions.create(ask);
    await alice.chat.completions.create(ask);
    const refused = await alice.chat.completions.create(ask).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toMatch(/^429 Key 'alice' is over its 2 requests per minute; retry in \d+ s\.$/);
    expect(error.message).not.toContain('alice-key');
    const retryAfter = Number(error.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Another key, and MURMUR_API_KEY (the tenant `default`, no limits), are not affected.
    const other = await client('dave-key').chat.completions.create(ask);
    expect(other.choices[0]!.message.content).toBeTruthy();
    for (let i = 0; i < 3; i++) await client('old-key').embeddings.create({ model: 'tiny', input: 'x' });
  });

  it('answers a key over its limit in Anthropic\'s shape on the Messages door, and Ollama\'s on its own', async () => {
    // alice spent her two requests in the test above.
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: 'alice-key', maxRetries: 0 });
    const refused = await anthropic.messages.create({ model: 'tiny', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining("Key 'alice' is over its 2 requests per minute") } });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const ollama = await fetch(`${server.url}/api/chat`, { method: 'POST', headers: { Authorization: 'Bearer alice-key' }, body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], stream: false }) });
    expect(ollama.status).toBe(429);
    expect(ollama.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await ollama.json()).toEqual({ error: expect.stringContaining("Key 'alice' is over its 2 requests per minute") });
  });

  it('refuses a second concurrent stream of a key with a streams limit of 1 while the first streams, then takes one again', async () => {
    const bob = client('bob-key');
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    try {
      const first = await bob.chat.completions.create({ ...ask, stream: true });
      const chunks = first[Symbol.asyncIterator]();
      expect((await chunks.next()).done).toBe(false);
      const refused = await bob.chat.completions.create({ ...ask, stream: true }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as Error).message).toContain("Key 'bob' is over its 1 concurrent stream");
      expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1');
      // Another key streams meanwhile (its reply, too, ends once the gate opens).
      const dave = client('dave-key').chat.completions.create({ ...ask, stream: true });
      open();
      const rest: string[] = [];
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest.push(next.value.choices[0]?.finish_reason ?? '');
      expect(rest).toContain('length');
      for await (const _ of await dave);
    } finally {
      open();
      gate = undefined;
    }
    // The first stream is over: bob has his one stream back.
    const again = await bob.chat.completions.create(ask);
    expect(again.choices[0]!.finish_reason).toBe('length');
  });

  /** Bob's streams in flight, as /metrics says (read with another key: a look-up, neither counted nor limited). */
  const bobStreams = async () => {
    const page = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: 'Bearer dave-key' } })).text();
    return Number(/^murmur_tenant_streams_in_flight\{tenant="bob"\} (\d+)$/m.exec(page)?.[1]);
  };

  it('gives a stream back when its client goes away before the end', async () => {
    const bob = client('bob-key');
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    try {
      const gone = new AbortController();
      const first = await bob.chat.completions.create({ ...ask, stream: true }, { signal: gone.signal });
      const chunks = first[Symbol.asyncIterator]();
      expect((await chunks.next()).done).toBe(false);
      expect(await bob.embeddings.create({ model: 'tiny', input: 'x' }).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.RateLimitError);
      gone.abort();
      // The reply has not ended (its generation waits for the gate), yet the key has its stream back: its count drops, and a request that does work is let in.
      await expect.poll(() => bobStreams()).toBe(0);
      expect((await bob.embeddings.create({ model: 'tiny', input: 'x' })).data).toHaveLength(1);
    } finally {
      open();
      gate = undefined;
    }
  });

  it('counts a WebSocket, keyed by its subprotocol, as one of its key\'s streams for as long as it is open', async () => {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/audio/speech/stream?model=voice`, ['murmur-key.bob-key']);
    const created = new Promise<{ type: string }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(data.toString()) as { type: string }));
      ws.once('error', reject);
    });
    expect((await created).type).toBe('session.created');
    const refused = await client('bob-key').embeddings.create({ model: 'tiny', input: 'x' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await expect.poll(() => bobStreams()).toBe(0);
    expect((await client('bob-key').embeddings.create({ model: 'tiny', input: 'x' })).data).toHaveLength(1);

    // A wrong key over the subprotocol is still refused (1008).
    const stranger = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/audio/speech/stream?model=voice`, ['murmur-key.nope']);
    stranger.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => stranger.once('close', (c) => resolve(c)));
    expect(code).toBe(1008);
  });

  it('charges a generation\'s tokens and refuses the next request while the last minute\'s are at the limit', async () => {
    const carol = client('carol-key');
    const first = await carol.chat.completions.create(ask);
    expect(first.usage!.total_tokens).toBeGreaterThan(1);
    const refused = await carol.chat.completions.create(ask).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as Error).message).toContain("Key 'carol' is over its 1 token per minute");
  });

  it('refuses a wrong key with a 401', async () => {
    const refused = await client('mallory-key').chat.completions.create(ask).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    // The open paths stay open.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('shows per-key counts by name in /metrics, and logs the name, never the key', async () => {
    const page = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: 'Bearer dave-key' } })).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(page)?.[1]);
    expect(value('murmur_tenant_requests_total{tenant="alice"}')).toBe(2);
    expect(value('murmur_tenant_rejected_total{tenant="alice",reason="requests"}')).toBe(3);
    // One in each of the three tests above: the waits for a stream to come back read the count, never asking to be let in.
    expect(value('murmur_tenant_rejected_total{tenant="bob",reason="streams"}')).toBe(3);
    expect(value('murmur_tenant_rejected_total{tenant="carol",reason="tokens"}')).toBe(1);
    expect(value('murmur_tenant_tokens_total{tenant="carol"}')).toBeGreaterThan(1);
    expect(value('murmur_tenant_tokens_total{tenant="alice"}')).toBeGreaterThan(1);
    expect(value('murmur_tenant_streams_in_flight{tenant="bob"}')).toBe(0);
    // The request for this page is a look-up: neither counted nor held.
    expect(value('murmur_tenant_streams_in_flight{tenant="dave"}')).toBe(0);
    expect(value('murmur_tenant_requests_total{tenant="default"}')).toBe(3);
    expect(page).not.toMatch(/-key/);

    const requests = log.filter((entry): entry is RequestLogEntry => !('event' in entry));
    expect(requests.some((entry) => entry.tenant === 'carol' && entry.status === 429)).toBe(true);
    expect(requests.some((entry) => entry.tenant === 'bob' && entry.path === '/v1/audio/speech/stream')).toBe(true);
    expect(JSON.stringify(log)).not.toMatch(/-key/);
  });
});

describe('keys from the config file of a real `murmur serve`', () => {
  it('takes each listed key and MURMUR_API_KEY, limits the one with a limit, and refuses others', async () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-tenants-file-'));
    const file = join(home, 'murmur.yaml');
    writeFileSync(file, ['keys:', '  - name: alice', '    key: alice-key', '    requests-per-minute: 1', '  - name: bob', '    key-env: BOB_KEY', ''].join('\n'));
    const daemon = await startDaemon({ ...process.env, MURMUR_HOME: home, MURMUR_API_KEY: 'old-key', BOB_KEY: 'bob-key', MURMUR_LOG_FORMAT: 'json' }, ['--config', file]);
    try {
      const client = (apiKey: string) => new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey, maxRetries: 0 });
      // A request that does work (a POST; this daemon has no model, so it is admitted and then a 404); look-ups (GET) are not counted.
      const work = (key: string) => client(key).embeddings.create({ model: 'none', input: 'x' }).catch((error: unknown) => error);
      expect(await work('alice-key')).toBeInstanceOf(OpenAI.NotFoundError);
      await client('alice-key').models.list();
      const refused = await work('alice-key');
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as Error).message).toContain("Key 'alice' is over its 1 request per minute");
      expect(await work('bob-key')).toBeInstanceOf(OpenAI.NotFoundError);
      expect(await work('old-key')).toBeInstanceOf(OpenAI.NotFoundError);
      expect(await client('nope').models.list().catch((error: unknown) => error)).toBeInstanceOf(OpenAI.AuthenticationError);
      const page = await (await fetch(`${daemon.url}/metrics`, { headers: { Authorization: 'Bearer bob-key' } })).text();
      expect(page).toContain('murmur_tenant_rejected_total{tenant="alice",reason="requests"} 1');
      expect(page).toContain('murmur_tenant_requests_total{tenant="default"} 1');
      await expect.poll(() => daemon.log().some((entry) => entry.tenant === 'alice' && entry.status === 429)).toBe(true);
      expect(daemon.stderr()).not.toContain('alice-key');
    } finally {
      await daemon.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
