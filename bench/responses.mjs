#!/usr/bin/env node
// /v1/responses against /v1/chat/completions on one daemon, one model:
//  1. streaming: decode tokens/s and time to first token of the same prompt
//     (paired rounds that alternate which endpoint goes first; medians);
//     goal ≥ 0.97× chat's tokens/s and ≤ +2 ms to the first token.
//  2. a stored conversation: one more turn after TURNS turns, sent with
//     previous_response_id vs the same messages inline (store on for both,
//     and again with store off); goal ≤ +5 ms. Through the model, prompt
//     evaluation (seconds) drowns a few ms, so it is measured twice: end to
//     end on the daemon (MODEL_ROUNDS rounds), and on the daemon's server
//     in this process over an engine that answers at once (5 × RUNS rounds),
//     which is what the daemon itself adds.
// Usage: npm run build && node bench/responses.mjs [--runs 21] [--warmup 5] [--tokens 200] [--turns 50] [--model-rounds 5] [--model path.gguf]
// Needs ../shared/models/stories260K (or MURMUR_TEST_MODELS, or --model). Run by hand; no test runs it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyLines } from './lines.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '21' }, warmup: { type: 'string', default: '5' }, tokens: { type: 'string', default: '200' }, turns: { type: 'string', default: '50' }, 'model-rounds': { type: 'string', default: '5' }, model: { type: 'string' } },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const maxTokens = Number(values.tokens);
const turns = Number(values.turns);
const modelRounds = Number(values['model-rounds']);
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const gguf = values.model ? resolve(values.model) : join(models, 'stories260K', 'stories260K.gguf');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(gguf)) throw new Error(`missing model ${gguf}`);
if (!existsSync(bin)) throw new Error('run `npm run build` first');

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-responses-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_KEEP_ALIVE: '-1', MURMUR_GPU: process.env.MURMUR_GPU ?? 'off', MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1' };
execFileSync(process.execPath, [bin, 'pull', gguf, '--name', 'bench'], { env, stdio: 'ignore' });

const signed = (ms) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const startDaemon = () =>
  new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = /listening on (\S+)/.exec(text);
      if (match) done({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
  });

const { child, url } = await startDaemon();
const post = (path, body) => fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Reads an SSE body frame by frame as a client does (each data payload
 * parsed); `onFrame` returns true for a frame carrying text. Returns what
 * the last frame with usage said.
 */
const readStream = async (res, onFrame) => {
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  for await (const line of bodyLines(res.body)) {
    if (line.startsWith('data: ') && line !== 'data: [DONE]') onFrame(JSON.parse(line.slice(6)));
  }
};

const timed = async (generate) => {
  const start = performance.now();
  let first;
  const tokens = await generate(() => (first ??= performance.now()));
  const end = performance.now();
  return { ttft: first - start, tps: ((tokens - 1) * 1000) / (end - first), tokens };
};

const prompt = 'Once upon a time';
const chatRun = () =>
  timed(async (mark) => {
    let tokens = 0;
    const body = { model: 'bench', messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } };
    await readStream(await post('/v1/chat/completions', body), (chunk) => {
      if (chunk.choices?.[0]?.delta?.content) mark();
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    });
    return tokens;
  });
const responsesRun = () =>
  timed(async (mark) => {
    let tokens = 0;
    // store: false, as chat stores nothing: this compares the two streams, not the store (part 2 measures that).
    const body = { model: 'bench', input: prompt, temperature: 0, max_output_tokens: maxTokens, stream: true, store: false };
    await readStream(await post('/v1/responses', body), (event) => {
      if (event.type === 'response.output_text.delta') mark();
      if (event.type === 'response.completed' || event.type === 'response.incomplete') tokens = event.response.usage.output_tokens;
    });
    return tokens;
  });

/**
 * Builds a conversation of `turns` stored turns, then times one more turn
 * sent with previous_response_id against the same messages inline, in
 * paired rounds (store on for both, then off for both); medians.
 */
const measureConversation = async (postTo, rounds) => {
  const json = async (res) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  };
  let previous;
  const messages = [];
  for (let i = 0; i < turns; i++) {
    const response = await json(await postTo('/v1/responses', { model: 'bench', input: 'More.', max_output_tokens: 1, temperature: 0, ...(previous ? { previous_response_id: previous } : {}) }));
    previous = response.id;
    messages.push({ role: 'user', content: 'More.' }, ...response.output.map(({ role, content }) => ({ role, content: content.map((p) => ({ type: 'output_text', text: p.text })) })));
  }
  const last = { role: 'user', content: 'And then?' };
  const turnMs = async (body) => {
    const start = performance.now();
    const response = await json(await postTo('/v1/responses', { model: 'bench', max_output_tokens: 1, temperature: 0, ...body }));
    return { ms: performance.now() - start, inputTokens: response.usage.input_tokens };
  };
  const out = { rounds };
  for (const store of [true, false]) {
    const chained = () => turnMs({ previous_response_id: previous, input: [last], store });
    const inline = () => turnMs({ input: [...messages, last], store });
    for (let i = 0; i < Math.min(warmup, rounds); i++) {
      await chained();
      await inline();
    }
    const added = [];
    const chainedMs = [];
    const inlineMs = [];
    let tokens;
    for (let i = 0; i < rounds; i++) {
      const [a, b] = i % 2 === 0 ? [await chained(), await inline()] : [await inline(), await chained()].reverse();
      if (a.inputTokens !== b.inputTokens) throw new Error(`the two prompts differ: ${a.inputTokens} vs ${b.inputTokens} tokens`);
      tokens = a.inputTokens;
      chainedMs.push(a.ms);
      inlineMs.push(b.ms);
      added.push(a.ms - b.ms);
    }
    out[store ? 'stored' : 'unstored'] = { promptTokens: tokens, previousResponseIdMs: median(chainedMs), inlineMs: median(inlineMs), addedMs: median(added) };
  }
  return out;
};

/**
 * The daemon's server (dist/src/server/listen.js, its own responses.db)
 * over an engine that answers at once: one token, the prompt's message
 * characters as its token count (so equal prompts count equal).
 */
const withStubServer = async (work) => {
  const { loadConfig } = await import(join(root, 'dist/src/config.js'));
  const { startServer } = await import(join(root, 'dist/src/server/listen.js'));
  const config = loadConfig({ ...env, MURMUR_HOME: join(home, 'stub') });
  const chat = async (request) => {
    const promptTokens = request.messages.reduce((n, m) => n + m.role.length + m.content.length + (m.toolCalls?.length ?? 0), 0);
    request.onToken?.('x');
    return { model: request.model, text: 'x', finishReason: 'length', usage: { promptTokens, completionTokens: 1, totalTokens: promptTokens + 1 }, timings: { firstTokenMs: 0, totalMs: 0, tokensPerSecond: 0 } };
  };
  const server = await startServer({ config, chat }, { port: 0, graceMs: 0 });
  try {
    return await work((path, body) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
  } finally {
    await server.close();
  }
};

try {
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
  // 1. Streaming.
  for (let i = 0; i < warmup; i++) {
    await chatRun();
    await responsesRun();
  }
  const chat = [];
  const responses = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    const [c, r] = i % 2 === 0 ? [await chatRun(), await responsesRun()] : [await responsesRun(), await chatRun()].reverse();
    chat.push(c);
    responses.push(r);
    ratios.push(r.tps / c.tps);
  }

  // 2. The conversation turn, through the real model (end to end, where prompt evaluation dominates)
  // and through an engine that answers at once (what the daemon itself adds, precisely).
  const conversation = { model: await measureConversation(post, modelRounds), daemonOnly: await withStubServer((stubPost) => measureConversation(stubPost, runs * 5)) };

  const result = {
    model: gguf.split('/').pop(),
    runs,
    warmup,
    maxTokens,
    turns,
    load: `${loadBefore} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after`,
    streaming: {
      chat: { tokensPerSecond: median(chat.map((s) => s.tps)), firstTokenMs: median(chat.map((s) => s.ttft)), tokens: median(chat.map((s) => s.tokens)) },
      responses: { tokensPerSecond: median(responses.map((s) => s.tps)), firstTokenMs: median(responses.map((s) => s.ttft)), tokens: median(responses.map((s) => s.tokens)) },
      tokensPerSecondRatio: median(ratios),
      addedFirstTokenMs: median(responses.map((s, i) => s.ttft - chat[i].ttft)),
    },
    conversation,
  };
  console.log(JSON.stringify(result, null, 2));
  console.error(
    `responses streaming: ${(result.streaming.tokensPerSecondRatio * 100).toFixed(1)}% of chat's tokens/s (median of ${runs} paired rounds; goal ≥ 97%), ` +
      `${result.streaming.addedFirstTokenMs >= 0 ? '+' : ''}${result.streaming.addedFirstTokenMs.toFixed(2)} ms to first token (goal ≤ +2 ms); ` +
      `turn ${turns + 1} with previous_response_id vs inline: ${signed(conversation.daemonOnly.stored.addedMs)} ms added by the daemon (store on; goal ≤ +5 ms), ` +
      `${signed(conversation.daemonOnly.unstored.addedMs)} ms with store off; through the model ${signed(conversation.model.stored.addedMs)} / ${signed(conversation.model.unstored.addedMs)} ms ` +
      `(of ${conversation.model.stored.inlineMs.toFixed(0)} ms a turn, ${conversation.model.stored.promptTokens} prompt tokens)`,
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
