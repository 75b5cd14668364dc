#!/usr/bin/env node
// bench/llm.mjs: decode speed of murmur's in-process LocalRuntime against
// node-llama-cpp called directly with the same model and settings, and the
// aggregate speed of 4 concurrent streams against 1.
//
//   npx tsc -p . && node bench/llm.mjs [model.gguf] [--tokens 256] [--runs 5]
//
// Settings come from the MURMUR_* variables (MURMUR_THREADS, MURMUR_GPU,
// MURMUR_PARALLEL), read by murmur's own config so both sides match. The
// default model is stories260K from the shared test models.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: 'string', default: '256' }, runs: { type: 'string', default: '5' } },
});
const modelsDir = process.env.MURMUR_TEST_MODELS ?? resolve(here, '..', '..', 'shared', 'models');
const file = resolve(positionals[0] ?? join(modelsDir, 'stories260K', 'stories260K.gguf'));
const maxTokens = Number(values.tokens);
const runs = Number(values.runs);

const { loadConfig } = await import('../dist/src/config.js');
const { createLocalRuntime } = await import('../dist/src/runtime/local-runtime.js');
const config = loadConfig(process.env, { keepAliveMs: -1 });
const prompt = 'Once upon a time, there was a little girl. Tell me what happened next.';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// --- node-llama-cpp directly -------------------------------------------------
const lib = await import('node-llama-cpp');
const llama = await lib.getLlama({
  gpu: config.gpu === 'off' ? false : config.gpu,
  maxThreads: config.threads,
  build: 'never',
  skipDownload: true,
  logLevel: lib.LlamaLogLevel.error,
  logger: () => {},
});
const model = await llama.loadModel({ modelPath: file });
const context = await model.createContext({ sequences: Math.max(4, config.parallel), threads: config.threads, contextSize: { max: 8192 } });
const sequence = context.getSequence();
const direct = async (seed) => {
  const chat = new lib.LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
  const before = sequence.tokenMeter.getState();
  const start = performance.now();
  let first;
  await chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], {
    maxTokens, seed, temperature: 0.8, onTextChunk: () => (first ??= performance.now()),
  });
  const end = performance.now();
  const tokens = sequence.tokenMeter.diff(before).usedOutputTokens;
  chat.dispose({ disposeSequence: false });
  await sequence.clearHistory();
  return { tokens, tps: ((tokens - 1) * 1000) / (end - first), ttft: first - start };
};

// --- murmur LocalRuntime -----------------------------------------------------
const installed = {
  name: 'bench', kind: 'llm', engine: 'llama-cpp', family: 'gguf', source: file, layout: { model: file.split(/[\\/]/).pop() },
  files: [], size: 0, pulledAt: new Date().toISOString(), dir: dirname(file),
};
const store = {
  list: async () => [installed], get: async () => installed, require: async () => installed,
  pull: async () => installed, remove: async () => {},
};
const runtime = createLocalRuntime(config, { store });
const viaRuntime = async (seed) => {
  const r = await runtime.chat({ model: 'bench', messages: [{ role: 'user', content: prompt }], maxTokens, seed, temperature: 0.8, onToken: () => {} });
  return { tokens: r.usage.completionTokens, tps: r.timings.tokensPerSecond, ttft: r.timings.firstTokenMs };
};

await direct(0);
await viaRuntime(0); // warm up: loads the model
const d = [];
const m = [];
for (let i = 1; i <= runs; i++) {
  d.push(await direct(i));
  m.push(await viaRuntime(i));
}
const dTps = median(d.map((x) => x.tps));
const mTps = median(m.map((x) => x.tps));
console.log(`model ${file}`);
console.log(`settings gpu=${config.gpu} (${llama.gpu || 'cpu'}) threads=${config.threads} parallel=${config.parallel} maxTokens=${maxTokens} runs=${runs}`);
console.log(`direct node-llama-cpp  decode ${dTps.toFixed(1)} tok/s  ttft ${median(d.map((x) => x.ttft)).toFixed(1)} ms  tokens ${median(d.map((x) => x.tokens))}`);
console.log(`murmur LocalRuntime    decode ${mTps.toFixed(1)} tok/s  ttft ${median(m.map((x) => x.ttft)).toFixed(1)} ms  tokens ${median(m.map((x) => x.tokens))}`);
console.log(`in-process / direct    ${((mTps / dTps) * 100).toFixed(1)}%  (target >= 95%)`);

// --- concurrency: aggregate tokens/s of 4 streams vs 1 -----------------------
const aggregate = async (streams) => {
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, (_, i) => viaRuntime(100 + i)));
  const seconds = (performance.now() - start) / 1000;
  return results.reduce((sum, r) => sum + r.tokens, 0) / seconds;
};
// The same with node-llama-cpp directly, each stream on its own sequence of the one context.
const directSequences = [sequence, ...Array.from({ length: Math.min(3, context.sequencesLeft) }, () => context.getSequence())];
const directAggregate = async (streams) => {
  const start = performance.now();
  const counts = await Promise.all(directSequences.slice(0, streams).map(async (seq, i) => {
    const chat = new lib.LlamaChat({ contextSequence: seq, autoDisposeSequence: false });
    const before = seq.tokenMeter.getState();
    await chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], { maxTokens, seed: 100 + i, temperature: 0.8 });
    chat.dispose({ disposeSequence: false });
    const used = seq.tokenMeter.diff(before).usedOutputTokens;
    await seq.clearHistory();
    return used;
  }));
  return counts.reduce((a, b) => a + b, 0) / ((performance.now() - start) / 1000);
};
if (directSequences.length === 4) {
  const d1 = median(await sequential(runs, () => directAggregate(1)));
  const d4 = median(await sequential(runs, () => directAggregate(4)));
  console.log(`direct 1 stream  ${d1.toFixed(1)} tok/s, 4 streams ${d4.toFixed(1)} tok/s = ${(d4 / d1).toFixed(2)}x`);
}
const one = median(await sequential(runs, () => aggregate(1)));
const four = median(await sequential(runs, () => aggregate(4)));
console.log(`1 stream  aggregate ${one.toFixed(1)} tok/s`);
console.log(`4 streams aggregate ${four.toFixed(1)} tok/s  = ${(four / one).toFixed(2)}x  (target >= 1.5x)`);

async function sequential(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

await runtime[Symbol.asyncDispose]();
await context.dispose();
await model.dispose();
await llama.dispose();
