#!/usr/bin/env node
// bench/structured.mjs: what enforcing a JSON schema costs. The same prompt
// is answered in paired, alternating rounds by the in-process runtime with
// no response format and with a json_schema (an object with a bounded
// integer, an enum and a long string, so most tokens are the string's),
// and their decode speeds are compared (goal: ≤ 5% fewer tokens/s). The
// schema is enforced by node-llama-cpp's grammar; murmur's part is the
// conversion (bounds to enums, refs inlined) and, where a keyword is left
// to it, the check of the reply afterwards.
//
//   npx tsc -p . && node bench/structured.mjs [model.gguf] [--tokens 200] [--runs 9]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { tokens: { type: 'string', default: '200' }, runs: { type: 'string', default: '9' } } });
const modelsDir = process.env.MURMUR_TEST_MODELS ?? resolve(here, '..', '..', 'shared', 'models');
const file = resolve(positionals[0] ?? join(modelsDir, 'stories260K', 'stories260K.gguf'));
const { loadConfig } = await import('../dist/src/config.js');
const { createRuntime } = await import('../dist/src/runtime/create-runtime.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-structured-'));
const runtime = await createRuntime(loadConfig({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1', MURMUR_GPU: 'off' }, { keepAliveMs: -1 }));
await runtime.pull(file, { name: 'm' });
const schema = {
  type: 'object',
  properties: { stars: { type: 'integer', minimum: 1, maximum: 5 }, mood: { type: 'string', enum: ['happy', 'sad', 'calm'] }, story: { type: 'string' } },
  required: ['stars', 'mood', 'story'],
  additionalProperties: false,
};
const messages = [{ role: 'user', content: 'Once upon a time, there was a little girl. Tell me what happened next.' }];
const tokens = [];
const once = async (structured) => {
  const result = await runtime.chat({ model: 'm', messages, maxTokens: Number(values.tokens), temperature: 0, ...(structured ? { responseFormat: { type: 'json_schema', schema, strict: true } } : {}) });
  tokens.push(result.usage.completionTokens);
  return result.timings.tokensPerSecond;
};
try {
  await once(false);
  await once(true);
  const free = [];
  const bound = [];
  for (let i = 0; i < Number(values.runs); i++) {
    if (i % 2) (bound.push(await once(true)), free.push(await once(false)));
    else (free.push(await once(false)), bound.push(await once(true)));
  }
  const ratio = median(bound.map((b, i) => b / free[i]));
  console.log(JSON.stringify({ model: file, runs: free.length, freeTokensPerSecond: Math.round(median(free)), schemaTokensPerSecond: Math.round(median(bound)), ratio: Math.round(ratio * 1000) / 1000, tokensPerReply: [...new Set(tokens)] }));
  console.error(`json_schema vs free: ${(ratio * 100).toFixed(1)}% of the tokens/s (${Math.round(median(bound))} vs ${Math.round(median(free))}; goal ≥ 95%)`);
} finally {
  await runtime[Symbol.asyncDispose]();
  rmSync(home, { recursive: true, force: true });
}
