#!/usr/bin/env node
// bench/soak.mjs: a daemon under steady load for a long time. 64 clients
// stream chat completions back to back (with --speech, 8 of them speak
// instead) against one `murmur serve` (engines in processes, its default)
// for --minutes. Every 10 s: the daemon's and each engine process's RSS.
// At the end: requests by status (the only errors allowed are queue 503s),
// RSS drift from the end of the first minute to the end (goal ≤ 5%), and
// whether every engine process is still the first one (no restarts).
//
//   npx tsc -p . && node bench/soak.mjs [--minutes 10] [--clients 64] [--speech]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, clients: { type: 'string', default: '64' }, speech: { type: 'boolean', default: false }, tokens: { type: 'string', default: '64' }, 'max-queue': { type: 'string' } } });
const minutes = Number(values.minutes);
const clients = Number(values.clients);
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(bin)) throw new Error('run `npx tsc -p .` first');

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-soak-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_KEEP_ALIVE: '-1', MURMUR_GPU: process.env.MURMUR_GPU ?? 'off', MURMUR_ISOLATION: '' };
execFileSync(process.execPath, [bin, 'pull', join(models, 'stories260K', 'stories260K.gguf'), '--name', 'tiny'], { env, stdio: 'ignore' });
execFileSync(process.execPath, [bin, 'pull', join(models, 'tts-synthetic', 'piper-style'), '--name', 'voice'], { env, stdio: 'ignore' });

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
// --inspect on a loopback port: at the end of the first minute and at the end, the daemon's heap is measured after a full GC (through the inspector), so drift is not just garbage not yet collected.
const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', bin, 'serve', '--port', '0', ...(values['max-queue'] ? ['--max-queue', values['max-queue']] : [])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let inspectorUrl;
const url = await new Promise((done, reject) => {
  let text = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    text += chunk;
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
    const match = /listening on (http\S+)/.exec(text);
    if (match) done(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
});
const post = (path, body) => fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
/** The daemon's heap after a full garbage collection, in MB, asked through its inspector. */
const heapAfterGc = async () => {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(inspectorUrl);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let id = 0;
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const mine = ++id;
      const on = (data) => {
        const message = JSON.parse(String(data));
        if (message.id === mine) {
          ws.off('message', on);
          resolve(message.result);
        }
      };
      ws.on('message', on);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.getHeapUsage');
  ws.close();
  return Math.round((usage.usedSize / 1024 / 1024) * 10) / 10;
};
const engines = async () => Object.fromEntries((await (await fetch(`${url}/murmur/v1/ps`)).json()).models.map((m) => [m.name, m.pid]));

try {
  await (await post('/murmur/v1/load', { model: 'tiny' })).arrayBuffer();
  if (values.speech) await (await post('/murmur/v1/load', { model: 'voice' })).arrayBuffer();
  const first = await engines();
  const statuses = {};
  let streamErrors = 0;
  const count = (key) => (statuses[key] = (statuses[key] ?? 0) + 1);
  const until = performance.now() + minutes * 60_000;
  const samples = [];
  let heapAfterMinute;
  setTimeout(async () => (heapAfterMinute = await heapAfterGc()), Math.min(60_000, minutes * 30_000)).unref();
  const sampler = setInterval(() => {
    const at = Math.round((performance.now() - (until - minutes * 60_000)) / 1000);
    const sample = { at, daemon: rssMb(child.pid) };
    for (const [name, pid] of Object.entries(first)) {
      try {
        sample[name] = rssMb(pid);
      } catch {
        sample[name] = null;
      }
    }
    samples.push(sample);
  }, 10_000);
  const chatOnce = async () => {
    const res = await post('/v1/chat/completions', { model: 'tiny', stream: true, max_tokens: Number(values.tokens), messages: [{ role: 'user', content: 'Once upon a time' }] });
    count(res.status);
    const text = await res.text();
    if (res.status === 200 && (text.includes('"error"') || !text.includes('[DONE]'))) streamErrors += 1;
  };
  const speakOnce = async () => {
    const res = await post('/v1/audio/speech', { model: 'voice', input: 'The quick brown fox jumps over the lazy dog.', response_format: 'mp3' });
    count(`speech ${res.status}`);
    await res.arrayBuffer();
  };
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const once = values.speech && i % 8 === 0 ? speakOnce : chatOnce;
      while (performance.now() < until) await once().catch(() => count('network error'));
    }),
  );
  clearInterval(sampler);
  const heapAtEnd = await heapAfterGc();
  const last = await engines();
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const restarts = [...metrics.matchAll(/^murmur_engine_restarts_total\{model="([^"]+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]);
  const afterMinute = samples.find((s) => s.at >= 60) ?? samples[0];
  const end = samples.at(-1);
  const drift = (key) => (afterMinute && end && afterMinute[key] ? (end[key] - afterMinute[key]) / afterMinute[key] : NaN);
  const result = {
    minutes,
    clients,
    speech: values.speech,
    statuses,
    streamErrors,
    rssMb: { afterFirstMinute: afterMinute, end },
    rssDrift: Object.fromEntries(Object.keys(end ?? {}).filter((k) => k !== 'at').map((k) => [k, drift(k)])),
    daemonHeapAfterGcMb: { afterFirstMinute: heapAfterMinute, end: heapAtEnd },
    sameEngineProcesses: Object.keys(first).length === Object.keys(last).length && Object.entries(first).every(([name, pid]) => last[name] === pid),
    restarts,
    samples,
  };
  console.log(JSON.stringify(result, null, 2));
  const failed = Object.entries(statuses).filter(([k]) => !/^(speech )?(200|503)$/.test(k));
  console.error(
    [
      `${Object.values(statuses).reduce((a, b) => a + b, 0)} requests: ${Object.entries(statuses).map(([k, v]) => `${v}× ${k}`).join(', ')}; ${streamErrors} streams ended in an error (goal: none, and no failures but queue 503s${failed.length ? ` — NOT MET: ${failed.map(([k]) => k).join(', ')}` : ''})`,
      `RSS drift after the first minute: ${Object.entries(result.rssDrift).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')} (goal ≤ 5%)`,
      `daemon heap after a full GC: ${heapAfterMinute} MB after the first minute, ${heapAtEnd} MB at the end`,
      `engine processes: ${result.sameEngineProcesses ? 'all still the first ones' : `CHANGED ${JSON.stringify(first)} → ${JSON.stringify(last)}`}; restarts ${JSON.stringify(restarts)}`,
    ].join('\n'),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  rmSync(home, { recursive: true, force: true });
}
