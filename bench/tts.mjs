#!/usr/bin/env node
// bench/tts.mjs: speech synthesis figures of issue 4.
//   1. real-time factor through murmur's LocalRuntime vs sherpa-onnx's
//      OfflineTts called directly on the same model and text (goal: within 5%);
//   2. first audio for a 10-sentence text vs synthesizing its first sentence
//      alone (goal: at most 1.2x);
//   3. `murmur speak --batch` throughput with --jobs 2 vs --jobs 1 (goal: >= 1.6x on 2 cores).
//
//   npx tsc -p . && node bench/tts.mjs [model-dir] [--runs 5] [--lines 200]
//
// The default model is the synthetic characters-style voice from the shared
// test models: it makes 256 samples of a sine per character in microseconds,
// so its figures measure murmur's overhead (splitting, queueing, encoding,
// file writes), not a neural voice. Run it on a real voice (a Piper model
// directory) for figures that mean something about synthesis.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '5' }, lines: { type: 'string', default: '200' } } });
const modelsDir = process.env.MURMUR_TEST_MODELS ?? resolve(here, '..', '..', 'shared', 'models');
const modelDir = resolve(positionals[0] ?? join(modelsDir, 'tts-synthetic', 'characters-style'));
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bin = join(here, '..', 'dist', 'bin', 'murmur.js');

const { loadConfig } = await import('../dist/src/config.js');
const { createRuntime } = await import('../dist/src/runtime/create-runtime.js');
const { ttsConfigFor } = await import('../dist/src/engines/speech/tts.js');
const home = mkdtempSync(join(tmpdir(), 'murmur-bench-tts-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9' };
const config = loadConfig(env, { keepAliveMs: -1 });
const runtime = await createRuntime(config);
const model = await runtime.pull(modelDir, { name: 'bench-voice' });

const sentences = [
  'The morning train was late again.',
  'Nobody on the platform seemed surprised.',
  'A man in a grey coat read yesterday’s paper.',
  'Two children counted the pigeons out loud.',
  'The announcer apologised for the delay.',
  'Somewhere a dog barked at the wind.',
  'The clock above the exit had stopped at nine.',
  'A woman laughed into her phone.',
  'Finally the rails began to hum.',
  'Everyone stepped forward at once.',
];
const text = sentences.join(' ');

// 1. RTF: murmur (warm) vs sherpa-onnx directly.
const sherpa = createRequire(import.meta.url)('sherpa-onnx-node');
const direct = new sherpa.OfflineTts(ttsConfigFor(config, model));
const directRun = async () => {
  const t = performance.now();
  let samples = 0;
  for (const s of sentences) samples += (await direct.generateAsync({ text: s, sid: 0, speed: 1 })).samples.length;
  return (performance.now() - t) / 1000 / (samples / direct.sampleRate);
};
const murmurRun = async () => (await runtime.speak({ model: 'bench-voice', text })).timings.realTimeFactor;
await murmurRun();
await directRun();
const rtfMurmur = median(await [...Array(runs)].reduce((p) => p.then(async (a) => [...a, await murmurRun()]), Promise.resolve([])));
const rtfDirect = median(await [...Array(runs)].reduce((p) => p.then(async (a) => [...a, await directRun()]), Promise.resolve([])));

// 2. First audio of 10 sentences vs the first sentence alone.
const firstAudio = [];
const firstAlone = [];
for (let i = 0; i < runs; i++) {
  firstAudio.push((await runtime.speak({ model: 'bench-voice', text, onAudio: () => {} })).timings.firstAudioMs);
  firstAlone.push((await runtime.speak({ model: 'bench-voice', text: sentences[0] })).timings.totalMs);
}

// 3. Batch --jobs 2 vs --jobs 1 through the built CLI.
const lines = Array.from({ length: Number(values.lines) }, (_, i) => sentences[i % sentences.length]).join('\n');
const batchFile = join(home, 'lines.txt');
writeFileSync(batchFile, lines);
const batch = (jobs) => {
  const out = join(home, `out-${jobs}-${Date.now()}`);
  const t = performance.now();
  execFileSync(process.execPath, [bin, 'speak', '--local', '--model', 'bench-voice', '--batch', batchFile, '--out-dir', out, '--jobs', String(jobs)], { env, stdio: 'ignore' });
  return (performance.now() - t) / 1000;
};
const jobs1 = median([batch(1), batch(1), batch(1)]);
const jobs2 = median([batch(2), batch(2), batch(2)]);

const row = (name, value, goal) => console.log(`${name.padEnd(44)} ${value.padStart(14)}   ${goal}`);
console.log(`model: ${modelDir} (${model.family}, ${config.threads} thread(s))\n`);
row('RTF murmur / sherpa-onnx direct', `${rtfMurmur.toFixed(4)} / ${rtfDirect.toFixed(4)}`, `ratio ${(rtfMurmur / rtfDirect).toFixed(3)} (goal <= 1.05)`);
row('first audio, 10 sentences / first alone (ms)', `${median(firstAudio).toFixed(2)} / ${median(firstAlone).toFixed(2)}`, `ratio ${(median(firstAudio) / median(firstAlone)).toFixed(3)} (goal <= 1.2)`);
row(`batch of ${values.lines}: --jobs 1 / --jobs 2 (s)`, `${jobs1.toFixed(2)} / ${jobs2.toFixed(2)}`, `speed-up ${(jobs1 / jobs2).toFixed(2)}x (goal >= 1.6)`);

await runtime[Symbol.asyncDispose]();
rmSync(home, { recursive: true, force: true });
