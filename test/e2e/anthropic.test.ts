import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Anthropic's Messages API on a real `murmur serve` with stories260K,
 * through the official @anthropic-ai/sdk client: messages.create and
 * messages.stream (the events in Anthropic's order), a forced tool_use, a
 * stop sequence, countTokens, the bad inputs each in Anthropic's error shape
 * (never a 5xx), x-api-key beside Bearer, and a client that leaves
 * mid-stream stopping its generation; output_config.format as structured
 * output. stories260K never stops by itself,
 * so replies end at max_tokens.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VAD = 'silero-vad/silero_vad.onnx';
const KEY = 'anthropic-e2e-key';
const skip = missingModels(GGUF, VAD);
let home: string;
let daemon: Daemon;
let client: Anthropic;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: '', MURMUR_API_KEY: KEY, MURMUR_DEBUG: '' });
const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }) =>
  fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
/** An error answer: its status and Anthropic's `{type:'error', error:{type, message}}`. */
const errorOf = async (res: Response) => ({ status: res.status, body: (await res.json()) as { type: string; error: { type: string; message: string } } });
const weather = { name: 'get_weather', description: 'The weather in a city.', input_schema: { type: 'object' as const, properties: { city: { type: 'string', maxLength: 12 } }, required: ['city'], additionalProperties: false } };

describe.skipIf(skip)(`Anthropic Messages API on murmur serve${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-anthropic-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', testModel(VAD)!, '--name', 'vad');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    client = new Anthropic({ baseURL: daemon.url, apiKey: KEY, maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('messages.create answers a message ending at max_tokens, with usage', async () => {
    const message = await client.messages.create({ model: 'tiny', max_tokens: 8, system: 'You tell stories.', messages: [{ role: 'user', content: 'Once upon a time' }], metadata: { user_id: 'u1' } });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'tiny', stop_reason: 'max_tokens', stop_sequence: null });
    expect(message.id).toMatch(/^msg_/);
    expect(message.content[0]).toMatchObject({ type: 'text', text: expect.any(String) });
    expect(message.usage.output_tokens).toBe(8);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
  });

  it('a stop sequence ends the text: stop_reason stop_sequence, naming it', async () => {
    // temperature is taken though this SDK no longer types it.
    const greedy = { temperature: 0 } as object;
    const first = await client.messages.create({ model: 'tiny', max_tokens: 24, ...greedy, messages: [{ role: 'user', content: 'Hi' }] });
    const text = (first.content[0] as { text: string }).text;
    const word = text.split(/\s+/).filter((w) => /^[a-z]{3,}$/.test(w))[1];
    expect(word).toBeDefined();
    const stopped = await client.messages.create({ model: 'tiny', max_tokens: 24, ...greedy, stop_sequences: [word!], messages: [{ role: 'user', content: 'Hi' }] });
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: word });
  });

  it('messages.stream sends the events in order and joins them into the message', async () => {
    const stream = client.messages.stream({ model: 'tiny', max_tokens: 6, messages: [{ role: 'user', content: 'Once upon a time' }] });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    const message = await stream.finalMessage();
    expect(types.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t !== 'content_block_delta' && t !== 'ping')).toEqual(['message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(types).toContain('content_block_delta');
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(6);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect((message.content[0] as { text: string }).text).toBe(text);
  });

  it("tool_choice {type:'tool'} gives a tool_use block with its input, whole and streamed; a tool round trip is taken", async () => {
    const message = await client.messages.create({ model: 'tiny', max_tokens: 80, tools: [weather], tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'Weather?' }] });
    expect(message.stop_reason).toBe('tool_use');
    const use = message.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', id: expect.any(String) });
    expect(typeof (use as { input: { city: unknown } }).input.city).toBe('string');

    const stream = client.messages.stream({ model: 'tiny', max_tokens: 80, tools: [weather], tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'Weather?' }] });
    const streamed = await stream.finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: expect.any(String) } });

    const after = await client.messages.create({
      model: 'tiny',
      max_tokens: 4,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [use as Anthropic.ToolUseBlockParam] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as { id: string }).id, content: [{ type: 'text', text: 'Sunny' }] }, { type: 'text', text: 'And?' }] },
      ],
    });
    expect(after.type).toBe('message');
  });

  it('output_config.format gives JSON that holds to its schema', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, age: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['name', 'age'], additionalProperties: false };
    const message = await client.messages.create({ model: 'tiny', max_tokens: 60, output_config: { format: { type: 'json_schema', schema } }, messages: [{ role: 'user', content: 'Who?' }] });
    const value = JSON.parse((message.content[0] as { text: string }).text) as { name: string; age: number };
    expect(value.name.length).toBeLessThanOrEqual(8);
    expect(value.age).toBeGreaterThanOrEqual(1);
    expect(value.age).toBeLessThanOrEqual(9);
  });

  it("models.list and models.retrieve answer in Anthropic's shape, the chat models only; OpenAI's clients keep theirs", async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['tiny']);
    expect(page.data[0]).toMatchObject({ type: 'model', id: 'tiny', display_name: 'tiny', created_at: expect.any(String) });
    expect(await client.models.retrieve('tiny')).toMatchObject({ type: 'model', id: 'tiny' });
    const openai = (await (await fetch(`${daemon.url}/v1/models`, { headers: { Authorization: `Bearer ${KEY}` } })).json()) as { object: string; data: { id: string }[] };
    expect(openai.object).toBe('list');
    expect(openai.data.map((m) => m.id).sort()).toEqual(['tiny', 'vad']);
  });

  it('countTokens counts the prompt as a generation sees it', async () => {
    const short = await client.messages.countTokens({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }] });
    const long = await client.messages.countTokens({ model: 'tiny', system: 'You tell long stories about cats.', messages: [{ role: 'user', content: 'Hi there, tell me a story' }] });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens);
    const message = await client.messages.create({ model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.usage.input_tokens).toBe(short.input_tokens);
  });

  it("bad input is answered in Anthropic's error shape with a 4xx, never a 5xx", async () => {
    const cases: [string, unknown, number, string, RegExp][] = [
      ['/v1/messages', '{"model": ', 400, 'invalid_request_error', /not valid JSON/],
      ['/v1/messages', { model: 'tiny', max_tokens: 'ten', messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /max_tokens/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, messages: [{ role: 'robot', content: 'x' }] }, 400, 'invalid_request_error', /messages\[0\]\.role/],
      ['/v1/messages', { model: 'tiny', messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /max_tokens/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, temperature: 1.5, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /temperature/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, top_k: -1, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /top_k/],
      // stories260K has no thinking mode: asking it to think is refused.
      ['/v1/messages', { model: 'tiny', max_tokens: 40, thinking: { type: 'enabled', budget_tokens: 16 }, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /no thinking mode/],
      ['/v1/messages', { model: 'no-such-model', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }, 404, 'not_found_error', /no-such-model/],
      ['/v1/messages', { model: 'vad', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /'vad' is a vad model/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] }, 400, 'invalid_request_error', /'image'/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, tools: [weather], tool_choice: { type: 'tool', name: 'nope' }, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', /nope/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'once upon a time there was a cat '.repeat(2000) }] }, 400, 'invalid_request_error', /tokens/],
      ['/v1/messages', { model: 'tiny', max_tokens: 4, stream: true, messages: [{ role: 'user', content: 'once upon a time there was a cat '.repeat(2000) }] }, 400, 'invalid_request_error', /tokens/],
      ['/v1/messages/count_tokens', { model: 'tiny', messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 400, 'invalid_request_error', /'document'/],
      ['/v1/messages/nothing', {}, 404, 'not_found_error', /messages\/nothing/],
    ];
    for (const [path, body, status, type, message] of cases) {
      const answer = await errorOf(await post(path, body));
      expect({ path, sent: typeof body === 'string' ? body : JSON.stringify(body).slice(0, 200), ...answer }).toMatchObject({ status, body: { type: 'error', error: { type, message: expect.stringMatching(message) } } });
    }
    // Through the SDK, the same errors are its typed ones.
    await expect(client.messages.create({ model: 'no-such-model', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.messages.create({ model: 'tiny', max_tokens: 40, thinking: { type: 'enabled', budget_tokens: 16 }, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    // top_k is taken: 1 is greedy whatever the temperature (which newer SDKs no longer type).
    const greedy = await client.messages.create({ model: 'tiny', max_tokens: 8, ...({ temperature: 0 } as object), messages: [{ role: 'user', content: 'Once' }] });
    const topK = await client.messages.create({ model: 'tiny', max_tokens: 8, ...({ temperature: 1, top_k: 1 } as object), messages: [{ role: 'user', content: 'Once' }] });
    expect(topK.content).toEqual(greedy.content);
  });

  it("x-api-key and Bearer both work on /v1/messages; a wrong key is a 401 authentication_error; OpenAI's routes keep their shape", async () => {
    const stranger = new Anthropic({ baseURL: daemon.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(stranger.messages.create({ model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const wrong = await errorOf(await post('/v1/messages', {}, { 'x-api-key': 'wrong' }));
    expect(wrong).toMatchObject({ status: 401, body: { type: 'error', error: { type: 'authentication_error' } } });
    const none = await errorOf(await post('/v1/messages/count_tokens', {}, {}));
    expect(none).toMatchObject({ status: 401, body: { type: 'error', error: { type: 'authentication_error', message: expect.stringMatching(/x-api-key/) } } });
    const bearer = await post('/v1/messages', { model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: 'x' }] }, { Authorization: `Bearer ${KEY}` });
    expect(bearer.status).toBe(200);
    // x-api-key does not open the other routes, and their errors stay OpenAI's.
    const openai = await post('/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'x' }] });
    expect(openai.status).toBe(401);
    expect(((await openai.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const openaiClient = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: KEY, maxRetries: 0 });
    await expect(openaiClient.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('a client that leaves mid-stream stops its generation, and the daemon keeps serving', async () => {
    const ps = async () => ((await (await fetch(`${daemon.url}/murmur/v1/ps`, { headers: { Authorization: `Bearer ${KEY}` } })).json()) as { models: { name: string; inFlight: number }[] }).models.find((m) => m.name === 'tiny')?.inFlight;
    const aborted = async () => {
      const text = await (await fetch(`${daemon.url}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
      return Number(/murmur_generations_total\{model="tiny",outcome="aborted"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await aborted();
    const controller = new AbortController();
    const stream = await client.messages.create({ model: 'tiny', max_tokens: 100_000, stream: true, messages: [{ role: 'user', content: 'Once upon a time' }] }, { signal: controller.signal });
    let deltas = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && ++deltas === 3) {
          controller.abort();
          break;
        }
      }
    } catch {
      // The client may end the loop quietly or with an abort error.
    }
    expect(deltas).toBe(3);
    await expect.poll(ps, { timeout: 20_000 }).toBe(0);
    await expect.poll(aborted, { timeout: 20_000 }).toBe(before + 1);
    const reply = await client.messages.create({ model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: 'Hi' }] });
    expect(reply.stop_reason).toBe('max_tokens');
  });
});
