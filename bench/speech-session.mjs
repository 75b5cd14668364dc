#!/usr/bin/env node
// bench/speech-session.mjs: the speech-session figures of issue 10, by hand:
//   1. first audio of a session, from the append that completes the first
//      sentence, vs that sentence synthesized alone (goal ≤ 1.1×): in
//      process, through the HTTP session door and through the WebSocket;
//   2. a text appended in 20 pieces vs one-shot speak on the joined text:
//      total time (goal within 5%) and the same audio;
//   3. cancel to the last audio byte over HTTP (goal ≤ 50 ms);
//   4. 16 concurrent sessions (no errors) and the daemon's memory per idle
//      session (goal ≤ 1 MB).
//
//   npx tsc -p . && python3 bench/make-heavy-voice.py /tmp/heavy-voice --layers 96
//   node bench/speech-session.mjs [/tmp/heavy-voice] [--runs 7]
//
// Rounds alternate the two sides of each ratio; figures are medians.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '7' } } });
const modelsDir = process.env.MURMUR_TEST_MODELS ?? resolve(here, '..', '..', 'shared', 'models');
const modelDir = resolve(positionals[0] ?? join(modelsDir, 'tts-synthetic', 'characters-style'));
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bin = join(here, '..', 'dist', 'bin', 'murmur.js');
const load = [loadavg().map((n) => n.toFixed(2)).join(' ')];

const { loadConfig } = await import('../dist/src/config.js');
const { createRuntime } = await import('../dist/src/runtime/create-runtime.js');
const home = mkdtempSync(join(tmpdir(), 'murmur-bench-session-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_KEEP_ALIVE: '-1', MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1' };
const runtime = await createRuntime(loadConfig(env, { keepAliveMs: -1 }));
await runtime.pull(modelDir, { name: 'voice' });

const first = 'The morning train was late again, as it so often was.';
const rest = ' Nobody on the platform seemed surprised. A man in a grey coat read yesterday’s paper. Two children counted the pigeons out loud. The announcer apologised for the delay.';
const text = first + rest;
const pieces = Array.from({ length: 20 }, (_, i) => text.slice(Math.floor((i * text.length) / 20), Math.floor(((i + 1) * text.length) / 20)));

// The daemon, on the same store.
const daemon = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
const url = await new Promise((resolveUrl, reject) => {
  let log = '';
  daemon.stderr.on('data', (d) => {
    log += d;
    const m = /listening on (http:\/\/\S+)/.exec(log);
    if (m) resolveUrl(m[1]);
  });
  daemon.once('exit', () => reject(new Error(`daemon exited: ${log}`)));
});
const post = (path, body, method = 'POST') => fetch(`${url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]);

const alone = async () => {
  const t = performance.now();
  await runtime.speak({ model: 'voice', text: first });
  return performance.now() - t;
};
const aloneHttp = async () => {
  const t = performance.now();
  await (await post('/v1/audio/speech', { model: 'voice', input: first, response_format: 'pcm', sample_rate: 'native' })).arrayBuffer();
  return performance.now() - t;
};

/** In process: feed the first sentence in pieces; time from the completing append to the first chunk. */
const firstInProcess = async () => {
  const session = await runtime.openSpeech({ model: 'voice' });
  const it = session[Symbol.asyncIterator]();
  session.append(first.slice(0, 20));
  // The sentence is complete once the next one's first word shows it ended.
  const t = performance.now();
  session.append(`${first.slice(20)} Nobody`);
  await it.next();
  const ms = performance.now() - t;
  session.cancel();
  await it.return();
  return ms;
};

const firstHttp = async () => {
  const { id } = await (await post('/v1/audio/speech/sessions', { model: 'voice', response_format: 'pcm', sample_rate: 'native' })).json();
  const res = await fetch(`${url}/v1/audio/speech/sessions/${id}/audio`);
  const reader = res.body.getReader();
  await post(`/v1/audio/speech/sessions/${id}/input`, { text: first.slice(0, 20) });
  const t = performance.now();
  await post(`/v1/audio/speech/sessions/${id}/input`, { text: `${first.slice(20)} Nobody` });
  await reader.read();
  const ms = performance.now() - t;
  await post(`/v1/audio/speech/sessions/${id}`, undefined, 'DELETE');
  await reader.cancel();
  return ms;
};

const firstWs = () =>
  new Promise((done, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/audio/speech/stream?model=voice&response_format=pcm&sample_rate=native`);
    let t;
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      if (event.type === 'session.created') {
        ws.send(JSON.stringify({ type: 'input_text.append', text: first.slice(0, 20) }));
        t = performance.now();
        ws.send(JSON.stringify({ type: 'input_text.append', text: `${first.slice(20)} Nobody` }));
      } else if (event.type === 'audio.delta' && t !== undefined) {
        const ms = performance.now() - t;
        t = undefined;
        ws.close();
        done(ms);
      }
    });
    ws.on('error', reject);
  });

/** 20 pieces vs one shot, in process: total time and the samples. */
const piecesRun = async () => {
  const t = performance.now();
  const session = await runtime.openSpeech({ model: 'voice' });
  const parts = [];
  const reading = (async () => {
    for await (const chunk of session) parts.push(chunk.samples);
  })();
  for (const piece of pieces) session.append(piece);
  session.close();
  await reading;
  return { ms: performance.now() - t, samples: Float32Array.from(parts.flatMap((p) => [...p])) };
};
const oneShotRun = async () => {
  const t = performance.now();
  const result = await runtime.speak({ model: 'voice', text });
  return { ms: performance.now() - t, samples: result.samples };
};

/** Cancel over HTTP: from sending DELETE to the end of the audio body. */
const cancelRun = async () => {
  const { id } = await (await post('/v1/audio/speech/sessions', { model: 'voice', response_format: 'pcm' })).json();
  const res = await fetch(`${url}/v1/audio/speech/sessions/${id}/audio`);
  const reader = res.body.getReader();
  await post(`/v1/audio/speech/sessions/${id}/input`, { text: text.repeat(4) });
  await reader.read();
  const t = performance.now();
  await post(`/v1/audio/speech/sessions/${id}`, undefined, 'DELETE');
  for (;;) if ((await reader.read()).done) break;
  return performance.now() - t;
};

const ratios = { inProcess: [], http: [], ws: [], pieces: [] };
let same = true;
const cancels = [];
for (let round = 0; round < runs + 2; round++) {
  const warm = round < 2;
  const flip = round % 2 === 1;
  const a = flip ? [await firstInProcess(), await alone()] : [await alone(), await firstInProcess()].reverse();
  const h = flip ? [await firstHttp(), await aloneHttp()] : [await aloneHttp(), await firstHttp()].reverse();
  const w = flip ? [await firstWs(), await aloneHttp()] : [await aloneHttp(), await firstWs()].reverse();
  const p = flip ? [await piecesRun(), await oneShotRun()] : [await oneShotRun(), await piecesRun()].reverse();
  const c = await cancelRun();
  if (warm) continue;
  ratios.inProcess.push(a[0] / a[1]);
  ratios.http.push(h[0] / h[1]);
  ratios.ws.push(w[0] / w[1]);
  ratios.pieces.push(p[0].ms / p[1].ms);
  same &&= p[0].samples.length === p[1].samples.length && p[0].samples.every((v, i) => v === p[1].samples[i]);
  cancels.push(c);
}

// 16 concurrent sessions over HTTP, then the memory of 16 idle ones.
const concurrent = await Promise.allSettled(
  Array.from({ length: 16 }, async () => {
    const { id } = await (await post('/v1/audio/speech/sessions', { model: 'voice', response_format: 'wav' })).json();
    const audio = fetch(`${url}/v1/audio/speech/sessions/${id}/audio`).then((r) => r.arrayBuffer());
    for (const piece of pieces) await post(`/v1/audio/speech/sessions/${id}/input`, { text: piece });
    await post(`/v1/audio/speech/sessions/${id}/close`);
    return (await audio).byteLength;
  }),
);
const errors = concurrent.filter((r) => r.status === 'rejected' || r.value < 1000).length;
global.gc?.();
await new Promise((r) => setTimeout(r, 500));
const before = rssKb();
// Many, so the per-session figure rises above the noise of RSS.
const IDLE = 48;
const idle = [];
for (let i = 0; i < IDLE; i++) idle.push((await (await post('/v1/audio/speech/sessions', { model: 'voice' })).json()).id);
await new Promise((r) => setTimeout(r, 500));
const perSessionKb = (rssKb() - before) / IDLE;
for (const id of idle) await post(`/v1/audio/speech/sessions/${id}`, undefined, 'DELETE');

load.push(loadavg().map((n) => n.toFixed(2)).join(' '));
daemon.kill('SIGTERM');
await runtime[Symbol.asyncDispose]();
rmSync(home, { recursive: true, force: true });
const fmt = (x) => `${x.toFixed(3)}×`;
console.log(JSON.stringify({ model: modelDir, runs, load: `${load[0]} before, ${load[1]} after`, ratios, cancels, errors, perSessionKb }, null, 1));
console.log(`first audio vs its sentence alone: in process ${fmt(median(ratios.inProcess))}, HTTP session ${fmt(median(ratios.http))}, WebSocket ${fmt(median(ratios.ws))} (goal ≤ 1.1×)`);
console.log(`20 pieces vs one shot: ${fmt(median(ratios.pieces))} of the time (goal within 5%), same samples: ${same}`);
console.log(`cancel to the last audio byte over HTTP: ${median(cancels).toFixed(1)} ms (max ${Math.max(...cancels).toFixed(1)}; goal ≤ 50 ms)`);
console.log(`16 concurrent sessions: ${errors} errors; daemon memory per idle session (RSS over ${IDLE}): ${perSessionKb.toFixed(0)} kB (goal ≤ 1024 kB)`);
