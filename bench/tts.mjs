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
import { execFileSync, spawn } from 'node:child_process';
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
// Both measured the same way, from outside: wall time over audio seconds.
const murmurRun = async () => {
  const t = performance.now();
  const result = await runtime.speak({ model: 'bench-voice', text });
  return (performance.now() - t) / 1000 / (result.samples.length / result.sampleRate);
};
await murmurRun();
await directRun();
// Rounds alternate which goes first, so drift in the machine's speed lands on both.
const rtfM = [];
const rtfD = [];
const rtfRatios = [];
for (let i = 0; i < runs; i++) {
  const [m, d] = i % 2 === 0 ? [await murmurRun(), await directRun()] : [await directRun(), await murmurRun()].reverse();
  rtfM.push(m);
  rtfD.push(d);
  rtfRatios.push(m / d);
}
const rtfMurmur = median(rtfM);
const rtfDirect = median(rtfD);

// 2. First audio of 10 sentences vs the first sentence alone.
const firstAudio = [];
const firstAlone = [];
const firstRatios = [];
const tenFirst = async () => (await runtime.speak({ model: 'bench-voice', text, onAudio: () => {} })).timings.firstAudioMs;
const alone = async () => (await runtime.speak({ model: 'bench-voice', text: sentences[0] })).timings.totalMs;
for (let i = 0; i < runs * 2; i++) {
  const [f, a] = i % 2 === 0 ? [await tenFirst(), await alone()] : [await alone(), await tenFirst()].reverse();
  firstAudio.push(f);
  firstAlone.push(a);
  firstRatios.push(f / a);
}

// 2b. The same through the CLI (`speak -o - --format pcm`: time to the first
// byte on stdout vs the whole command for the first sentence) and through a
// daemon (the first byte of POST /v1/audio/speech vs the whole reply for the
// first sentence). Both include what a user waits for: process start, or the
// HTTP round trip.
const firstByte = (args, extraEnv = {}) =>
  new Promise((done, fail) => {
    const t = performance.now();
    let first;
    const child = spawn(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', () => (first ??= performance.now() - t));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done({ first, total: performance.now() - t }) : fail(new Error(`speak exited ${code}`))));
  });
const cliArgs = (words) => ['speak', '--local', '--model', 'bench-voice', '-o', '-', '--format', 'pcm', words];
const cliRatios = [];
for (let i = 0; i < runs; i++) {
  const ten = await firstByte(cliArgs(text));
  const one = await firstByte(cliArgs(sentences[0]));
  cliRatios.push(ten.first / one.total);
}

const daemon = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env: { ...env, MURMUR_KEEP_ALIVE: '-1' }, stdio: ['ignore', 'ignore', 'pipe'] });
const daemonUrl = await new Promise((done, fail) => {
  let seen = '';
  daemon.stderr.on('data', (chunk) => {
    seen += chunk;
    const match = /listening on (\S+)/.exec(seen);
    if (match) done(match[1]);
  });
  daemon.once('exit', (code) => fail(new Error(`serve exited ${code}: ${seen}`)));
});
const speech = async (input) => {
  const t = performance.now();
  const res = await fetch(`${daemonUrl}/v1/audio/speech`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'bench-voice', input, response_format: 'pcm' }),
  });
  let first;
  for await (const _ of res.body) first ??= performance.now() - t;
  return { first, total: performance.now() - t };
};
await speech(sentences[0]); // loads the voice
const httpRatios = [];
for (let i = 0; i < runs * 2; i++) {
  const ten = await speech(text);
  const one = await speech(sentences[0]);
  httpRatios.push(ten.first / one.total);
}
daemon.kill('SIGTERM');

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
row('RTF murmur / sherpa-onnx direct', `${rtfMurmur.toFixed(4)} / ${rtfDirect.toFixed(4)}`, `ratio ${median(rtfRatios).toFixed(3)} (median of ${runs} paired rounds; goal <= 1.05)`);
row('first audio, 10 sentences / first alone (ms)', `${median(firstAudio).toFixed(2)} / ${median(firstAlone).toFixed(2)}`, `ratio ${median(firstRatios).toFixed(3)} (median of ${runs * 2} paired rounds; goal <= 1.2)`);
row('first byte, CLI -o - (10 sentences / 1)', median(cliRatios).toFixed(3), `median of ${runs} rounds, process start included (goal <= 1.2)`);
row('first byte, HTTP /v1/audio/speech (10 / 1)', median(httpRatios).toFixed(3), `median of ${runs * 2} rounds (goal <= 1.2)`);
row(`batch of ${values.lines}: --jobs 1 / --jobs 2 (s)`, `${jobs1.toFixed(2)} / ${jobs2.toFixed(2)}`, `speed-up ${(jobs1 / jobs2).toFixed(2)}x (goal >= 1.6)`);

await runtime[Symbol.asyncDispose]();
rmSync(home, { recursive: true, force: true });
