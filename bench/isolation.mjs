#!/usr/bin/env node
// bench/isolation.mjs: what engine processes cost and what they buy. Two
// daemons side by side on one store, `serve --isolation none` (engines in
// the daemon) and `serve --isolation process` (each model in an engine
// process), measured in alternating rounds:
//
// 1. Chat streaming: decode tokens/s and time to first token (median of
//    paired rounds; goal ≥ 0.95× and +≤ 2 ms through a process).
// 2. Speech and transcription real-time factors (goal within 5%).
// 3. Mixed load for --seconds each: 8 chat clients alone, then 8 chat + 4
//    speech + 4 transcription clients; chat requests/s and p99 latency
//    (goal: mixed ≥ 50% of alone, p99 ≤ 2× alone), on both daemons.
// 4. The price of a process: a model's load time (unload, then one request)
//    and each engine process's RSS.
// 5. Recovery: an engine killed with SIGKILL; time until the next request
//    to it is answered (goal ≤ 2 s).
//
//   npx tsc -p . && node bench/isolation.mjs [--runs 9] [--seconds 20] [--voice DIR]
//
// --voice: a heavier Piper-style voice (bench/make-heavy-voice.py) so speech
// costs real CPU; the shared synthetic voice by default. Models come from
// MURMUR_TEST_MODELS or ../shared/models.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyLines } from './lines.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, seconds: { type: 'string', default: '20' }, voice: { type: 'string' }, tokens: { type: 'string', default: '200' } } });
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(bin)) throw new Error('run `npx tsc -p .` first');
const wav = readFileSync(join(models, 'yesno-tdnn-ctc', 'test_wavs', '1_0_1_1_1_0_1_0.wav'));
/** The clip repeated to a minute (8 kHz 16-bit mono), for real-time factors that are not all per-request overhead. */
const minuteWav = (() => {
  const pcm = wav.subarray(44);
  const bytes = 60 * 8000 * 2;
  const out = Buffer.alloc(44 + bytes);
  wav.copy(out, 0, 0, 44);
  out.writeUInt32LE(36 + bytes, 4);
  out.writeUInt32LE(bytes, 40);
  for (let at = 0; at < bytes; at += pcm.length) pcm.copy(out, 44 + at, 0, Math.min(pcm.length, bytes - at));
  return out;
})();

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-isolation-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_KEEP_ALIVE: '-1', MURMUR_GPU: process.env.MURMUR_GPU ?? 'off', MURMUR_MAX_LOADED: '8', MURMUR_MAX_QUEUE: '64', MURMUR_ISOLATION: '' };
const pull = (source, name) => execFileSync(process.execPath, [bin, 'pull', source, '--name', name], { env, stdio: 'ignore' });
pull(join(models, 'stories260K', 'stories260K.gguf'), 'tiny');
pull(values.voice ? resolve(values.voice) : join(models, 'tts-synthetic', 'piper-style'), 'voice');
pull(join(models, 'yesno-tdnn-ctc'), 'yesno');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const startDaemon = (isolation) =>
  new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--isolation', isolation], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = /listening on (\S+)/.exec(text);
      if (match) done({ child, url: match[1], isolation });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
  });

const post = (url, path, body) => fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** One streamed chat: tokens/s after the first token, and the time to it. */
const streamChat = async (url) => {
  const start = performance.now();
  const res = await post(url, '/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0, seed: 1, max_tokens: Number(values.tokens), stream: true, stream_options: { include_usage: true } });
  let first;
  let tokens = 0;
  for await (const line of bodyLines(res.body)) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6));
    if (chunk.choices[0]?.delta?.content) first ??= performance.now();
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  const end = performance.now();
  return { tps: ((tokens - 1) * 1000) / (end - first), ttft: first - start };
};

/** Seconds of work per second of audio for one synthesis (raw 24 kHz PCM out). */
const speechRtf = async (url) => {
  const start = performance.now();
  const res = await post(url, '/v1/audio/speech', { model: 'voice', input: 'The quick brown fox jumps over the lazy dog, and then it runs far away into the woods.', response_format: 'pcm' });
  const bytes = (await res.arrayBuffer()).byteLength;
  if (res.status !== 200) throw new Error(`speech: ${res.status}`);
  return (performance.now() - start) / 1000 / (bytes / 2 / 24_000);
};

const transcribe = (url, audio = wav) => {
  const form = new FormData();
  form.append('file', new Blob([audio], { type: 'audio/wav' }), 'yesno.wav');
  form.append('model', 'yesno');
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
};
const asrRtf = async (url) => {
  const start = performance.now();
  const res = await transcribe(url, minuteWav);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`transcription: ${res.status}`);
  return (performance.now() - start) / 1000 / 60;
};

/** Clients looping a request until the deadline; returns each request's latency in ms and the failures. */
const loop = async (clients, request, until) => {
  const latencies = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        const res = await request().catch(() => undefined);
        if (res) await res.arrayBuffer();
        if (!res || res.status !== 200) failures += 1;
        else latencies.push(performance.now() - start);
      }
    }),
  );
  return { latencies, failures };
};

const shortChat = (url) => () => post(url, '/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 32 });
const mixedLoad = async (daemon, withSpeech) => {
  const until = performance.now() + seconds * 1000;
  const [chat, speech, asr] = await Promise.all([
    loop(8, shortChat(daemon.url), until),
    withSpeech ? loop(4, () => post(daemon.url, '/v1/audio/speech', { model: 'voice', input: 'The quick brown fox jumps over the lazy dog.', response_format: 'mp3' }), until) : undefined,
    withSpeech ? loop(4, () => transcribe(daemon.url), until) : undefined,
  ]);
  return {
    chatPerSecond: chat.latencies.length / seconds,
    chatP50Ms: percentile(chat.latencies, 50),
    chatP99Ms: percentile(chat.latencies, 99),
    failures: chat.failures + (speech?.failures ?? 0) + (asr?.failures ?? 0),
    ...(withSpeech ? { speechPerSecond: speech.latencies.length / seconds, transcriptionsPerSecond: asr.latencies.length / seconds } : {}),
  };
};

const ps = async (url) => (await (await fetch(`${url}/murmur/v1/ps`)).json()).models;
/** CPU seconds a process has used (user + system). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
/** Runs `work`, then says what share of one core each process (the daemon and its engines) used meanwhile. */
const cpuShares = async (daemon, work) => {
  const pids = { daemon: daemon.child.pid, ...Object.fromEntries((await ps(daemon.url)).filter((m) => m.pid).map((m) => [m.name, m.pid])) };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const start = performance.now();
  const result = await work();
  const wall = (performance.now() - start) / 1000;
  const shares = Object.fromEntries(Object.entries(pids).map(([k, pid]) => { try { return [k, Math.round(((cpuSeconds(pid) - before[k]) / wall) * 100) / 100]; } catch { return [k, null]; } }));
  return { ...result, cpuCores: shares };
};

const daemons = [];
try {
  const none = await startDaemon('none');
  const isolated = await startDaemon('process');
  daemons.push(none, isolated);
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  for (const d of daemons) {
    for (let i = 0; i < 3; i++) await streamChat(d.url);
    await speechRtf(d.url);
    await asrRtf(d.url);
  }

  // 1 and 2: paired, alternating rounds.
  const paired = { chat: [], speech: [], asr: [] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [none, isolated] : [isolated, none];
    const round = {};
    for (const d of order) round[d.isolation] = { chat: await streamChat(d.url), speech: await speechRtf(d.url), asr: await asrRtf(d.url) };
    paired.chat.push({ tpsRatio: round.process.chat.tps / round.none.chat.tps, ttftAddedMs: round.process.chat.ttft - round.none.chat.ttft, none: round.none.chat, process: round.process.chat });
    paired.speech.push({ ratio: round.process.speech / round.none.speech, none: round.none.speech, process: round.process.speech });
    paired.asr.push({ ratio: round.process.asr / round.none.asr, none: round.none.asr, process: round.process.asr });
  }
  const streaming = {
    tokensPerSecond: { none: median(paired.chat.map((p) => p.none.tps)), process: median(paired.chat.map((p) => p.process.tps)), ratio: median(paired.chat.map((p) => p.tpsRatio)) },
    firstTokenMs: { none: median(paired.chat.map((p) => p.none.ttft)), process: median(paired.chat.map((p) => p.process.ttft)), addedMs: median(paired.chat.map((p) => p.ttftAddedMs)) },
    speechRtf: { none: median(paired.speech.map((p) => p.none)), process: median(paired.speech.map((p) => p.process)), ratio: median(paired.speech.map((p) => p.ratio)) },
    transcriptionRtf: { none: median(paired.asr.map((p) => p.none)), process: median(paired.asr.map((p) => p.process)), ratio: median(paired.asr.map((p) => p.ratio)) },
  };

  // 3: mixed load, one daemon at a time (the other idle).
  const mixed = {};
  for (const d of daemons) {
    const alone = await cpuShares(d, () => mixedLoad(d, false));
    const together = await cpuShares(d, () => mixedLoad(d, true));
    mixed[d.isolation] = { alone, mixed: together, chatThroughputRatio: together.chatPerSecond / alone.chatPerSecond, chatP99Ratio: together.chatP99Ms / alone.chatP99Ms };
  }

  // 4: the price of a process.
  const engines = (await ps(isolated.url)).map((m) => ({ name: m.name, rssMb: Math.round(rssMb(m.pid) * 10) / 10 }));
  const loadTimes = { none: [], process: [] };
  for (let i = 0; i < 5; i++) {
    for (const d of daemons) {
      await post(d.url, '/murmur/v1/unload', { model: 'tiny' });
      const start = performance.now();
      await (await shortChat(d.url)()).arrayBuffer();
      loadTimes[d.isolation].push(performance.now() - start);
    }
  }

  // 5: recovery after a kill.
  const recovery = [];
  for (let i = 0; i < 3; i++) {
    const pid = (await ps(isolated.url)).find((m) => m.name === 'tiny')?.pid ?? (await (await shortChat(isolated.url)()).arrayBuffer(), (await ps(isolated.url)).find((m) => m.name === 'tiny').pid);
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const start = performance.now();
    const res = await shortChat(isolated.url)();
    await res.arrayBuffer();
    recovery.push({ status: res.status, ms: performance.now() - start });
  }

  const result = {
    runs,
    seconds,
    voice: values.voice ? 'heavy (--voice)' : 'synthetic',
    load: `${loadBefore} before, ${load()} after`,
    streaming,
    mixed,
    engineProcesses: engines,
    modelLoadMs: { none: median(loadTimes.none), process: median(loadTimes.process) },
    recoveryAfterKill: recovery,
    daemonRssMb: { none: Math.round(rssMb(none.child.pid)), process: Math.round(rssMb(isolated.child.pid)) },
  };
  console.log(JSON.stringify(result, null, 2));
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  console.error(
    [
      `streaming through an engine process: ${pct(streaming.tokensPerSecond.ratio)} of in-daemon tokens/s (goal ≥ 95%), ${streaming.firstTokenMs.addedMs >= 0 ? '+' : ''}${streaming.firstTokenMs.addedMs.toFixed(1)} ms to first token (goal ≤ 2 ms)`,
      `speech RTF ×${streaming.speechRtf.ratio.toFixed(3)}, transcription RTF ×${streaming.transcriptionRtf.ratio.toFixed(3)} (goal within 5%)`,
      ...daemons.map((d) => `mixed load, ${d.isolation}: chat ${pct(mixed[d.isolation].chatThroughputRatio)} of alone (goal ≥ 50%), p99 ×${mixed[d.isolation].chatP99Ratio.toFixed(2)} (goal ≤ 2×), ${mixed[d.isolation].mixed.failures} failures`),
      `load: ${result.modelLoadMs.none.toFixed(0)} ms in the daemon, ${result.modelLoadMs.process.toFixed(0)} ms in a process; engine RSS ${engines.map((e) => `${e.name} ${e.rssMb} MB`).join(', ')}`,
      `after a kill: ${recovery.map((r) => `${r.status} in ${r.ms.toFixed(0)} ms`).join(', ')} (goal ≤ 2 s)`,
    ].join('\n'),
  );
} finally {
  for (const d of daemons) d.child.kill('SIGTERM');
  await Promise.all(daemons.map((d) => new Promise((r) => (d.child.exitCode !== null ? r() : d.child.once('exit', r)))));
  rmSync(home, { recursive: true, force: true });
}
