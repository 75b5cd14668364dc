import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';
const MODEL = 'stories260k';
const KEY = 'e2e-key';
const skip = missingModels(GGUF);

let home: string;
let daemon: Daemon | undefined;
let url: string;
let client: OpenAI;

const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: url, MURMUR_API_KEY: KEY, MURMUR_THREADS: '1', MURMUR_GPU: 'off' });
const cli = (...args: string[]) => runCli(env(), ...args);
const ps = async () => (await fetch(`${url}/murmur/v1/ps`, { headers: { Authorization: `Bearer ${KEY}` } }).then((r) => r.json())) as { models: { name: string; inFlight: number }[] };

describe.skipIf(skip)(`murmur serve, a real daemon driven by the openai client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-'));
    url = 'http://127.0.0.1:9';
    await cli('pull', testModel(GGUF)!, '--name', MODEL);
    daemon = await startDaemon(env(), ['--api-key', KEY, '--parallel', '4']);
    url = daemon.url;
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  afterAll(() => {
    if (daemon && daemon.process.exitCode === null) daemon.process.kill('SIGKILL');
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('lists the installed model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'murmur' });
    expect((await client.models.retrieve(MODEL)).id).toBe(MODEL);
  });

  it('chats without streaming, with usage', async () => {
    const reply = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 20, temperature: 0 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(reply.choices[0]!.finish_reason);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    expect(reply.usage!.completion_tokens).toBeLessThanOrEqual(20);
    expect(reply.usage!.total_tokens).toBe(reply.usage!.prompt_tokens + reply.usage!.completion_tokens);
  });

  it('streams chunks with a usage chunk at the end', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_completion_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('keeps to a json_schema', async () => {
    const schema = { type: 'object', properties: { mood: { enum: ['happy', 'sad'] }, ok: { type: 'boolean' } }, required: ['mood', 'ok'], additionalProperties: false };
    const reply = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'How is Lily?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'state', schema, strict: true } },
      max_tokens: 200,
    });
    const value = JSON.parse(reply.choices[0]!.message.content!);
    expect(['happy', 'sad']).toContain(value.mood);
    expect(typeof value.ok).toBe('boolean');
  });

  it('completes a prompt and embeds text (base64, as the client asks by default)', async () => {
    const completion = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 10 });
    expect(completion.object).toBe('text_completion');
    expect(typeof completion.choices[0]!.text).toBe('string');
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);

    const embeddings = await client.embeddings.create({ model: MODEL, input: ['a happy cat', 'a sad dog'] });
    expect(embeddings.data).toHaveLength(2);
    const [a, b] = embeddings.data.map((d) => d.embedding);
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBe(a!.length);
    expect(a!.every(Number.isFinite)).toBe(true);
    expect(a).not.toEqual(b);
  });

  it('answers errors in OpenAI shape', async () => {
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toMatchObject({ status: 401 });
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('stops a generation whose client aborts mid-stream, and keeps serving', async () => {
    const aborted = async () => {
      const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
      return Number(/murmur_generations_total\{model="[^"]+",outcome="aborted"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await aborted();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], stream: true, max_tokens: 100_000 },
      { signal: controller.signal },
    );
    let seen = 0;
    try {
      // Chunks already buffered may still arrive after abort() on a loaded machine, so stop reading too.
      for await (const _chunk of stream) {
        if (++seen === 3) {
          controller.abort();
          break;
        }
      }
    } catch {
      // The client may end the loop quietly or with an abort error.
    }
    expect(seen).toBe(3);
    await expect.poll(async () => (await ps()).models.find((m) => m.name === MODEL)?.inFlight, { timeout: 20_000 }).toBe(0);
    await expect.poll(aborted, { timeout: 20_000 }).toBe(before + 1);
    const reply = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
    expect(reply.choices[0]!.message.content).toBeTypeOf('string');
  });

  it('completes 8 concurrent streamed requests', async () => {
    const one = async (i: number) => {
      const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `Story number ${i}` }], max_tokens: 24, stream: true });
      let text = '';
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish ??= chunk.choices[0]?.finish_reason;
      }
      return { text, finish };
    };
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)));
    for (const result of results) {
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.finish).toMatch(/^(stop|length)$/);
    }
  });

  it('honours logprobs, n, penalties and logit_bias through the openai client, across the engine process', async () => {
    const story = [{ role: 'user' as const, content: 'Once upon a time' }];
    const reply = await client.chat.completions.create({ model: MODEL, messages: story, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = reply.choices[0]!.logprobs!.content!;
    expect(content.map((t) => t.token).join('')).toBe(reply.choices[0]!.message.content);
    for (const t of content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.top_logprobs[0]!.logprob).toBeCloseTo(t.logprob, 6);
    }

    // Two streamed choices: each chunk names its choice and carries its tokens' logprobs.
    const stream = await client.chat.completions.create({ model: MODEL, messages: story, max_tokens: 16, temperature: 1, seed: 5, n: 2, logprobs: true, stream: true });
    const texts = ['', ''];
    const tokens = ['', ''];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? '';
        tokens[choice.index] += (choice.logprobs?.content ?? []).map((t) => t.token).join('');
      }
    }
    expect(texts.every((t) => t.length > 0)).toBe(true);
    expect(tokens).toEqual(texts);
    expect(texts[0]).not.toBe(texts[1]);

    const two = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 10, n: 2, seed: 9 });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);

    // +100 on one token: the reply is that token over and over.
    const forced = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 3, temperature: 0, logprobs: 0, logit_bias: { '300': 100 } });
    expect(new Set(forced.choices[0]!.logprobs!.tokens!.map((t) => t.trim())).size).toBe(1);

    const repeats = async (frequency_penalty: number) => {
      const done = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 80, temperature: 0, logprobs: 0, frequency_penalty });
      const list = done.choices[0]!.logprobs!.tokens!;
      return list.length - new Set(list).size;
    };
    expect(await repeats(2)).toBeLessThan(await repeats(0));

    await expect(client.chat.completions.create({ model: MODEL, messages: story, n: 9 })).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(client.chat.completions.create({ model: MODEL, messages: story, presence_penalty: 3 })).rejects.toMatchObject({ status: 400, param: 'presence_penalty' });
    await expect(client.completions.create({ model: MODEL, prompt: 'x', logit_bias: { '9999': 1 } })).rejects.toMatchObject({ status: 400, param: 'logit_bias' });
  });

  it('puts an x-request-id of its own on every answer, errors and streams too', async () => {
    const { response, request_id } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }).withResponse();
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('x-request-id')).toBe(request_id);
    const failed = (await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as { requestID?: string };
    expect(failed.requestID).toMatch(/^req_[0-9a-f]{32}$/);
    expect(failed.requestID).not.toBe(request_id);
    const streamed = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, stream: true }).withResponse();
    expect(streamed.request_id).toMatch(/^req_/);
    for await (const _chunk of streamed.data) {
      // drain
    }
  });

  it('embeds token arrays, and refuses an id the model lacks without harm to the engine', async () => {
    const one = await client.embeddings.create({ model: MODEL, input: [100, 200, 300] });
    expect(one.data).toHaveLength(1);
    const many = await client.embeddings.create({ model: MODEL, input: [[100, 200], [300]] });
    expect(many.data).toHaveLength(2);
    expect(many.data[0]!.embedding.length).toBe(one.data[0]!.embedding.length);
    await expect(client.embeddings.create({ model: MODEL, input: [[600]] })).rejects.toMatchObject({ status: 400, param: 'input' });
    expect((await client.embeddings.create({ model: MODEL, input: [1, 2] })).data).toHaveLength(1);
  });

  it('load, ps and unload talk to the daemon', async () => {
    await cli('unload', '--all');
    await cli('load', MODEL, '--keep-alive', '-1');
    const listed = JSON.parse((await cli('ps', '--json')).stdout) as { name: string; expiresAt: string | null; memoryBytes: number }[];
    expect(listed).toEqual([expect.objectContaining({ name: MODEL, expiresAt: null })]);
    expect(listed[0]!.memoryBytes).toBeGreaterThan(0);
    const table = (await cli('ps')).stdout;
    // The daemon runs the model in an engine process of its own: its PID is the last column.
    expect(table.split('\n')[0]).toMatch(/^NAME\s+KIND\s+MEMORY\s+IN-FLIGHT\s+EXPIRES\s+PID$/);
    expect(table).toMatch(new RegExp(`^${MODEL}\\s+llm\\s+.+\\s+0\\s+forever\\s+\\d+$`, 'm'));
    expect(JSON.parse((await cli('unload', MODEL, '--json')).stdout)).toEqual({ unloaded: [MODEL] });
    expect((await ps()).models).toEqual([]);
  });

  it('rm of a model the daemon holds loaded unloads it there first', async () => {
    await cli('pull', testModel(GGUF)!, '--name', 'spare');
    await cli('load', 'spare', '--keep-alive', '-1');
    expect((await ps()).models.map((m) => m.name)).toContain('spare');
    expect((await cli('rm', 'spare')).stderr).toMatch(/removed spare/);
    expect((await ps()).models.map((m) => m.name)).not.toContain('spare');
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([MODEL]);
    const chat = await client.chat.completions.create({ model: 'spare', messages: [{ role: 'user', content: 'hi' }] }).catch((e: { status: number }) => e);
    expect((chat as { status: number }).status).toBe(404);
  });

  it('cp asks the daemon to copy in its store; the copy chats, and rm of it leaves the original', async () => {
    expect((await cli('cp', MODEL, 'twin')).stderr).toMatch(/copied .* to twin/);
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual([MODEL, 'twin'].sort());
    const reply = await client.chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(reply.model).toBe('twin');
    const taken = await cli('cp', MODEL, 'twin').catch((e: { code: number; stderr: string }) => e);
    expect(taken).toMatchObject({ code: 1, stderr: expect.stringContaining("'twin' is installed already.") });
    await cli('rm', 'twin');
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('ps says how to start a daemon when none answers', async () => {
    const failed = await runCli({ ...env(), MURMUR_HOST: 'http://127.0.0.1:9' }, 'ps').catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(/murmur serve/);
  });

  it('logs each request as one JSON line and exits 0 on SIGTERM', async () => {
    const lines = daemon!.stderr().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(5);
    expect(JSON.parse(lines.find((l) => l.includes('/v1/chat/completions'))!)).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, model: MODEL });
    expect(await daemon!.stop()).toBe(0);
    expect(daemon!.log().at(-1)).toMatchObject({ event: 'stopped' });
  });
});
