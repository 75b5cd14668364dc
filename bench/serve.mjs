#!/usr/bin/env node
// Streaming through `murmur serve` vs the same LocalRuntime in-process:
// decode tokens/s, time to first token, and the idle daemon's RSS.
// Usage: npm run build && node bench/serve.mjs [--runs 15] [--warmup 5] [--tokens 200] [--model path.gguf]
// Needs ../shared/models/stories260K (or MURMUR_TEST_MODELS, or --model).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyLines } from './lines.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, warmup: { type: 'string', default: '5' }, tokens: { type: 'string', default: '200' }, model: { type: 'string' } } });
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const maxTokens = Number(values.tokens);
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const gguf = values.model ? resolve(values.model) : join(models, 'stories260K', 'stories260K.gguf');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(gguf)) throw new Error(`missing model ${gguf}`);
if (!existsSync(bin)) throw new Error('run `npm run build` first');

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-'));
// One thread unless told otherwise: on a small, busy machine more threads spin against each other (see SOURCES.md).
const env = { ...process.env, MURMUR_HOME: home, MURMUR_KEEP_ALIVE: '-1', MURMUR_GPU: process.env.MURMUR_GPU ?? 'off', MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1' };
execFileSync(process.execPath, [bin, 'pull', gguf, '--name', 'bench'], { env, stdio: 'ignore' });
const request = { model: 'bench', messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0, seed: 1, maxTokens };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summarise = (samples) => ({ tokensPerSecond: median(samples.map((s) => s.tps)), firstTokenMs: median(samples.map((s) => s.ttft)), tokens: median(samples.map((s) => s.tokens)) });

// Both sides stay up for the whole run: first `warmup` requests each (JIT,
// caches), then rounds that alternate which side goes first, so a burst of
// load from elsewhere lands on both. Tokens are counted from the usage the
// generation reports, not from frames or callbacks.
const timed = async (generate) => {
  const start = performance.now();
  let first;
  const tokens = await generate(() => (first ??= performance.now()));
  const end = performance.now();
  return { ttft: first - start, tps: ((tokens - 1) * 1000) / (end - first), tokens };
};

const openInProcess = async () => {
  const { loadConfig } = await import(join(root, 'dist/src/config.js'));
  const { loadCatalog } = await import(join(root, 'dist/src/catalog/catalog.js'));
  const { createStore } = await import(join(root, 'dist/src/store/store.js'));
  const { createLocalRuntime } = await import(join(root, 'dist/src/runtime/local-runtime.js'));
  const config = loadConfig(env);
  const runtime = createLocalRuntime(config, { store: createStore(config, await loadCatalog({})) });
  return {
    run: () => timed(async (mark) => (await runtime.chat({ ...request, onToken: mark })).usage.completionTokens),
    close: () => runtime[Symbol.asyncDispose](),
  };
};

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

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// Through serve: the same request as an SSE stream over HTTP, read the way an
// OpenAI client reads it (each frame parsed).
const openServe = async () => {
  const { child, url } = await startDaemon();
  await new Promise((r) => setTimeout(r, 1000));
  const idleRssMb = process.platform === 'linux' ? rssMb(child.pid) : NaN;
  const body = JSON.stringify({ model: 'bench', messages: request.messages, temperature: 0, seed: 1, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } });
  const run = () =>
    timed(async (mark) => {
      const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      let tokens = 0;
      for await (const line of bodyLines(res.body)) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.choices[0]?.delta?.content) mark();
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
      return tokens;
    });
  const close = async () => {
    const loadedRssMb = process.platform === 'linux' ? rssMb(child.pid) : NaN;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return loadedRssMb;
  };
  return { run, close, idleRssMb };
};

try {
  const served = await openServe();
  const local = await openInProcess();
  for (let i = 0; i < warmup; i++) {
    await local.run();
    await served.run();
  }
  const localSamples = [];
  const servedSamples = [];
  const ratios = [];
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  for (let i = 0; i < runs; i++) {
    const pair = i % 2 === 0 ? [await local.run(), await served.run()] : [await served.run(), await local.run()].reverse();
    localSamples.push(pair[0]);
    servedSamples.push(pair[1]);
    ratios.push(pair[1].tps / pair[0].tps);
  }
  await local.close();
  const loadedRssMb = await served.close();
  const inProcess = summarise(localSamples);
  const serve = { ...summarise(servedSamples), idleRssMb: served.idleRssMb, loadedRssMb };
  const result = {
    model: gguf.split('/').pop(),
    runs,
    warmup,
    maxTokens,
    load: `${loadBefore} before, ${load()} after`,
    inProcess,
    serve,
    serveTokensPerSecondRatio: median(ratios),
    addedFirstTokenMs: serve.firstTokenMs - inProcess.firstTokenMs,
  };
  console.log(JSON.stringify(result, null, 2));
  console.error(
    `serve: ${(result.serveTokensPerSecondRatio * 100).toFixed(1)}% of in-process tokens/s (median of ${runs} paired rounds; goal ≥ 90%), ` +
      `+${result.addedFirstTokenMs.toFixed(1)} ms to first token (goal ≤ 10 ms), idle RSS ${serve.idleRssMb.toFixed(1)} MB (goal < 80 MB)`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
