import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteRuntime } from '../../src/client/remote-runtime.js';
import { loadConfig } from '../../src/config.js';
import type { ConversationEvent } from '../../src/runtime/conversation.js';
import { SILERO, spokenTurn, YESNO } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * A front daemon routing models to real murmur daemons (two replicas of
 * `tiny`) and to fake servers that hang, answer garbage or drop a stream,
 * driven with the official openai client, Anthropic's and Ollama's doors,
 * and a realtime conversation whose chat model runs upstream.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const skip = missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);
const UP_KEY = 'upstream-secret-key';
const FRONT_KEY = 'front-key';

const base = { ...process.env, MURMUR_THREADS: '1', MURMUR_GPU: 'off', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '', MURMUR_CONFIG: '' };
const homes: string[] = [];
const home = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `murmur-e2e-route-${name}-`));
  homes.push(dir);
  return dir;
};

/** A server of the test's own on 127.0.0.1 that answers every request with `handle`. */
const fake = async (handle: RequestListener): Promise<{ server: Server; url: string }> => {
  const server = createServer(handle);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
};

let upA: Daemon;
let upB: Daemon;
let upBHome: string;
let front: Daemon;
let frontHome: string;
let client: OpenAI;
const fakes: Server[] = [];
const pending = new Set<ServerResponse>();
const received: { authorization?: string }[] = [];

const upstreamEnv = (dir: string) => ({ ...base, MURMUR_HOME: dir, MURMUR_API_KEY: UP_KEY });
const frontEnv = () => ({ ...base, MURMUR_HOME: frontHome, MURMUR_API_KEY: FRONT_KEY, MURMUR_HOST: front?.url ?? 'http://127.0.0.1:9' });
const headers = { Authorization: `Bearer ${FRONT_KEY}`, 'Content-Type': 'application/json' };
const upstreams = async () => ((await (await fetch(`${front.url}/murmur/v1/upstreams`, { headers })).json()) as { upstreams: { name: string; healthy: boolean; inFlight: number; requests: number; errors: number }[] }).upstreams;
const until = async (check: () => Promise<boolean>, what: string, ms = 15_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const post = (path: string, body: object, extra: Record<string, string> = {}) => fetch(`${front.url}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });

describe.skipIf(skip)(`murmur serve routing models to upstreams${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    const aHome = home('a');
    upBHome = home('b');
    frontHome = home('front');
    // Two replicas of tiny; the first also serves a voice and a recognizer.
    for (const dir of [aHome, upBHome]) await runCli(upstreamEnv(dir), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(upstreamEnv(aHome), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(upstreamEnv(aHome), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    // The front's own models: a chat model of its own, and what a realtime conversation listens and speaks with.
    await runCli(frontEnv(), 'pull', testModel(GGUF)!, '--name', 'local');
    await runCli(frontEnv(), 'pull', dirname(testModel(VOICE)!), '--name', 'mouth');
    await runCli(frontEnv(), 'pull', dirname(testModel(YESNO)!), '--name', 'ears');
    await runCli(frontEnv(), 'pull', testModel(SILERO)!, '--name', 'vad');
    [upA, upB] = await Promise.all([startDaemon(upstreamEnv(aHome)), startDaemon(upstreamEnv(upBHome))]);

    const hang = await fake((_req, res) => void pending.add(res));
    const garbage = await fake((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>not an API</html>'));
    const drop = await fake((req, res) => {
      if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"object":"list","data":[]}');
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Once"}}]}\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    // Answers with the body it was sent, as a chat completion.
    const echo = await fake((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        received.push({ authorization: req.headers.authorization });
        if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"object":"list","data":[]}');
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: body }, finish_reason: 'stop' }] }));
      });
    });
    const busy = await fake((req, res) => {
      if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"object":"list","data":[]}');
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '7' }).end('{"error":{"message":"Too many requests for this key","type":"rate_limit_error"}}');
    });
    fakes.push(hang.server, garbage.server, drop.server, echo.server, busy.server);
    const closed = await fake(() => {});
    closed.server.close();

    const config = join(frontHome, 'front.yaml');
    writeFileSync(
      config,
      [
        'upstreams:',
        `  a: { url: "${upA.url}/v1", api-key: ${UP_KEY}, dialect: murmur, health-interval: 300ms }`,
        `  b: { url: "${upB.url}/v1/", api-key-env: ROUTE_TEST_KEY, health-interval: 300ms }`,
        `  locked: { url: "${upA.url}/v1", api-key: wrong-key }`,
        `  hang: { url: "${hang.url}", timeout: 1s }`,
        `  garbage: { url: "${garbage.url}" }`,
        `  drop: { url: "${drop.url}" }`,
        `  gone: { url: "${closed.url}" }`,
        `  echo: { url: "${echo.url}", api-key: echo-key }`,
        `  busy: { url: "${busy.url}" }`,
        'routes:',
        '  - model: tiny',
        '    upstream: [a, b]',
        '  - model: renamed',
        '    upstream: a',
        '    as: tiny',
        '  - model: renamed',
        '    upstream: b',
        '  - { model: voice, upstream: a }',
        '  - { model: yesno, upstream: a }',
        '  - { model: locked-tiny, upstream: locked, as: tiny }',
        '  - { model: "slow-*", upstream: hang }',
        '  - { model: junk, upstream: garbage }',
        '  - { model: dropper, upstream: drop }',
        '  - { model: nowhere, upstream: gone }',
        '  - { model: echo, upstream: echo, as: echoed-name }',
        '  - { model: busy, upstream: busy }',
        '  - { model: "story-*", upstream: a }',
      ].join('\n'),
    );
    front = await startDaemon({ ...frontEnv(), ROUTE_TEST_KEY: UP_KEY }, ['--config', config]);
    client = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: FRONT_KEY, maxRetries: 0 });
    await until(async () => (await upstreams()).filter((u) => u.healthy).length === 5, 'a, b, drop, echo and busy to pass their first checks');
  }, 120_000);

  afterAll(async () => {
    for (const res of pending) res.destroy();
    await Promise.all([front?.stop(), upA?.stop(), upB?.stop()]);
    for (const server of fakes) server.close();
    for (const dir of homes) rmSync(dir, { recursive: true, force: true });
  });

  it('warns at start that two routes match one model, and the first wins', async () => {
    expect(front.stderr()).toMatch(/warning: .*renamed/);
    const res = await post('/v1/chat/completions', { model: 'renamed', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(res.headers.get('x-murmur-upstream')).toBe('a');
  });

  it('lists local and upstream models together, each owned by where it runs', async () => {
    const models = await client.models.list();
    const owner = Object.fromEntries(models.data.map((m) => [m.id, m.owned_by]));
    expect(owner).toMatchObject({ local: 'murmur', mouth: 'murmur', tiny: 'a,b', renamed: 'a', voice: 'a', yesno: 'a' });
  });

  it('streams a routed chat as the upstream sends it, and answers whole ones with usage', async () => {
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Once upon' }], max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(12);
    const whole = await client.chat.completions.create({ model: 'renamed', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    expect(whole.usage).toMatchObject({ completion_tokens: 5 });
    expect(whole.model).toBe('tiny');
  });

  it('passes the body as sent, fields murmur does not know included, renaming only the model', async () => {
    const res = await post('/v1/chat/completions', { model: 'echo', messages: [{ role: 'user', content: 'hi' }], guided_choice: ['yes', 'no'], vendor: { deep: [1, 2] } });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(JSON.parse(answer.choices[0]!.message.content)).toEqual({ model: 'echoed-name', messages: [{ role: 'user', content: 'hi' }], guided_choice: ['yes', 'no'], vendor: { deep: [1, 2] } });
    expect(received.at(-1)?.authorization).toBe('Bearer echo-key');
  });

  it('embeddings, responses and completions reach the upstream', async () => {
    const upstreamCalls = (path: string) => [...upA.log(), ...upB.log()].filter((line) => line.path === path).length;
    const before = { embeddings: upstreamCalls('/v1/embeddings'), chats: upstreamCalls('/v1/chat/completions'), completions: upstreamCalls('/v1/completions') };
    const embedded = await client.embeddings.create({ model: 'tiny', input: ['one', 'two'] });
    expect(embedded.data).toHaveLength(2);
    const response = await client.responses.create({ model: 'tiny', input: 'Once upon a time', max_output_tokens: 6 });
    expect(response.output_text.length).toBeGreaterThan(0);
    // Stored at the front: the next turn finds it.
    const next = await client.responses.create({ model: 'tiny', input: 'and then', previous_response_id: response.id, max_output_tokens: 4 });
    expect(next.previous_response_id).toBe(response.id);
    expect(next.output_text.length).toBeGreaterThan(0);
    const completion = await client.completions.create({ model: 'tiny', prompt: 'Once', max_tokens: 4 });
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
    // Each was answered upstream (the two responses as chat completions there), none by a model of the front's.
    expect(upstreamCalls('/v1/embeddings')).toBe(before.embeddings + 1);
    expect(upstreamCalls('/v1/chat/completions')).toBe(before.chats + 2);
    expect(upstreamCalls('/v1/completions')).toBe(before.completions + 1);
  });

  it('speech and transcription with models the upstream serves', async () => {
    const speech = await client.audio.speech.create({ model: 'voice', voice: 'alloy', input: 'Hello there.', response_format: 'wav' });
    const wav = new Uint8Array(await speech.arrayBuffer());
    expect(new TextDecoder().decode(wav.subarray(0, 4))).toBe('RIFF');
    expect(speech.headers.get('x-murmur-upstream')).toBe('a');
    const transcript = await client.audio.transcriptions.create({ model: 'yesno', file: createReadStream(testModel(CLIP)!) });
    expect(transcript.text).toBe('YNYYYNYN');
  });

  it("Anthropic's and Ollama's doors reach a routed model through the routing runtime", async () => {
    const message = await post('/v1/messages', { model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(message.status).toBe(200);
    expect(((await message.json()) as { usage: { output_tokens: number } }).usage.output_tokens).toBe(4);
    const chat = await post('/api/chat', { model: 'tiny', stream: false, messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 3 } });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { eval_count: number }).eval_count).toBe(3);
    // Each door's log line names the replica, wherever the routing happened.
    for (const path of ['/v1/messages', '/api/chat', '/v1/chat/completions']) {
      expect(front.log().findLast((line) => line.path === path && line.model === 'tiny')?.upstream, path).toMatch(/^[ab]$/);
    }
  });

  it("a realtime conversation listens and speaks here while its chat model answers from upstream", async () => {
    const chatsUpstream = () => [...upA.log(), ...upB.log()].filter((line) => line.path === '/v1/chat/completions').length;
    const audioUpstream = () => [...upA.log(), ...upB.log()].filter((line) => /^\/v1\/(audio|realtime)/.test(String(line.path))).length;
    const before = chatsUpstream();
    const audioBefore = audioUpstream();
    const runtime = createRemoteRuntime(loadConfig({ MURMUR_HOME: frontHome, MURMUR_API_KEY: FRONT_KEY }), { baseUrl: front.url });
    // ears, vad and mouth are the front's own models; tiny is routed.
    const conversation = await runtime.openConversation!({ model: 'tiny', listen: { model: 'ears', vad: 'vad' }, speak: { model: 'mouth' }, maxOutputTokens: 8 });
    const audio = spokenTurn(testModel(CLIP)!, 16_000);
    for (let i = 0; i < audio.length; i += 320) conversation.listen!.push(audio.subarray(i, i + 320), 16_000);
    const events: ConversationEvent[] = [];
    for await (const event of conversation) {
      events.push(event);
      if (event.type === 'response_done') break;
    }
    await conversation.close();
    expect(events.find((e) => e.type === 'transcript')).toMatchObject({ text: 'YNYYYNYN' });
    expect(events.map((e) => e.type)).toContain('text_delta');
    expect(events.map((e) => e.type)).toContain('audio');
    // Heard and spoken here: no upstream was asked to transcribe or to speak.
    expect(audioUpstream()).toBe(audioBefore);
    // The reply was asked of an upstream, not of a local model.
    expect(chatsUpstream()).toBe(before + 1);
  });

  it('a wrong upstream key is the upstream error, never the key', async () => {
    const res = await post('/v1/chat/completions', { model: 'locked-tiny', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
    expect(text).toMatch(/refused murmur's key/);
    expect(text).not.toContain('wrong-key');
    expect(front.stderr()).not.toContain('wrong-key');
    expect(front.stderr()).not.toContain(UP_KEY);
  });

  it('an upstream that hangs is a 504, one that answers garbage a 502, one down at start a 502 while local models work', async () => {
    const slow = await post('/v1/chat/completions', { model: 'slow-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: 'upstream_timeout' } });
    const junk = await post('/v1/embeddings', { model: 'junk', input: 'x' });
    expect(junk.status).toBe(502);
    expect(((await junk.json()) as { error: { message: string } }).error.message).toMatch(/not JSON/);
    const nowhere = await post('/v1/chat/completions', { model: 'nowhere', messages: [{ role: 'user', content: 'hi' }] });
    expect(nowhere.status).toBe(502);
    expect((await upstreams()).find((u) => u.name === 'gone')).toMatchObject({ healthy: false });
    const local = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(local.usage?.completion_tokens).toBe(3);
  });

  it("a model a glob route's upstream does not have is the upstream's 404, said as the upstream's", async () => {
    await expect(client.models.retrieve('story-nope')).rejects.toMatchObject({ status: 404, message: expect.stringMatching(/No upstream of route 'story-\*' \(a\) lists a model 'story-nope'/) });
    const res = await post('/v1/chat/completions', { model: 'story-nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-murmur-upstream')).toBe('a');
    const body = (await res.json()) as { error: { message: string; hint: string } };
    expect(body.error.message).toMatch(/^Upstream 'a': Unknown model 'story-nope'/);
    expect(body.error.hint).toMatch(/Upstream 'a' does not serve it/);
  });

  it("an upstream's 429 comes back as a 429 with its Retry-After", async () => {
    const res = await post('/v1/chat/completions', { model: 'busy', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', message: expect.stringMatching(/Upstream 'busy' is rate limiting \(Too many requests/) } });
  });

  it('a stream the upstream drops mid-way ends with an error event, not a hang', async () => {
    const stream = await client.chat.completions.create({ model: 'dropper', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const read = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(read()).rejects.toThrow(/dropped the stream/);
    expect(text).toBe('Once');
  });

  it('a client that goes away cancels the upstream request', async () => {
    const aborted = async () => {
      const texts = await Promise.all([upA, upB].map(async (d) => (await fetch(`${d.url}/metrics`, { headers: { Authorization: `Bearer ${UP_KEY}` } })).text()));
      return texts.reduce((sum, text) => sum + Number(/murmur_generations_total\{model="tiny",outcome="aborted"\} (\d+)/.exec(text)?.[1] ?? 0), 0);
    };
    const before = await aborted();
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Once' }], max_tokens: 100_000, stream: true }, { signal: controller.signal });
    const read = (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) controller.abort();
    })();
    await read.catch(() => {});
    await until(async () => (await aborted()) === before + 1, 'the upstream to abort its generation');
    await until(async () => (await upstreams()).every((u) => u.inFlight === 0), 'nothing in flight upstream');
  });

  it('murmur ps and /metrics show the upstreams', async () => {
    const { stdout } = await runCli(frontEnv(), 'ps');
    expect(stdout).toMatch(/UPSTREAM/);
    // The murmur upstreams' loaded models, beside the front's own (tiny has answered on both by now).
    expect(stdout).toMatch(/tiny \(on a\)/);
    const json = JSON.parse((await runCli(frontEnv(), 'ps', '--json')).stdout) as { name: string; upstream?: string }[];
    expect(json).toContainEqual(expect.objectContaining({ name: 'tiny', upstream: 'a' }));
    expect(stdout).toMatch(/gone .*down/);
    const metrics = await (await fetch(`${front.url}/metrics`, { headers })).text();
    expect(metrics).toMatch(/murmur_upstream_up\{upstream="a"\} 1/);
    expect(metrics).toMatch(/murmur_upstream_up\{upstream="gone"\} 0/);
    expect(metrics).toMatch(/murmur_upstream_requests_total\{upstream="a"\} [1-9]/);
  });

  it('a replica killed under load fails only its own streams; new requests go to the other; it rejoins when back', async () => {
    const started: string[] = [];
    const streams = Array.from({ length: 6 }, () =>
      client.chat.completions
        .create({ model: 'tiny', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 800, stream: true })
        .withResponse()
        .then(async ({ data, response }) => {
          const upstream = response.headers.get('x-murmur-upstream')!;
          let served = '';
          try {
            for await (const chunk of data) {
              if (!served) started.push(upstream);
              served += chunk.choices[0]?.delta.content ?? '';
            }
            return { upstream, ok: true as const };
          } catch (error) {
            return { upstream, ok: false as const, error: (error as Error).message };
          }
        }),
    );
    // Killed while streaming: the streams b had begun have had their first bytes (no other replica can take them now).
    await until(async () => started.includes('b'), 'a stream on b to begin');
    const port = new URL(upB.url).port;
    upB.process.kill('SIGKILL');
    await upB.stop();
    const results = await Promise.all(streams);
    // Those on b end with the stream's error event; those on a finish.
    const onA = results.filter((r) => r.upstream === 'a');
    expect(onA.length).toBeGreaterThan(0);
    for (const r of onA) expect(r).toMatchObject({ ok: true });
    const onB = results.filter((r) => r.upstream === 'b');
    expect(onB.length).toBeGreaterThan(0);
    for (const r of onB) expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/Upstream 'b' dropped the stream/) });
    // Every new request succeeds on a.
    for (let i = 0; i < 4; i++) {
      const { data: res, response } = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }).withResponse();
      expect(res.usage?.completion_tokens).toBe(2);
      expect(response.headers.get('x-murmur-upstream')).toBe('a');
    }
    expect((await upstreams()).find((u) => u.name === 'b')).toMatchObject({ healthy: false });
    upB = await startDaemon(upstreamEnv(upBHome), ['--port', port]);
    await until(async () => (await upstreams()).find((u) => u.name === 'b')!.healthy, 'b to rejoin');
  });
});
