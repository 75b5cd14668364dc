import { describe, expect, it } from 'vitest';
import { createApp, type RequestLogEntry } from '../../src/server/app.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** The parts of the JSON bodies these tests read. */
interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
interface ChatCompletionBody {
  object: string;
  id: string;
  choices: { message: { role: string; content: string | null; tool_calls?: unknown[] }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface EmbeddingsBody {
  data: { object: string; index: number; embedding: number[] | string }[];
}
interface LoadedBody {
  name: string;
  kind: string;
  memoryBytes: number;
  loadedAt: string;
  expiresAt: string | null;
}

/** A response's JSON body, typed as what the test expects to find. */
const bodyOf = async <T>(res: Response): Promise<T> => (await res.json()) as T;

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'stories', messages: [{ role: 'user', content }], ...extra });

/** The `data:` payloads of an SSE body, in order. */
const sseData = (text: string): string[] =>
  text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true);
      return block.slice('data: '.length);
    });

const setup = (options: Parameters<typeof createApp>[1] = {}) => {
  const runtime = createFakeRuntime();
  const log: RequestLogEntry[] = [];
  const app = createApp(runtime, { log: (e) => log.push(e as RequestLogEntry), ...options });
  return { runtime, app, log };
};

describe('chat completions', () => {
  it('answers whole with usage and converts the sampling options', async () => {
    const { app, runtime } = setup();
    const res = await app.request('/v1/chat/completions', json(chat('hi', { max_completion_tokens: 3, temperature: 0.5, top_p: 0.9, seed: 7, stop: 'END' })));
    expect(res.status).toBe(200);
    const body = await bodyOf<ChatCompletionBody>(res);
    expect(body.object).toBe('chat.completion');
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices[0].message).toMatchObject({ role: 'assistant', content: 'Once upon a' });
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    expect(runtime.calls[0]).toMatchObject({ maxTokens: 3, temperature: 0.5, topP: 0.9, seed: 7, stop: ['END'] });
  });

  it('takes max_tokens, stop lists, system/assistant/tool messages and text parts', async () => {
    const { app, runtime } = setup();
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'weather' }, { type: 'text', text: '?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    ];
    const res = await app.request('/v1/chat/completions', json({ model: 'stories', messages, max_tokens: 10, stop: ['a', 'b'] }));
    expect(res.status).toBe(200);
    expect((await bodyOf<ChatCompletionBody>(res)).choices[0].finish_reason).toBe('stop');
    expect(runtime.calls[0]).toMatchObject({
      maxTokens: 10,
      stop: ['a', 'b'],
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get', arguments: '{}' }] },
        { role: 'tool', content: 'sunny', toolCallId: 'c1' },
      ],
    });
  });

  it('passes json_schema response formats and returns tool calls', async () => {
    const { app, runtime } = setup();
    const schema = { type: 'object', properties: { name: { type: 'string' } } };
    const res = await app.request('/v1/chat/completions', json(chat('x', { response_format: { type: 'json_schema', json_schema: { name: 'p', schema } } })));
    expect(JSON.parse((await bodyOf<ChatCompletionBody>(res)).choices[0].message.content!)).toEqual({ name: 'Tim' });
    expect(runtime.calls[0]).toMatchObject({ responseFormat: { type: 'json_schema', schema, name: 'p' } });

    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }];
    const called = await bodyOf<ChatCompletionBody>(await app.request('/v1/chat/completions', json(chat('x', { tools, tool_choice: 'auto' }))));
    expect(called.choices[0].finish_reason).toBe('tool_calls');
    expect(called.choices[0].message.content).toBeNull();
    expect(called.choices[0].message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }]);
  });

  it('streams chunks: role first, content deltas, finish reason, usage, [DONE]', async () => {
    const { app } = setup();
    const res = await app.request('/v1/chat/completions', json(chat('hi', { stream: true, stream_options: { include_usage: true } })));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Once upon a time');
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(finish.usage).toBeNull();
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 } });
  });

  it('streams without usage unless asked, and tool calls as a delta', async () => {
    const { app } = setup();
    const tools = [{ type: 'function', function: { name: 'weather' } }];
    const data = sseData(await (await app.request('/v1/chat/completions', json(chat('x', { stream: true, tools })))).text());
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.at(-2).choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, id: 'call_1', function: { name: 'weather' } });
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('ends a stream that fails after its first token with an error frame', async () => {
    const { app } = setup();
    const data = sseData(await (await app.request('/v1/chat/completions', json(chat('fail late', { stream: true })))).text());
    expect(JSON.parse(data.at(-1)!).error).toMatchObject({ type: 'server_error', code: 'internal' });
  });

  it('aborts the generation when the client goes away mid-stream', async () => {
    const { app, runtime } = setup();
    const client = new AbortController();
    const res = await app.request(new Request('http://localhost/v1/chat/completions', { ...json(chat('slow', { stream: true })), signal: client.signal }));
    const reader = res.body!.getReader();
    await reader.read();
    expect(runtime.running).toBe(1);
    client.abort();
    await reader.cancel().catch(() => {});
    await expect.poll(() => runtime.running).toBe(0);
    expect(runtime.aborted).toBe(1);
    await expect.poll(async () => (await app.request('/metrics')).text()).toContain('murmur_generations_total{model="stories",outcome="aborted"} 1');
  });
});

describe('completions and embeddings', () => {
  it('completes a prompt (string or list of one), whole and streamed', async () => {
    const { app } = setup();
    const whole = await (await app.request('/v1/completions', json({ model: 'stories', prompt: ['Once'], max_tokens: 2 }))).json();
    expect(whole).toMatchObject({ object: 'text_completion', choices: [{ text: 'Once upon', finish_reason: 'length' }], usage: { completion_tokens: 2 } });
    const data = sseData(await (await app.request('/v1/completions', json({ model: 'stories', prompt: 'Once', stream: true }))).text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe('Once upon a time');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('embeds a string or a list, as floats or base64', async () => {
    const { app } = setup();
    const one = await (await app.request('/v1/embeddings', json({ model: 'embed', input: 'abc' }))).json();
    expect(one).toMatchObject({ object: 'list', model: 'embed', data: [{ object: 'embedding', index: 0, embedding: [3, 0.5, -0.25] }], usage: { prompt_tokens: 2, total_tokens: 2 } });
    const many = await bodyOf<EmbeddingsBody>(await app.request('/v1/embeddings', json({ model: 'embed', input: ['a', 'bb'], encoding_format: 'base64' })));
    expect(many.data).toHaveLength(2);
    expect(typeof many.data[1].embedding).toBe('string');
    const bytes = Buffer.from(many.data[1].embedding as string, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4))).toEqual([2, 0.5, -0.25]);
  });
});

describe('bad input', () => {
  const cases: [string, string, unknown, number, Record<string, unknown>][] = [
    ['malformed JSON', '/v1/chat/completions', '{"model": "stories",', 400, { type: 'invalid_request_error', code: 'invalid_request' }],
    ['a body that is not an object', '/v1/chat/completions', '[1,2]', 400, { type: 'invalid_request_error' }],
    ['a missing model', '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }, 400, { param: 'model' }],
    ['missing messages', '/v1/chat/completions', { model: 'stories' }, 400, { param: 'messages' }],
    ['a wrong-typed temperature', '/v1/chat/completions', chat('x', { temperature: 'hot' }), 400, { param: 'temperature' }],
    ['a bad role', '/v1/chat/completions', { model: 'stories', messages: [{ role: 'robot', content: 'x' }] }, 400, { param: 'messages[0].role' }],
    ['n beyond the parallel sequences', '/v1/chat/completions', chat('x', { n: 5 }), 400, { param: 'n' }],
    ['an unknown model', '/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 404, { code: 'model_not_found', param: 'model' }],
    ['a model of the wrong kind', '/v1/chat/completions', { model: 'voice', messages: [{ role: 'user', content: 'x' }] }, 400, { code: 'model_kind_mismatch' }],
    ['embeddings from a chat model', '/v1/embeddings', { model: 'stories', input: 'x' }, 400, { code: 'model_kind_mismatch' }],
    ['an empty embedding input', '/v1/embeddings', { model: 'embed', input: [''] }, 400, { param: 'input' }],
    ['a prompt list of two', '/v1/completions', { model: 'stories', prompt: ['a', 'b'] }, 400, { param: 'prompt' }],
    ['a too-long prompt', '/v1/chat/completions', chat('x'.repeat(3000)), 400, { code: 'context_length_exceeded' }],
    ['a bad keep_alive', '/murmur/v1/load', { model: 'stories', keep_alive: 'soon' }, 400, { param: 'keep_alive' }],
  ];
  it.each(cases)('%s', async (_name, path, body, status, error) => {
    const { app } = setup();
    const res = await app.request(path, json(body));
    expect(res.status).toBe(status);
    const payload = await bodyOf<ErrorBody>(res);
    expect(payload.error).toMatchObject(error);
    expect(typeof payload.error.message).toBe('string');
    expect(Object.keys(payload.error)).toEqual(expect.arrayContaining(['message', 'type', 'param', 'code']));
  });

  it('names both lengths when the prompt is too long', async () => {
    const { app } = setup();
    const body = await bodyOf<ErrorBody>(await app.request('/v1/chat/completions', json(chat('x'.repeat(3000)))));
    expect(body.error.message).toMatch(/3000.*2048/);
  });

  it('answers 503 with Retry-After when the queue is full, also for streams', async () => {
    const { app } = setup();
    for (const stream of [false, true]) {
      const res = await app.request('/v1/chat/completions', json(chat('overload', { stream })));
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await bodyOf<ErrorBody>(res)).error.code).toBe('overloaded');
    }
  });

  it('refuses a body over the limit with 413', async () => {
    const { app } = setup({ bodyLimitBytes: 1000 });
    const res = await app.request('/v1/chat/completions', json(chat('x'.repeat(2000))));
    expect(res.status).toBe(413);
    expect((await bodyOf<ErrorBody>(res)).error.code).toBe('payload_too_large');
  });

  it('turns an unexpected error into a 500 and keeps serving', async () => {
    const { app, runtime } = setup();
    runtime.listModels = async () => {
      throw new TypeError('boom');
    };
    const res = await app.request('/v1/models');
    expect(res.status).toBe(500);
    expect((await bodyOf<ErrorBody>(res)).error).toMatchObject({ type: 'server_error', message: 'Internal server error.' });
    expect((await app.request('/health')).status).toBe(200);
  });

  it('answers unknown routes with an OpenAI-shaped 404', async () => {
    const { app } = setup();
    const res = await app.request('/v1/nothing');
    expect(res.status).toBe(404);
    expect((await bodyOf<ErrorBody>(res)).error.code).toBe('unknown_url');
  });
});

describe('auth, CORS, models, admin, health and metrics', () => {
  it('requires the bearer key everywhere but /health and Ollama\'s probes', async () => {
    const { app } = setup({ apiKey: 'sekret' });
    expect((await app.request('/health')).status).toBe(200);
    // Ollama's clients probe these first, and Ollama has no keys: they say only that it runs, and its version.
    expect((await app.request('/')).status).toBe(200);
    expect((await app.request('/api/version')).status).toBe(200);
    expect((await app.request('/api/tags')).status).toBe(401);
    const missing = await app.request('/v1/models');
    expect(missing.status).toBe(401);
    expect((await bodyOf<ErrorBody>(missing)).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
    expect((await app.request('/v1/models', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await app.request('/metrics')).status).toBe(401);
    expect((await app.request('/murmur/v1/ps')).status).toBe(401);
    expect((await app.request('/v1/models', { headers: { Authorization: 'Bearer sekret' } })).status).toBe(200);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const { app } = setup({ cors: ['https://app.example'], apiKey: 'k' });
    const preflight = await app.request('/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await app.request('/health', { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const none = setup().app;
    expect((await none.request('/health', { headers: { Origin: 'https://app.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lists installed models and shows one', async () => {
    const { app } = setup();
    const list = await bodyOf<{ object: string; data: { id: string }[] }>(await app.request('/v1/models'));
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id).sort()).toEqual(['embed', 'stories', 'voice']);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: 'murmur', created: 1735787045 });
    expect(await (await app.request('/v1/models/stories')).json()).toMatchObject({ id: 'stories', object: 'model' });
    const missing = await app.request('/v1/models/nope');
    expect(missing.status).toBe(404);
    expect((await bodyOf<ErrorBody>(missing)).error.code).toBe('model_not_found');
  });

  it('loads, lists, unloads and deletes through /api', async () => {
    const { app } = setup();
    const loaded = await bodyOf<{ model: LoadedBody }>(await app.request('/murmur/v1/load', json({ model: 'stories', keep_alive: '10m' })));
    expect(loaded.model).toMatchObject({ name: 'stories', kind: 'llm', memoryBytes: 4096 });
    expect(Date.parse(loaded.model.expiresAt!) - Date.parse(loaded.model.loadedAt)).toBeGreaterThan(9 * 60_000);
    const forever = await bodyOf<{ model: LoadedBody }>(await app.request('/murmur/v1/load', json({ model: 'embed', keep_alive: -1 })));
    expect(forever.model.expiresAt).toBeNull();
    const ps = await bodyOf<{ models: LoadedBody[] }>(await app.request('/murmur/v1/ps'));
    expect(ps.models.map((m) => m.name).sort()).toEqual(['embed', 'stories']);
    expect(await (await app.request('/murmur/v1/unload', json({ model: 'stories' }))).json()).toEqual({ unloaded: ['stories'] });
    expect(await (await app.request('/murmur/v1/unload', json({ all: true }))).json()).toEqual({ unloaded: ['embed'] });
    expect((await app.request('/murmur/v1/unload', json({}))).status).toBe(400);
    expect((await app.request('/murmur/v1/load', json({ model: 'nope' }))).status).toBe(404);
    expect(await (await app.request('/murmur/v1/models/voice', { method: 'DELETE' })).json()).toEqual({ deleted: 'voice' });
    expect((await app.request('/murmur/v1/models/voice', { method: 'DELETE' })).status).toBe(404);
  });

  it('streams pull progress as NDJSON ending with the installed model', async () => {
    const { app } = setup();
    const res = await app.request('/murmur/v1/pull', json({ model: '/tmp/x.gguf', name: 'x' }));
    expect(res.headers.get('content-type')).toMatch(/ndjson/);
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.status)).toEqual(['resolving', 'downloading', 'success', 'installed']);
    expect(lines.at(-1).model).toMatchObject({ name: 'x', kind: 'llm' });
  });

  it('writes one log entry per request and Prometheus metrics', async () => {
    const { app, log } = setup();
    await app.request('/murmur/v1/load', json({ model: 'stories' }));
    await app.request('/v1/chat/completions', json(chat('hi')));
    await app.request('/v1/chat/completions', json({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
    expect(log.at(-2)).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, model: 'stories' });
    expect(log.at(-1)).toMatchObject({ status: 404, model: 'nope' });
    expect(typeof log.at(-1)!.ms).toBe('number');

    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE murmur_http_requests_total counter');
    expect(text).toContain('murmur_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 1');
    expect(text).toContain('murmur_http_requests_total{route="/v1/chat/completions",method="POST",status="404"} 1');
    expect(text).toContain('murmur_http_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"} 2');
    expect(text).toContain('murmur_tokens_generated_total{model="stories"} 4');
    expect(text).toContain('murmur_loaded_models 1');
    expect(text).toMatch(/murmur_queue_depth\{model="stories"\} 0/);
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-+\d.eInf]+)$/);
    }
  });
});

describe('speech routes over the fake runtime', () => {
  it('says text as 16-bit WAV, refuses a chat model and lists voices', async () => {
    const { app } = setup();
    const res = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'wav' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sample-rate')).toBe('16000');
    const wav = new Uint8Array(await res.arrayBuffer());
    expect(Buffer.from(wav.subarray(0, 4)).toString('latin1')).toBe('RIFF');
    // 'hello' is 5 characters of 10 ms at 16 kHz: 800 samples of 2 bytes after the 44-byte header.
    expect(wav.length).toBe(44 + 800 * 2);

    const wrong = await app.request('/v1/audio/speech', json({ model: 'stories', input: 'hello' }));
    expect(wrong.status).toBe(400);
    expect((await bodyOf<ErrorBody>(wrong)).error.code).toBe('model_kind_mismatch');

    const voices = await bodyOf<{ data: { model: string; default_voice: string | null; voices: { name: string }[] }[] }>(await app.request('/v1/audio/voices'));
    expect(voices.data).toEqual([{ model: 'voice', default_voice: 'default', voices: [{ name: 'default', id: 0 }] }]);
  });

  it("answers pcm at OpenAI's 24 kHz, or at the rate sample_rate asks for", async () => {
    const { app } = setup();
    // 'hello' is 800 samples at 16 kHz (50 ms); at 24 kHz that is exactly 1200 samples of 2 bytes.
    const pcm = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'pcm' }));
    expect(pcm.headers.get('content-type')).toBe('audio/pcm');
    expect(pcm.headers.get('x-sample-rate')).toBe('24000');
    expect((await pcm.arrayBuffer()).byteLength).toBe(1200 * 2);

    const native = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'pcm', sample_rate: 'native' }));
    expect(native.headers.get('x-sample-rate')).toBe('16000');
    expect((await native.arrayBuffer()).byteLength).toBe(800 * 2);

    const wav8k = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'wav', sample_rate: 8000 }));
    expect(wav8k.headers.get('x-sample-rate')).toBe('8000');
    expect((await wav8k.arrayBuffer()).byteLength).toBe(44 + 400 * 2);

    const sse = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'pcm', stream_format: 'sse' }));
    expect(sse.headers.get('x-sample-rate')).toBe('24000');
    const frames = sseData(await sse.text()).map((d) => JSON.parse(d) as { type: string; audio?: string; sample_rate?: number });
    expect(frames.filter((f) => f.type === 'speech.audio.delta').reduce((n, f) => n + Buffer.from(f.audio!, 'base64').length, 0)).toBe(1200 * 2);
    expect(frames.at(-1)).toMatchObject({ type: 'speech.audio.done', sample_rate: 24000 });

    const bad = await app.request('/v1/audio/speech', json({ model: 'voice', input: 'hello', response_format: 'pcm', sample_rate: 100 }));
    expect(bad.status).toBe(400);
    expect((await bodyOf<ErrorBody>(bad)).error.param).toBe('sample_rate');
  });
});
