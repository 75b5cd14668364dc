import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Ollama's native API on a real `murmur serve` with stories260K, through the
 * official `ollama` client: version, list, show, chat and generate (whole
 * and streamed as NDJSON), raw generate, a bare generate that loads and
 * unloads, embed and embeddings, and the bad inputs each in Ollama's
 * `{error}` shape (never a 5xx); ps, pull (streamed and not), copy and delete,
 * with murmur's own admin routes under /murmur/v1; a client that leaves mid-stream stops its
 * generation. stories260K never stops by itself, so replies end at
 * num_predict (done_reason length).
 */

const GGUF = 'stories260K/stories260K.gguf';
const VAD = 'silero-vad/silero_vad.onnx';
const skip = missingModels(GGUF, VAD);
let home: string;
let daemon: Daemon;
let ollama: Ollama;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: '', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_IMPORT_DIRS: `${dirname(testModel(GGUF)!)},${join(home, 'imports')}` });
const post = (path: string, body: unknown) =>
  fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
/** An error answer: its status and Ollama's `{error}`. */
const errorOf = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });
/** murmur's own ps (Ollama's /api/ps has no in-flight counts). */
const ps = async () => ((await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string; inFlight: number }[] }).models;

describe.skipIf(skip)(`Ollama's API on murmur serve${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-ollama-'));
    // A second copy of the file, for a pull that imports a model of its own (the same path again reuses tiny).
    mkdirSync(join(home, 'imports'));
    copyFileSync(testModel(GGUF)!, join(home, 'imports', 'stories260K.gguf'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', testModel(VAD)!, '--name', 'vad');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    ollama = new Ollama({ host: daemon.url });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('answers the probe on / and its version', async () => {
    const res = await fetch(`${daemon.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ollama is running');
    expect((await fetch(`${daemon.url}/`, { method: 'HEAD' })).status).toBe(200);
    // The Ollama version whose API murmur speaks (clients check it against the least they need), and murmur's own beside it.
    const version = (await (await fetch(`${daemon.url}/api/version`)).json()) as { version: string; murmur: string };
    expect(version).toEqual({ version: (await ollama.version()).version, murmur: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(Number(version.version.split('.')[1])).toBeGreaterThanOrEqual(9);
  });

  it('create and push say they are not supported, in Ollama\'s error shape', async () => {
    for (const path of ['/api/create', '/api/push']) {
      const res = await post(path, { model: 'tiny' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/not supported/);
    }
  });

  it('list and show describe the chat model from its GGUF header; speech models are left out', async () => {
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(['tiny']);
    expect(models[0]).toMatchObject({ model: 'tiny', size: expect.any(Number), digest: expect.stringMatching(/^[0-9a-f]{64}$/), details: { format: 'gguf', family: 'llama', families: ['llama'] } });
    expect(new Date(models[0]!.modified_at).getTime()).toBeGreaterThan(0);
    const show = await ollama.show({ model: 'tiny:latest' });
    expect(show.capabilities).toEqual(['completion', 'tools']);
    expect(show.details.family).toBe('llama');
    expect(show.model_info).toMatchObject({ 'general.architecture': 'llama', 'llama.context_length': expect.any(Number) });
  });

  it('chat answers one object ending at num_predict, with counts and durations in ns', async () => {
    const reply = await ollama.chat({ model: 'tiny', messages: [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'Once upon a time' }], stream: false, options: { num_predict: 6, temperature: 0 } });
    expect(reply).toMatchObject({ model: 'tiny', done: true, done_reason: 'length', eval_count: 6, message: { role: 'assistant', content: expect.any(String) } });
    expect(reply.message.content.length).toBeGreaterThan(0);
    expect(reply.prompt_eval_count).toBeGreaterThan(0);
    expect(reply.total_duration).toBeGreaterThan(1000);
    expect(reply.total_duration).toBeGreaterThanOrEqual(reply.eval_duration);
  });

  it('chat streams NDJSON pieces whose text is the whole reply, then the final object', async () => {
    const whole = await ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], stream: false, options: { num_predict: 8, temperature: 0, seed: 1 } });
    const stream = await ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], stream: true, options: { num_predict: 8, temperature: 0, seed: 1 } });
    let text = '';
    let last: { done: boolean; done_reason?: string; eval_count?: number } | undefined;
    for await (const part of stream) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe(whole.message.content);
    expect(last).toMatchObject({ done: true, done_reason: 'length', eval_count: 8 });
  });

  it('a forced tool call comes back as tool_calls with arguments as an object', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'] } } }];
    const reply = await ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools, format: { type: 'object', properties: { x: { type: 'integer' } } }, stream: false, options: { num_predict: 40 } }).catch((e: Error) => e);
    // The tiny model rarely calls; what matters is the shape when it does, and a clean answer when it does not.
    if (!(reply instanceof Error)) {
      for (const call of reply.message.tool_calls ?? []) expect(typeof call.function.arguments).toBe('object');
    }
    const followUp = await ollama.chat({
      model: 'tiny',
      stream: false,
      options: { num_predict: 3 },
      tools,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
        { role: 'tool', content: 'Sunny', tool_name: 'get_weather' } as never,
      ],
    });
    expect(followUp.done).toBe(true);
  });

  it('format json and a schema constrain the reply', async () => {
    const reply = await ollama.generate({ model: 'tiny', prompt: 'A number', format: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }, stream: false, options: { num_predict: 40 } });
    expect(JSON.parse(reply.response ?? '')).toMatchObject({ n: expect.any(Number) });
  });

  it('generate: whole, streamed, raw and with system; unknown options are ignored', async () => {
    const whole = await ollama.generate({ model: 'tiny', prompt: 'Once upon a time', system: 'Be brief.', stream: false, options: { num_predict: 5, top_k: 10, repeat_penalty: 1.1, num_ctx: 256, presence_penalty: 0.5, stop: ['zzz'] } });
    expect(whole).toMatchObject({ model: 'tiny', done: true, done_reason: 'length', eval_count: 5, response: expect.any(String) });
    const stream = await ollama.generate({ model: 'tiny', prompt: 'Once upon a time', raw: true, stream: true, options: { num_predict: 5 } });
    const parts: { response?: string; done: boolean }[] = [];
    for await (const part of stream) parts.push(part);
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'length' });
    expect(parts.slice(0, -1).every((p) => !p.done && (p.response ?? '').length > 0)).toBe(true);
  });

  it('a generate with only the model loads it; keep_alive 0 unloads it', async () => {
    const loaded = await ollama.generate({ model: 'tiny', prompt: '', stream: false });
    expect(loaded).toMatchObject({ model: 'tiny', response: '', done: true });
    expect((await ps()).map((m) => m.name)).toContain('tiny');
    await ollama.generate({ model: 'tiny', prompt: '', stream: false, keep_alive: 0 });
    expect((await ps()).map((m) => m.name)).not.toContain('tiny');
    await ollama.generate({ model: 'tiny', prompt: 'Hi', stream: false, keep_alive: 0, options: { num_predict: 2 } });
    await expect.poll(async () => (await ps()).map((m) => m.name), { timeout: 10_000 }).not.toContain('tiny');
  });

  it('embed and embeddings answer vectors', async () => {
    const many = await ollama.embed({ model: 'tiny', input: ['a cat', 'a dog'] });
    expect(many.embeddings).toHaveLength(2);
    expect(many.embeddings[0]!.length).toBeGreaterThan(0);
    const one = await ollama.embeddings({ model: 'tiny', prompt: 'a cat' });
    expect(one.embedding.length).toBe(many.embeddings[0]!.length);
    // Unit length, as Ollama's (and OpenAI's) are, so a dot product is the cosine.
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    for (const vector of [...many.embeddings, one.embedding]) expect(norm(vector)).toBeCloseTo(1, 5);
    // dimensions keeps the first ones, normalized again.
    const cut = await ollama.embed({ model: 'tiny', input: 'a cat', dimensions: 8 });
    expect(cut.embeddings[0]).toHaveLength(8);
    expect(norm(cut.embeddings[0]!)).toBeCloseTo(1, 5);
    // No input is no vectors; an input longer than the model embeds is cut unless truncate is false.
    expect((await ollama.embed({ model: 'tiny', input: [] })).embeddings).toEqual([]);
    const long = 'once upon a time there was a cat '.repeat(400);
    expect((await ollama.embed({ model: 'tiny', input: long })).embeddings).toHaveLength(1);
    await expect(ollama.embed({ model: 'tiny', input: long, truncate: false })).rejects.toMatchObject({ status_code: 400 });
    await expect(ollama.embed({ model: 'tiny', input: 'a cat', dimensions: 100_000 })).rejects.toMatchObject({ status_code: 400 });
  });

  it('ps lists loaded models in Ollama\'s shape; murmur\'s own ps is under /murmur/v1', async () => {
    await ollama.generate({ model: 'tiny', prompt: '', stream: false, keep_alive: '10m' });
    const { models } = await ollama.ps();
    const tiny = models.find((m) => m.name === 'tiny');
    expect(tiny).toMatchObject({ model: 'tiny', size: expect.any(Number), size_vram: 0, digest: expect.stringMatching(/^[0-9a-f]{64}$/), details: { family: 'llama' } });
    expect(new Date(tiny!.expires_at).getTime()).toBeGreaterThan(Date.now() + 5 * 60_000);
    const own = (await ps()).find((m) => m.name === 'tiny') as { inFlight: number; contextSize?: number } | undefined;
    expect(own).toMatchObject({ inFlight: 0, contextSize: expect.any(Number) });
    // The context it was loaded with, which murmur's ps says too.
    expect((tiny as unknown as { context_length: number }).context_length).toBe(own!.contextSize);
  });

  it('pull streams status lines ending in success, or answers one object; delete removes the model', async () => {
    const statuses: string[] = [];
    const copy = join(home, 'imports', 'stories260K.gguf');
    for await (const part of await ollama.pull({ model: copy, stream: true })) statuses.push(part.status);
    expect(statuses.at(-1)).toBe('success');
    expect(statuses).toContain('pulling manifest');
    expect((await ollama.list()).models.map((m) => m.name).sort()).toEqual(['stories260k', 'tiny']);
    expect(await ollama.pull({ model: copy, stream: false })).toMatchObject({ status: 'success' });
    // The file tiny was imported from, pulled again, is tiny: no third model.
    expect(await ollama.pull({ model: testModel(GGUF)!, stream: false })).toMatchObject({ status: 'success' });
    expect((await ollama.list()).models.map((m) => m.name).sort()).toEqual(['stories260k', 'tiny']);
    // A model installed from a local file is up to date: pulling it by name again is a success, with nothing fetched.
    const again: string[] = [];
    for await (const part of await ollama.pull({ model: 'tiny', stream: true })) again.push(part.status);
    expect(again).toEqual(['success']);
    expect(await ollama.pull({ model: 'tiny:latest', stream: false })).toMatchObject({ status: 'success' });
    await ollama.delete({ model: 'stories260k' });
    expect((await ollama.list()).models.map((m) => m.name)).toEqual(['tiny']);
    await expect(ollama.delete({ model: 'stories260k' })).rejects.toMatchObject({ status_code: 404, error: "model 'stories260k' not found" });
    // Outside MURMUR_IMPORT_DIRS: refused with its status, before any line.
    await expect(ollama.pull({ model: '/etc/passwd', stream: true })).rejects.toMatchObject({ status_code: expect.any(Number) });
    const refused = await errorOf(await post('/api/pull', { model: '/etc/passwd' }));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(Object.keys(refused.body)).toEqual(['error']);
  });

  it('copy installs the model under a new name: listed, shown, and deleted without the original', async () => {
    expect(await ollama.copy({ source: 'tiny:latest', destination: 'tiny-copy' })).toEqual({ status: 'success' });
    expect((await ollama.list()).models.map((m) => m.name).sort()).toEqual(['tiny', 'tiny-copy']);
    const show = await ollama.show({ model: 'tiny-copy' });
    expect(show.details.family).toBe('llama');
    expect(show.capabilities).toEqual(['completion', 'tools']);
    // Ollama answers 200 with an empty body; a missing source is its 404, an installed destination a 409.
    const copied = await post('/api/copy', { source: 'tiny', destination: 'tiny-copy-2' });
    expect(copied.status).toBe(200);
    expect(await copied.text()).toBe('');
    await expect(ollama.copy({ source: 'nope', destination: 'other' })).rejects.toMatchObject({ status_code: 404, error: "model 'nope' not found" });
    const taken = await errorOf(await post('/api/copy', { source: 'tiny', destination: 'tiny-copy' }));
    expect(taken).toEqual({ status: 409, body: { error: "'tiny-copy' is installed already." } });
    expect((await errorOf(await post('/api/copy', { source: 'tiny', destination: '../x' }))).status).toBe(400);
    expect((await errorOf(await post('/api/copy', { source: 'tiny' }))).status).toBe(400);
    await ollama.delete({ model: 'tiny-copy' });
    await ollama.delete({ model: 'tiny-copy-2' });
    expect((await ollama.list()).models.map((m) => m.name)).toEqual(['tiny']);
    const reply = await ollama.generate({ model: 'tiny', prompt: 'Once', stream: false, options: { num_predict: 2 } });
    expect(reply.done).toBe(true);
  });

  it('bad inputs answer Ollama errors with 4xx statuses, never a 5xx', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/api/chat', '{not json', 400, /JSON/],
      ['/api/chat', { model: 'tiny', messages: 'hi' }, 400, /messages/],
      ['/api/chat', { model: 'nope', messages: [{ role: 'user', content: 'hi' }] }, 404, /^model 'nope' not found$/],
      ['/api/chat', { model: 'tiny', messages: [{ role: 'user', content: 'hi', images: ['aGk='] }] }, 400, /no vision/],
      ['/api/chat', { model: 'vad', messages: [{ role: 'user', content: 'hi' }], stream: false }, 400, /./],
      ['/api/chat', { model: 'tiny', messages: [{ role: 'user', content: 'once '.repeat(4000) }], options: { num_predict: 2 } }, 400, /context|long|tokens/i],
      // stories260K has neither a thinking mode nor fill-in-the-middle tokens: both are refused, streamed or not.
      ['/api/chat', { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], think: true }, 400, /no thinking mode/],
      ['/api/generate', { model: 'tiny', prompt: 'hi', think: 'high', stream: false }, 400, /no thinking mode/],
      ['/api/generate', { model: 'tiny', prompt: 'def f(', suffix: '  return x' }, 400, /fill in the middle/],
      ['/api/generate', { model: 'tiny', prompt: 3 }, 400, /prompt/],
      ['/api/generate', { model: 'nope', prompt: 'hi' }, 404, /^model 'nope' not found$/],
      ['/api/generate', { model: 'tiny', prompt: 'hi', images: ['aGk='] }, 400, /no vision/],
      ['/api/generate', { model: 'tiny', prompt: 'hi', keep_alive: 'soon' }, 400, /./],
      ['/api/show', { model: 'nope' }, 404, /^model 'nope' not found$/],
      ['/api/show', { model: 'vad' }, 404, /not found/],
      ['/api/show', '[]', 400, /JSON object/],
      ['/api/embed', { model: 'tiny', input: 5 }, 400, /input/],
      ['/api/embed', { model: 'nope', input: 'x' }, 404, /^model 'nope' not found$/],
      ['/api/embed', { model: 'vad', input: 'x' }, 400, /./],
      ['/api/embeddings', { model: 'tiny' }, 400, /prompt/],
    ];
    for (const [path, body, status, message] of cases) {
      const { status: got, body: error } = await errorOf(await post(path, body));
      expect({ path, body, got }).toEqual({ path, body, got: status });
      expect(Object.keys(error)).toEqual(['error']);
      expect(error.error).toMatch(message);
    }
    // OpenAI's completions take a suffix the same way, refused in OpenAI's shape.
    const infill = await errorOf(await post('/v1/completions', { model: 'tiny', prompt: 'def f(', suffix: '  return x' }));
    expect(infill).toMatchObject({ status: 400, body: { error: { param: 'suffix', message: expect.stringMatching(/fill in the middle/) } } });
    // A path Ollama does not have either is a 404 in the same shape (create, push and copy say "not supported": above).
    const unknown = await errorOf(await post('/api/frobnicate', {}));
    expect(unknown).toMatchObject({ status: 404, body: { error: expect.stringContaining('/api/frobnicate') } });
    await expect(ollama.show({ model: 'nope' })).rejects.toMatchObject({ status_code: 404, error: "model 'nope' not found" });
  });

  it('a client that leaves mid-stream stops its generation, and the daemon keeps serving', async () => {
    const aborted = async () => Number(/murmur_generations_total\{model="tiny",outcome="aborted"\} (\d+)/.exec(await (await fetch(`${daemon.url}/metrics`)).text())?.[1] ?? 0);
    const before = await aborted();
    const client = new Ollama({ host: daemon.url });
    const stream = await client.generate({ model: 'tiny', prompt: 'Once upon a time', stream: true, options: { num_predict: 100_000 } });
    let pieces = 0;
    try {
      for await (const part of stream) {
        if (part.response && ++pieces === 3) {
          stream.abort();
          break;
        }
      }
    } catch {
      // The client may end the loop quietly or with an abort error.
    }
    expect(pieces).toBe(3);
    await expect.poll(async () => (await ps()).find((m) => m.name === 'tiny')?.inFlight, { timeout: 20_000 }).toBe(0);
    await expect.poll(aborted, { timeout: 20_000 }).toBe(before + 1);
    const reply = await ollama.generate({ model: 'tiny', prompt: 'Hi', stream: false, options: { num_predict: 2 } });
    expect(reply.done_reason).toBe('length');
  });
});
