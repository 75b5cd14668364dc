#!/usr/bin/env node
// bench/dialects.mjs: the other dialects' streams against OpenAI's on one
// daemon, one model and prompt: Anthropic's /v1/messages and, when the
// daemon serves it, Ollama's /api/chat (NDJSON), each against
// /v1/chat/completions in paired rounds that alternate which goes first;
// medians. Goal: ≥ 0.97× chat's decode tokens/s, first token within 2 ms.
//
//   npm run build && node bench/dialects.mjs [--runs 21] [--warmup 5] [--tokens 200] [--model path.gguf]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyLines } from './lines.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' }, warmup: { type: 'string', default: '5' }, tokens: { type: 'string', default: '200' }, model: { type: 'string' } } });
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const gguf = values.model ? resolve(values.model) : join(models, 'stories260K', 'stories260K.gguf');
const bin = join(root, 'dist', 'bin', 'murmur.js');
const maxTokens = Number(values.tokens);
if (!existsSync(bin)) throw new Error('run `npm run build` first');
const home = mkdtempSync(join(tmpdir(), 'murmur-bench-dialects-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_KEEP_ALIVE: '-1', MURMUR_GPU: process.env.MURMUR_GPU ?? 'off', MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1' };
execFileSync(process.execPath, [bin, 'pull', gguf, '--name', 'bench'], { env, stdio: 'ignore' });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
const url = await new Promise((done, reject) => {
  let text = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    text += chunk;
    const match = /listening on (\S+)/.exec(text);
    if (match) done(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
});
const post = (path, body) => fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** Reads a body as lines (SSE `data:` lines, or NDJSON), calling `onData` with each parsed payload. */
const readLines = async (res, onData) => {
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  for await (const line of bodyLines(res.body)) {
    const data = line.startsWith('data: ') ? line.slice(6) : line.startsWith('{') ? line : undefined;
    if (data && data !== '[DONE]') onData(JSON.parse(data));
  }
};
const timed = async (generate) => {
  const start = performance.now();
  let first;
  const tokens = await generate(() => (first ??= performance.now()));
  const end = performance.now();
  return { ttft: first - start, tps: ((tokens - 1) * 1000) / (end - first) };
};
const prompt = 'Once upon a time';
const doors = {
  chat: () =>
    timed(async (mark) => {
      let tokens = 0;
      await readLines(await post('/v1/chat/completions', { model: 'bench', messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }), (c) => {
        if (c.choices?.[0]?.delta?.content) mark();
        if (c.usage) tokens = c.usage.completion_tokens;
      });
      return tokens;
    }),
  messages: () =>
    timed(async (mark) => {
      let tokens = 0;
      await readLines(await post('/v1/messages', { model: 'bench', max_tokens: maxTokens, temperature: 0, messages: [{ role: 'user', content: prompt }], stream: true }), (e) => {
        if (e.type === 'content_block_delta') mark();
        if (e.type === 'message_delta') tokens = e.usage.output_tokens;
      });
      return tokens;
    }),
  ollama: () =>
    timed(async (mark) => {
      let tokens = 0;
      await readLines(await post('/api/chat', { model: 'bench', messages: [{ role: 'user', content: prompt }], options: { temperature: 0, num_predict: maxTokens } }), (o) => {
        if (o.message?.content) mark();
        if (o.done) tokens = o.eval_count;
      });
      return tokens;
    }),
};
try {
  const hasOllama = (await fetch(`${url}/api/version`)).ok;
  const others = ['messages', ...(hasOllama ? ['ollama'] : [])];
  for (let i = 0; i < Number(values.warmup); i++) for (const d of ['chat', ...others]) await doors[d]();
  const results = {};
  for (const other of others) {
    const ratios = [];
    const firsts = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const [a, b] = i % 2 ? [await doors[other](), await doors.chat()] : [(await doors.chat()), await doors[other]()].reverse();
      ratios.push(a.tps / b.tps);
      firsts.push(a.ttft - b.ttft);
    }
    results[other] = { tokensPerSecondVsChat: Math.round(median(ratios) * 1000) / 1000, firstTokenMsVsChat: Math.round(median(firsts) * 100) / 100 };
    console.error(`${other} vs chat: ${(median(ratios) * 100).toFixed(1)}% of the tokens/s, first token ${median(firsts) >= 0 ? '+' : ''}${median(firsts).toFixed(2)} ms (goal ≥ 97%, ≤ +2 ms)`);
  }
  console.log(JSON.stringify({ model: gguf, runs: Number(values.runs), tokens: maxTokens, ...results }));
} finally {
  child.kill('SIGTERM');
  rmSync(home, { recursive: true, force: true });
}
