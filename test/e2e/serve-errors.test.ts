import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The bad inputs of the chat issue, against a real `murmur serve` process
 * with real node-llama-cpp: a corrupt GGUF in the store, a prompt longer than
 * the context, a flood beyond --parallel and --max-queue, a body over the
 * limit and embeddings asked of a model of the wrong kind.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VAD = 'silero-vad/silero_vad.onnx';
const GOOD = 'stories260k';
const skip = missingModels(GGUF, VAD);

let home: string;
let daemon: Daemon;
let client: OpenAI;

const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: '', MURMUR_API_KEY: '', MURMUR_DEBUG: '' });
const post = (path: string, body: unknown) =>
  fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; code: string; type: string; param: string | null } }).error;

describe.skipIf(skip)(`murmur serve under bad input (real daemon, real model)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-errors-'));
    const gguf = testModel(GGUF)!;
    // A GGUF cut in half: its header reads, so it imports, but its tensors are gone.
    const broken = join(home, 'broken.gguf');
    const bytes = readFileSync(gguf);
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await runCli(env(), 'pull', gguf, '--name', GOOD);
    await runCli(env(), 'pull', broken, '--name', 'broken');
    await runCli(env(), 'pull', testModel(VAD)!, '--name', 'vad');
    daemon = await startDaemon(env(), ['--parallel', '1', '--max-queue', '1', '--keep-alive', '-1', '--gpu', 'off']);
    client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });

  afterAll(async () => {
    if (daemon) await daemon.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('a truncated GGUF fails its request with a clear load error, and the daemon keeps serving the good model', async () => {
    const res = await post('/v1/chat/completions', { model: 'broken', messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.status).toBe(500);
    const error = await errorOf(res);
    expect(error.code).toBe('engine_load_failed');
    expect(error.message).toMatch(/Could not load 'broken'/);
    expect(error.message).not.toMatch(/Internal server error/);

    const reply = await client.chat.completions.create({ model: GOOD, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });
    expect(reply.choices[0]!.message.content!.length).toBeGreaterThan(0);
    // The broken model is not left half-loaded, and asking again fails the same way (no stuck load).
    const loaded = (await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string }[] };
    expect(loaded.models.map((m) => m.name)).toEqual([GOOD]);
    expect((await post('/v1/completions', { model: 'broken', prompt: 'Hi' })).status).toBe(500);
    expect(await (await fetch(`${daemon.url}/health`)).json()).toMatchObject({ status: 'ok', loading: [] });
  });

  it('a prompt longer than the context is a 400 that names both lengths', async () => {
    const prompt = 'once upon a time there was a cat '.repeat(2000);
    const res = await post('/v1/chat/completions', { model: GOOD, messages: [{ role: 'user', content: prompt }] });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('context_length_exceeded');
    const [promptTokens, contextTokens] = [...error.message.matchAll(/(\d+) tokens/g)].map((m) => Number(m[1]));
    expect(promptTokens).toBeGreaterThan(contextTokens!);
    expect(contextTokens).toBeGreaterThan(0);
    // Streamed, the same error comes as a status, before any event.
    const streamed = await post('/v1/chat/completions', { model: GOOD, stream: true, messages: [{ role: 'user', content: prompt }] });
    expect(streamed.status).toBe(400);
    expect((await errorOf(streamed)).code).toBe('context_length_exceeded');
  });

  it('a flood beyond --parallel 1 and --max-queue 1 gets 503s with Retry-After, the rest complete, nothing hangs', async () => {
    // With the model unloaded every request waits on the one load, then all ask for a slot at once.
    await post('/murmur/v1/unload', { all: true });
    const one = async (i: number) => {
      const res = await post('/v1/chat/completions', { model: GOOD, messages: [{ role: 'user', content: `Story ${i}` }], max_tokens: 16, stream: i % 2 === 0 });
      const text = await res.text();
      return { status: res.status, retryAfter: res.headers.get('retry-after'), text };
    };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => one(i)));
    const refused = results.filter((r) => r.status === 503);
    const served = results.filter((r) => r.status === 200);
    expect(refused.length + served.length).toBe(results.length);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(r.text).error).toMatchObject({ code: 'overloaded', type: 'server_error' });
    }
    for (const r of served) expect(r.text).toMatch(/"finish_reason":"(stop|length)"/);
    // Once the flood is over, the queue is empty and a request goes through.
    const ps = (await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string; inFlight: number; queued: number }[] };
    expect(ps.models).toEqual([expect.objectContaining({ name: GOOD, inFlight: 0, queued: 0 })]);
    expect((await client.completions.create({ model: GOOD, prompt: 'Once', max_tokens: 4 })).choices).toHaveLength(1);
  });

  it('a body over the limit is a 413 in OpenAI shape', async () => {
    const big = JSON.stringify({ model: GOOD, messages: [{ role: 'user', content: 'x'.repeat(16 * 1024 * 1024) }] });
    const res = await post('/v1/chat/completions', big);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    const error = await errorOf(res);
    expect(error.code).toBe('payload_too_large');
    expect(error.message).toMatch(/\d+ bytes/);
  });

  it('embeddings from a model of the wrong kind are a 400 naming the kind; malformed JSON is a 400', async () => {
    const res = await post('/v1/embeddings', { model: 'vad', input: 'hello' });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toMatchObject({ code: 'model_kind_mismatch', param: 'model' });
    expect(error.message).toMatch(/'vad' is a vad model/);
    const chat = await post('/v1/chat/completions', { model: 'vad', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(400);
    expect((await errorOf(chat)).code).toBe('model_kind_mismatch');
    const malformed = await post('/v1/chat/completions', '{"model": ');
    expect(malformed.status).toBe(400);
    expect((await errorOf(malformed)).type).toBe('invalid_request_error');
  });

  it('logs streamed requests with the whole stream time and the time to headers', async () => {
    const stream = await client.chat.completions.create({ model: GOOD, messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 32, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    await expect.poll(() => daemon.log().filter((e) => e.headersMs !== undefined).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const entry = daemon.log().findLast((e) => e.headersMs !== undefined)!;
    expect(entry).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, model: GOOD });
    expect(entry.ms as number).toBeGreaterThanOrEqual(entry.headersMs as number);
    expect(await daemon.stop()).toBe(0);
  });
});
