#!/usr/bin/env node
// Streaming through `murmur serve` vs the same LocalRuntime in-process:
// decode tokens/s, time to first token, and the idle daemon's RSS.
// Usage: npm run build && node bench/serve.mjs [--runs 5] [--tokens 200] [--model path.gguf]
// Needs ../shared/models/stories260K (or MURMUR_TEST_MODELS, or --model).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, tokens: { type: 'string', default: '200' }, model: { type: 'string' } } });
const runs = Number(values.runs);
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

// In-process: the LocalRuntime the daemon itself uses.
const inProcess = async () => {
  const { loadConfig } = await import(join(root, 'dist/src/config.js'));
  const { loadCatalog } = await import(join(root, 'dist/src/catalog/catalog.js'));
  const { createStore } = await import(join(root, 'dist/src/store/store.js'));
  const { createLocalRuntime } = await import(join(root, 'dist/src/runtime/local-runtime.js'));
  const config = loadConfig(env);
  const runtime = createLocalRuntime(config, { store: createStore(config, await loadCatalog({})) });
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    let first;
    let tokens = 0;
    await runtime.chat({ ...request, onToken: () => { first ??= performance.now(); tokens++; } });
    const end = performance.now();
    if (i > 0) samples.push({ ttft: first - start, tps: ((tokens - 1) * 1000) / (end - first), tokens });
  }
  await runtime[Symbol.asyncDispose]();
  return summarise(samples);
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

// Through serve: the same request as an SSE stream over HTTP.
const throughServe = async () => {
  const { child, url } = await startDaemon();
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = process.platform === 'linux' ? rssMb(child.pid) : NaN;
  const samples = [];
  const body = JSON.stringify({ model: 'bench', messages: request.messages, temperature: 0, seed: 1, max_tokens: maxTokens, stream: true });
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const decoder = new TextDecoder();
    let first;
    let tokens = 0;
    let buffer = '';
    for await (const bytes of res.body) {
      buffer += decoder.decode(bytes, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(6, cut);
        buffer = buffer.slice(cut + 2);
        if (data === '[DONE]') continue;
        if (JSON.parse(data).choices[0]?.delta?.content) {
          first ??= performance.now();
          tokens++;
        }
      }
    }
    const end = performance.now();
    if (i > 0) samples.push({ ttft: first - start, tps: ((tokens - 1) * 1000) / (end - first), tokens });
  }
  const loadedRss = process.platform === 'linux' ? rssMb(child.pid) : NaN;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { ...summarise(samples), idleRssMb: idleRss, loadedRssMb: loadedRss };
};

try {
  const local = await inProcess();
  const served = await throughServe();
  const result = {
    model: gguf.split('/').pop(),
    runs,
    maxTokens,
    inProcess: local,
    serve: served,
    serveTokensPerSecondRatio: served.tokensPerSecond / local.tokensPerSecond,
    addedFirstTokenMs: served.firstTokenMs - local.firstTokenMs,
  };
  console.log(JSON.stringify(result, null, 2));
  console.error(
    `serve: ${(result.serveTokensPerSecondRatio * 100).toFixed(1)}% of in-process tokens/s (goal ≥ 90%), ` +
      `+${result.addedFirstTokenMs.toFixed(1)} ms to first token (goal ≤ 10 ms), idle RSS ${served.idleRssMb.toFixed(1)} MB (goal < 80 MB)`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
