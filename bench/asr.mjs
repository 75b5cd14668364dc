#!/usr/bin/env node
// bench/asr.mjs: murmur's transcription against sherpa-onnx called directly.
//
//   npx tsc -p . && node bench/asr.mjs [--minutes 60] [--runs 5]
//
// 1. Real-time factor of LocalRuntime.transcribe (VAD off, 30 s windows) vs
//    OfflineRecognizer.decodeAsync on the same 30 s windows of the same audio.
// 2. A long WAV (default 60 min, the yesno test wavs with room tone between
//    them) transcribed with VAD from disk: peak RSS above the RSS with the
//    models loaded.
// 3. A 10 s file: in-process transcribe vs POST /v1/audio/transcriptions on a
//    daemon in this process (median over runs): the time HTTP adds.
// Models: the shared yesno TDNN and Silero VAD (MURMUR_TEST_MODELS or ../shared/models).
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '60' }, runs: { type: 'string', default: '5' }, 'rtf-seconds': { type: 'string', default: '600' } } });
const modelsDir = process.env.MURMUR_TEST_MODELS ?? resolve(here, '..', '..', 'shared', 'models');
const yesnoDir = join(modelsDir, 'yesno-tdnn-ctc');
const sileroDir = join(modelsDir, 'silero-vad');
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { loadConfig } = await import('../dist/src/config.js');
const { createLocalRuntime } = await import('../dist/src/runtime/local-runtime.js');
const { readWav } = await import('../dist/src/audio/wav-read.js');
const { startServer } = await import('../dist/src/server/listen.js');
const config = loadConfig(process.env, { keepAliveMs: -1, threads: Number(process.env.MURMUR_THREADS ?? 1) });

const model = (name, kind, family, dir, layout, extra = {}) => ({
  name, kind, engine: 'sherpa-onnx', family, source: 'bench', layout, files: [], size: 0, pulledAt: new Date().toISOString(), dir, ...extra,
});
const models = [
  model('yesno', 'asr', 'tdnn', yesnoDir, { model: 'model.onnx', tokens: 'tokens.txt' }, { sampleRate: 8000, options: { featureDim: 23 } }),
  model('silero-vad', 'vad', 'silero-vad', sileroDir, { model: 'silero_vad.onnx' }, { sampleRate: 16000 }),
];
const store = { list: async () => models, get: async (n) => models.find((m) => m.name === n), require: async (n) => models.find((m) => m.name === n), pull: async () => { throw new Error('no'); }, remove: async () => {} };
const runtime = createLocalRuntime(config, { store });

// Audio: the test wavs with 2 s of faint noise between them.
const wavs = readdirSync(join(yesnoDir, 'test_wavs')).sort().map((f) => readWav(new Uint8Array(readFileSync(join(yesnoDir, 'test_wavs', f)))));
const rate = wavs[0].sampleRate;
const noise = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 2654435761) % 4096) / 4096 - 0.5) * 0.004);
const gap = noise(2 * rate);
const build = (seconds) => {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let at = 0, i = 0; at < out.length; i++) {
    for (const piece of [gap, wavs[i % wavs.length].samples]) {
      if (at >= out.length) break;
      out.set(piece.subarray(0, out.length - at), at);
      at += piece.length;
    }
  }
  return out;
};
const pcm16 = (samples) => {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767))), i * 2);
  return data;
};
const header = (bytes) => {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + bytes, 4); h.write('WAVEfmt ', 8); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(bytes, 40);
  return h;
};
const tmp = mkdtempSync(join(tmpdir(), 'murmur-bench-asr-'));

// 1. RTF: murmur vs sherpa-onnx directly, --rtf-seconds of audio (default 600: the
//    yes/no model decodes so fast that shorter files measure mostly noise) in 30 s windows.
const rtfSeconds = Number(values['rtf-seconds']);
const sherpa = createRequire(import.meta.url)('sherpa-onnx-node');
const direct = await sherpa.OfflineRecognizer.createAsync({ featConfig: { sampleRate: 8000, featureDim: 23 }, modelConfig: { tdnn: { model: join(yesnoDir, 'model.onnx') }, tokens: join(yesnoDir, 'tokens.txt'), numThreads: config.threads } });
const audio = build(rtfSeconds);
const rtfFile = join(tmp, 'rtf.wav');
writeFileSync(rtfFile, Buffer.concat([header(audio.length * 2), pcm16(audio)]));
const directTimes = [];
const murmurTimes = [];
await runtime.transcribe({ model: 'yesno', input: { path: rtfFile }, vad: false });
for (let r = 0; r < runs; r++) {
  // Both sides start from the file: sherpa-onnx's own readWave for the direct call.
  let t = performance.now();
  const wave = sherpa.readWave(rtfFile);
  for (let i = 0; i < wave.samples.length; i += 30 * rate) {
    const s = direct.createStream();
    s.acceptWaveform({ samples: wave.samples.subarray(i, i + 30 * rate), sampleRate: wave.sampleRate });
    await direct.decodeAsync(s);
  }
  directTimes.push(performance.now() - t);
  t = performance.now();
  await runtime.transcribe({ model: 'yesno', input: { path: rtfFile }, vad: false });
  murmurTimes.push(performance.now() - t);
}
const rtf = (ms) => ms / 1000 / rtfSeconds;
console.log(`RTF, ${rtfSeconds} s, median of ${runs}: sherpa-onnx direct ${rtf(median(directTimes)).toFixed(4)}, murmur ${rtf(median(murmurTimes)).toFixed(4)} (${((median(murmurTimes) / median(directTimes) - 1) * 100).toFixed(1)}%; both read the WAV file)`);

// 2. A long WAV, written in pieces, transcribed with VAD.
const minutes = Number(values.minutes);
const longFile = join(tmp, 'long.wav');
const fd = openSync(longFile, 'w');
const total = minutes * 60 * rate;
writeSync(fd, header(total * 2));
for (let done = 0; done < total; done += 60 * rate) writeSync(fd, pcm16(build(Math.min(60, (total - done) / rate))));
closeSync(fd);
await runtime.transcribe({ model: 'yesno', input: { path: rtfFile }, vad: true });
globalThis.gc?.();
const base = process.memoryUsage().rss;
let peak = base;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
let t0 = performance.now();
const long = await runtime.transcribe({ model: 'yesno', input: { path: longFile }, vad: true });
clearInterval(timer);
console.log(`${minutes} min WAV with VAD: ${long.segments.length} segments in ${((performance.now() - t0) / 1000).toFixed(1)} s (RTF ${long.timings.realTimeFactor.toFixed(4)}); peak RSS ${((peak - base) / 1e6).toFixed(1)} MB above the ${(base / 1e6).toFixed(0)} MB with models loaded`);

// 3. 10 s file: in-process vs through the daemon.
const ten = build(10);
const tenBytes = Buffer.concat([header(ten.length * 2), pcm16(ten)]);
const server = await startServer(runtime, { hostname: '127.0.0.1', port: 0 });
const url = server.url ?? `http://127.0.0.1:${server.port}`;
const local = [];
const http = [];
for (let r = 0; r < runs + 1; r++) {
  t0 = performance.now();
  await runtime.transcribe({ model: 'yesno', input: { bytes: tenBytes, filename: 'ten.wav' }, vad: false });
  if (r) local.push(performance.now() - t0);
  const form = new FormData();
  form.append('file', new Blob([tenBytes]), 'ten.wav');
  form.append('model', 'yesno');
  form.append('vad', 'false');
  t0 = performance.now();
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  await res.json();
  if (r) http.push(performance.now() - t0);
}
console.log(`10 s file, median of ${runs}: in-process ${median(local).toFixed(1)} ms, through the daemon ${median(http).toFixed(1)} ms (+${(median(http) - median(local)).toFixed(1)} ms)`);
await server.close?.();
await runtime[Symbol.asyncDispose]();
rmSync(tmp, { recursive: true, force: true });
