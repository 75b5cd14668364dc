import { dirname } from 'node:path';
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ModelNotFoundError } from '../../src/errors.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local-runtime.js';
import { createApp, type RequestLogEntry } from '../../src/server/app.js';
import type { InstalledModel } from '../../src/store/types.js';
import type { ChatRequest, CompletionRequest, GenerationResult, TokenLogprob } from '../../src/types/chat.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * OpenAI's sampling and output parameters on /v1/chat/completions,
 * /v1/completions and /v1/embeddings: each honoured, or refused with a 400
 * naming it, never accepted and dropped. The first part drives createApp
 * over the fake runtime (validation, plumbing, shapes, n, x-request-id);
 * the second over a LocalRuntime on the real stories260K, where the
 * parameters must change what the model does.
 */

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
interface TokenBody {
  token: string;
  logprob: number;
  bytes: number[] | null;
}
interface ChatLogprobs {
  content: (TokenBody & { top_logprobs: TokenBody[] })[] | null;
}
interface ChatBody {
  choices: { index: number; message: { content: string | null }; logprobs: ChatLogprobs | null; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface ChatChunk {
  choices: { index: number; delta: { role?: string; content?: string }; logprobs: ChatLogprobs | null; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}
interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[] | null;
  text_offset: number[];
}
interface CompletionBody {
  choices: { index: number; text: string; logprobs: CompletionLogprobs | null; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

const bodyOf = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'stories', messages: [{ role: 'user', content }], ...extra });
const events = async <T>(res: Response): Promise<T[]> =>
  (await res.text())
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => block.slice('data: '.length))
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as T);
const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

/** The fake runtime, its generations reporting a made-up logprob per piece when asked for them. */
const setup = () => {
  const runtime = createFakeRuntime();
  const log: RequestLogEntry[] = [];
  const lp = (text: string): TokenLogprob => ({ token: text, logprob: -0.5, bytes: utf8(text), top: [{ token: text, logprob: -0.5, bytes: utf8(text) }, { token: 'x', logprob: -1.5, bytes: [120] }] });
  const withLogprobs =
    <R extends ChatRequest | CompletionRequest>(run: (request: R) => Promise<GenerationResult>) =>
    async (request: R): Promise<GenerationResult> => {
      if (request.logprobs === undefined) return run(request);
      const all: TokenLogprob[] = [];
      const result = await run({ ...request, onToken: (text: string) => (all.push(lp(text)), request.onToken?.(text, [lp(text)])) });
      return { ...result, logprobs: all };
    };
  runtime.chat = withLogprobs(runtime.chat);
  runtime.complete = withLogprobs(runtime.complete);
  const app = createApp(runtime, { log: (e) => log.push(e as RequestLogEntry) });
  return { runtime, app, log };
};

describe('OpenAI parameters, over the fake runtime', () => {
  it('applies OpenAI’s defaults when temperature and top_p are absent: 1 and 1, not greedy', async () => {
    const { app, runtime } = setup();
    expect((await app.request('/v1/chat/completions', json(chat('hi')))).status).toBe(200);
    expect((await app.request('/v1/completions', json({ model: 'stories', prompt: 'Once' }))).status).toBe(200);
    expect(runtime.calls.map((c) => [c.temperature, c.topP])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    await app.request('/v1/chat/completions', json(chat('hi', { temperature: 0, top_p: 0.5 })));
    expect(runtime.calls[2]).toMatchObject({ temperature: 0, topP: 0.5 });
  });

  it('passes presence_penalty, frequency_penalty and logit_bias on to the core, and leaves zero ones out', async () => {
    const { app, runtime } = setup();
    await app.request('/v1/chat/completions', json(chat('hi', { presence_penalty: 0.5, frequency_penalty: -1, logit_bias: { '12': -100, '7': 3.5 } })));
    expect(runtime.calls[0]).toMatchObject({ presencePenalty: 0.5, frequencyPenalty: -1, logitBias: { '12': -100, '7': 3.5 } });
    await app.request('/v1/completions', json({ model: 'stories', prompt: 'Once', frequency_penalty: 2, logit_bias: { '0': 100 } }));
    expect(runtime.calls[1]).toMatchObject({ frequencyPenalty: 2, logitBias: { '0': 100 } });
    await app.request('/v1/chat/completions', json(chat('hi', { presence_penalty: 0, frequency_penalty: 0, logit_bias: {} })));
    expect(runtime.calls[2]).not.toHaveProperty('presencePenalty');
    expect(runtime.calls[2]).not.toHaveProperty('frequencyPenalty');
    expect(runtime.calls[2]).not.toHaveProperty('logitBias');
  });

  const refusals: [string, string, unknown, string][] = [
    ['presence_penalty above 2', '/v1/chat/completions', chat('x', { presence_penalty: 2.5 }), 'presence_penalty'],
    ['frequency_penalty below -2', '/v1/completions', { model: 'stories', prompt: 'x', frequency_penalty: -3 }, 'frequency_penalty'],
    ['a logit_bias above 100', '/v1/chat/completions', chat('x', { logit_bias: { '5': 101 } }), 'logit_bias.5'],
    ['a logit_bias key that is no token id', '/v1/chat/completions', chat('x', { logit_bias: { hello: 1 } }), 'logit_bias.hello'],
    ['top_logprobs above 20', '/v1/chat/completions', chat('x', { logprobs: true, top_logprobs: 21 }), 'top_logprobs'],
    ['top_logprobs without logprobs', '/v1/chat/completions', chat('x', { top_logprobs: 2 }), 'top_logprobs'],
    ['a completions logprobs above 5', '/v1/completions', { model: 'stories', prompt: 'x', logprobs: 6 }, 'logprobs'],
    ['n of 0', '/v1/chat/completions', chat('x', { n: 0 }), 'n'],
    ['n beyond the parallel sequences (4)', '/v1/completions', { model: 'stories', prompt: 'x', n: 5 }, 'n'],
    ['echo', '/v1/completions', { model: 'stories', prompt: 'x', echo: true }, 'echo'],
    ['best_of above n', '/v1/completions', { model: 'stories', prompt: 'x', best_of: 3 }, 'best_of'],
    ['an empty token array to embed', '/v1/embeddings', { model: 'embed', input: [[1], []] }, 'input[1]'],
    ['a negative token id to embed', '/v1/embeddings', { model: 'embed', input: [1, -2] }, 'input[1]'],
    ['texts and token arrays mixed', '/v1/embeddings', { model: 'embed', input: ['a', [1]] }, 'input'],
  ];
  it.each(refusals)('refuses %s with a 400 naming it', async (_name, path, body, param) => {
    const { app, runtime } = setup();
    const res = await app.request(path, json(body));
    const error = (await bodyOf<ErrorBody>(res)).error;
    expect(res.status, error.message).toBe(400);
    expect(error.param).toBe(param);
    expect(runtime.calls).toHaveLength(0);
  });

  it('asks the core for logprobs only when asked: top_logprobs alternatives (0 by default; the legacy field is a count)', async () => {
    const { app, runtime } = setup();
    const none = await bodyOf<ChatBody>(await app.request('/v1/chat/completions', json(chat('hi'))));
    expect(none.choices[0]!.logprobs).toBeNull();
    await app.request('/v1/chat/completions', json(chat('hi', { logprobs: true })));
    await app.request('/v1/chat/completions', json(chat('hi', { logprobs: true, top_logprobs: 3 })));
    await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', logprobs: 2 }));
    expect(runtime.calls.map((c) => c.logprobs)).toEqual([undefined, 0, 3, 2]);
  });

  it('answers chat logprobs in OpenAI’s shape, whole and in each streamed chunk', async () => {
    const { app } = setup();
    const whole = await bodyOf<ChatBody>(await app.request('/v1/chat/completions', json(chat('hi', { logprobs: true, top_logprobs: 2 }))));
    const content = whole.choices[0]!.logprobs!.content!;
    expect(content.map((t) => t.token).join('')).toBe(whole.choices[0]!.message.content);
    expect(content[1]).toEqual({ token: ' upon', logprob: -0.5, bytes: utf8(' upon'), top_logprobs: [{ token: ' upon', logprob: -0.5, bytes: utf8(' upon') }, { token: 'x', logprob: -1.5, bytes: [120] }] });

    const chunks = await events<ChatChunk>(await app.request('/v1/chat/completions', json(chat('hi', { logprobs: true, stream: true }))));
    const withText = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(withText.length).toBe(4);
    for (const chunk of withText) expect(chunk.choices[0]!.logprobs!.content!.map((t) => t.token).join('')).toBe(chunk.choices[0]!.delta.content);
    expect(chunks[0]!.choices[0]!.logprobs).toBeNull();
  });

  it('answers completions logprobs in the legacy shape, text offsets running on across streamed chunks', async () => {
    const { app } = setup();
    const whole = await bodyOf<CompletionBody>(await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', logprobs: 1 })));
    expect(whole.choices[0]!.logprobs).toEqual({
      tokens: ['Once', ' upon', ' a', ' time'],
      token_logprobs: [-0.5, -0.5, -0.5, -0.5],
      top_logprobs: [{ Once: -0.5, x: -1.5 }, { ' upon': -0.5, x: -1.5 }, { ' a': -0.5, x: -1.5 }, { ' time': -0.5, x: -1.5 }],
      text_offset: [0, 4, 9, 11],
    });
    const none = await bodyOf<CompletionBody>(await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', logprobs: 0 })));
    expect(none.choices[0]!.logprobs!.top_logprobs).toBeNull();

    const chunks = await events<CompletionBody>(await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', logprobs: 1, stream: true })));
    const offsets = chunks.filter((c) => c.choices[0]?.text).map((c) => c.choices[0]!.logprobs!.text_offset);
    expect(offsets).toEqual([[0], [4], [9], [11]]);
  });

  it('runs n choices, whole: indexed, seeds one apart, usage over all of them', async () => {
    const { app, runtime } = setup();
    const body = await bodyOf<ChatBody>(await app.request('/v1/chat/completions', json(chat('hi', { n: 3, seed: 7 }))));
    expect(body.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(body.choices.every((c) => c.message.content === 'Once upon a time')).toBe(true);
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 12, total_tokens: 19 });
    expect(runtime.calls.map((c) => c.seed).sort()).toEqual([7, 8, 9]);

    const text = await bodyOf<CompletionBody>(await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', n: 2, best_of: 2 })));
    expect(text.choices.map((c) => [c.index, c.text])).toEqual([
      [0, 'Once upon a time'],
      [1, 'Once upon a time'],
    ]);
  });

  it('streams n choices: each chunk names its choice, each choice has its role and finish chunk, the usage chunk counts all', async () => {
    const { app } = setup();
    const chunks = await events<ChatChunk>(await app.request('/v1/chat/completions', json(chat('hi', { n: 2, stream: true, stream_options: { include_usage: true } }))));
    const byChoice = (index: number) => chunks.filter((c) => c.choices[0]?.index === index);
    for (const index of [0, 1]) {
      const mine = byChoice(index);
      expect(mine[0]!.choices[0]!.delta.role).toBe('assistant');
      expect(mine.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Once upon a time');
      expect(mine.filter((c) => c.choices[0]!.finish_reason)).toHaveLength(1);
    }
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 7, completion_tokens: 8, total_tokens: 15 });

    const text = await events<CompletionBody>(await app.request('/v1/completions', json({ model: 'stories', prompt: 'x', n: 2, stream: true })));
    expect(new Set(text.map((c) => c.choices[0]!.index))).toEqual(new Set([0, 1]));
  });

  it('fails all of n when one choice fails', async () => {
    const { app, runtime } = setup();
    const original = runtime.chat;
    let calls = 0;
    runtime.chat = async (request) => (++calls === 2 ? Promise.reject(new ModelNotFoundError('gone')) : original(request));
    const res = await app.request('/v1/chat/completions', json(chat('hi', { n: 2 })));
    expect(res.status).toBe(404);
  });

  it('embeds token arrays, one or several, as OpenAI takes them', async () => {
    const { app } = setup();
    const one = await bodyOf<{ data: { embedding: number[] }[] }>(await app.request('/v1/embeddings', json({ model: 'embed', input: [5, 6, 7] })));
    // The fake embeds an input as [its length, …]: one input of three tokens.
    expect(one.data.map((d) => d.embedding[0])).toEqual([3]);
    const many = await bodyOf<{ data: { embedding: number[] }[] }>(await app.request('/v1/embeddings', json({ model: 'embed', input: [[5, 6], [7]] })));
    expect(many.data.map((d) => d.embedding[0])).toEqual([2, 1]);
  });

  it('puts a fresh x-request-id on every response: JSON, errors, unknown routes and streams; the log line carries it', async () => {
    const { app, log } = setup();
    const responses = [
      await app.request('/v1/chat/completions', json(chat('hi'), { 'x-request-id': 'client-chosen' })),
      await app.request('/v1/chat/completions', json(chat('hi'))),
      await app.request('/v1/chat/completions', json({ model: 'stories' })),
      await app.request('/v1/nothing-here'),
      await app.request('/v1/chat/completions', json(chat('hi', { stream: true }))),
      await app.request('/health'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 400, 404, 200, 200]);
    await responses[4]!.text();
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
    await expect.poll(() => log.length).toBe(6);
    expect(log.map((entry) => entry.requestId).sort()).toEqual([...ids].sort());
  });
});

/* ------------------------------------------------------------------ the real model */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);
const PROMPT = 'Once upon a time';

const fakeStore = (models: InstalledModel[]) => {
  const get = async (name: string) => models.find((m) => m.name === name);
  return {
    list: async () => models,
    get,
    require: async (name: string) => {
      const model = await get(name);
      if (!model) throw new ModelNotFoundError(name);
      return model;
    },
    pull: async () => {
      throw new Error('not in this test');
    },
    remove: async () => undefined,
    copy: async () => Promise.reject(new Error('not in this test')),
  };
};

/** Of the tokens of a reply, how many repeat one seen before in it. */
const repeats = (tokens: readonly string[]) => tokens.length - new Set(tokens).size;

describe.skipIf(skip)(`OpenAI parameters on the real stories260K, in process${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let runtime: LocalRuntime;
  let app: ReturnType<typeof createApp>;
  let model: LlamaModel;
  const ask = async <T>(path: string, body: Record<string, unknown>, status = 200): Promise<T> => {
    const res = await app.request(path, json({ model: 'tiny', ...body }));
    const parsed = (await res.json()) as T & ErrorBody;
    expect(res.status, parsed.error?.message).toBe(status);
    return parsed;
  };
  const complete = (body: Record<string, unknown>) => ask<CompletionBody>('/v1/completions', { prompt: PROMPT, temperature: 0, ...body });
  const chatWith = (body: Record<string, unknown>) => ask<ChatBody>('/v1/chat/completions', { messages: [{ role: 'user', content: PROMPT }], temperature: 0, ...body });

  beforeAll(async () => {
    const file = testModel(GGUF)!;
    const tiny: InstalledModel = {
      name: 'tiny',
      kind: 'llm',
      engine: 'llama-cpp',
      family: 'gguf',
      source: file,
      layout: { model: 'stories260K.gguf' },
      files: [],
      size: 0,
      pulledAt: new Date(0).toISOString(),
      dir: dirname(file),
    };
    runtime = createLocalRuntime(loadConfig({}, { threads: 1, gpu: 'off', parallel: 2, keepAliveMs: -1, isolation: 'none' }), { store: fakeStore([tiny]) });
    app = createApp(runtime);
    // The test's own copy, to know token ids and texts.
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error' as never });
    model = await llama.loadModel({ modelPath: file });
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    await model?.dispose();
  });

  it('reports chat logprobs that hold together: one per token of the content, logs of probabilities, alternatives sorted, the greedy pick first', async () => {
    const body = await chatWith({ max_tokens: 12, logprobs: true, top_logprobs: 5 });
    const { message, logprobs } = body.choices[0]!;
    const content = logprobs!.content!;
    expect(content.length).toBeGreaterThan(0);
    expect(content.length).toBeLessThanOrEqual(body.usage.completion_tokens);
    expect(content.map((t) => t.token).join('')).toBe(message.content);
    for (const t of content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.bytes).toEqual(utf8(t.token));
      expect(t.top_logprobs).toHaveLength(5);
      const tops = t.top_logprobs.map((a) => a.logprob);
      expect(tops).toEqual([...tops].sort((a, b) => b - a));
      expect(tops.reduce((sum, l) => sum + Math.exp(l), 0)).toBeLessThanOrEqual(1 + 1e-6);
      // At temperature 0 the token taken is the likeliest.
      expect(t.logprob).toBeCloseTo(tops[0]!, 6);
    }
  });

  it('streams chat logprobs chunk by chunk, the same as the whole answer', async () => {
    const whole = await chatWith({ max_tokens: 10, logprobs: true, top_logprobs: 2 });
    const res = await app.request('/v1/chat/completions', json({ model: 'tiny', messages: [{ role: 'user', content: PROMPT }], temperature: 0, max_tokens: 10, logprobs: true, top_logprobs: 2, stream: true }));
    const chunks = (await events<ChatChunk>(res)).filter((c) => c.choices[0]?.delta.content);
    for (const chunk of chunks) expect(chunk.choices[0]!.logprobs!.content!.map((t) => t.token).join('')).toBe(chunk.choices[0]!.delta.content);
    expect(chunks.flatMap((c) => c.choices[0]!.logprobs!.content!)).toEqual(whole.choices[0]!.logprobs!.content);
  });

  it('reports completions logprobs in the legacy shape: text offsets into the text, alternatives as token → logprob', async () => {
    const body = await complete({ max_tokens: 8, logprobs: 3 });
    const { text, logprobs } = body.choices[0]!;
    expect(logprobs!.tokens.join('')).toBe(text);
    logprobs!.tokens.forEach((token, i) => expect(text.slice(logprobs!.text_offset[i], logprobs!.text_offset[i]! + token.length)).toBe(token));
    logprobs!.top_logprobs!.forEach((top, i) => {
      expect(Object.keys(top).length).toBeGreaterThan(0);
      expect(Object.keys(top).length).toBeLessThanOrEqual(3);
      expect(Math.max(...Object.values(top))).toBeCloseTo(logprobs!.token_logprobs[i]!, 6);
    });
  });

  it('logit_bias -100 on the likeliest first token makes another come first; +100 on a token makes it come', async () => {
    const plain = await complete({ max_tokens: 1, logprobs: 1 });
    const first = plain.choices[0]!.logprobs!.tokens[0]!;
    const context = model.tokenize(PROMPT);
    const ids = Array.from({ length: 512 }, (_, id) => id).filter((id) => model.detokenize([id as never], false, context) === first);
    expect(ids.length).toBeGreaterThan(0);
    const banned = await complete({ max_tokens: 1, logprobs: 1, logit_bias: Object.fromEntries(ids.map((id) => [String(id), -100])) });
    expect(banned.choices[0]!.logprobs!.tokens[0]).not.toBe(first);

    const forced = await complete({ max_tokens: 3, logprobs: 0, logit_bias: { '300': 100 } });
    // (The reply's first token loses its leading space, as the completion's text does.)
    const wanted = model.detokenize([300 as never], false, context).trim();
    expect(forced.choices[0]!.logprobs!.tokens.map((t) => t.trim())).toEqual([wanted, wanted, wanted]);
  });

  it('refuses a logit_bias token the model does not have, or its end-of-text token, with a 400 (and keeps serving)', async () => {
    const outside = await ask<ErrorBody>('/v1/completions', { prompt: PROMPT, logit_bias: { '512': 1 } }, 400);
    expect(outside.error).toMatchObject({ param: 'logit_bias' });
    expect(outside.error.message).toMatch(/0 to 511/);
    const eos = await ask<ErrorBody>('/v1/chat/completions', { messages: [{ role: 'user', content: PROMPT }], logit_bias: { [String(model.tokens.eos)]: -100 } }, 400);
    expect(eos.error).toMatchObject({ param: 'logit_bias', code: 'not_supported' });
    expect((await complete({ max_tokens: 2 })).choices[0]!.text.length).toBeGreaterThan(0);
  });

  it('frequency_penalty 2 repeats fewer tokens than 0, on the same seed', async () => {
    const tokens = async (penalty: number) => (await complete({ max_tokens: 80, seed: 3, frequency_penalty: penalty, logprobs: 0 })).choices[0]!.logprobs!.tokens;
    const free = await tokens(0);
    const penalized = await tokens(2);
    expect(repeats(penalized)).toBeLessThan(repeats(free));
    // And a negative one repeats more.
    expect(repeats(await tokens(-2))).toBeGreaterThan(repeats(free));
  });

  it('presence_penalty changes the reply on the same seed', async () => {
    const text = async (penalty: number) => (await chatWith({ max_tokens: 60, seed: 3, presence_penalty: penalty })).choices[0]!.message.content;
    expect(await text(2)).not.toBe(await text(0));
  });

  it('samples at temperature 1 when none is given (OpenAI’s default), greedy at 0', async () => {
    const texts = async (extra: Record<string, unknown>) =>
      new Set(await Promise.all([1, 2, 3, 4].map(async (seed) => (await complete({ max_tokens: 30, seed, temperature: undefined, ...extra })).choices[0]!.text)));
    expect((await texts({ temperature: 0 })).size).toBe(1);
    expect((await texts({})).size).toBeGreaterThan(1);
  });

  it('n=2 gives two choices that differ (seeds one apart), and the same two again for the same seed', async () => {
    const body = { max_tokens: 20, temperature: 1, seed: 42, n: 2 };
    const once = await chatWith(body);
    expect(once.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(once.choices[0]!.message.content).not.toBe(once.choices[1]!.message.content);
    expect(once.usage.completion_tokens).toBe(40);
    const again = await chatWith(body);
    expect(again.choices.map((c) => c.message.content)).toEqual(once.choices.map((c) => c.message.content));
    // More than the model's two sequences: refused, naming n.
    expect((await ask<ErrorBody>('/v1/chat/completions', { messages: [{ role: 'user', content: PROMPT }], n: 3 }, 400)).error.param).toBe('n');
  });

  it('embeds token ids as it embeds their text; refuses an id the model does not have', async () => {
    const tokens = [...model.tokenize(PROMPT)];
    const body = await ask<{ data: { embedding: number[] }[] }>('/v1/embeddings', { input: [PROMPT] });
    const fromTokens = await ask<{ data: { embedding: number[] }[] }>('/v1/embeddings', { input: tokens });
    expect(fromTokens.data[0]!.embedding).toEqual(body.data[0]!.embedding);
    const bad = await ask<ErrorBody>('/v1/embeddings', { input: [tokens, [600]] }, 400);
    expect(bad.error).toMatchObject({ param: 'input[1]' });
  });

  it('names the prompt, not messages, when a completions prompt is too long', async () => {
    const error = await ask<ErrorBody>('/v1/completions', { prompt: 'Once upon a time '.repeat(800) }, 400);
    expect(error.error).toMatchObject({ code: 'context_length_exceeded', param: 'prompt' });
  });
});
