#!/usr/bin/env node
// The daemon's memory under concurrent large uploads to /v1/audio/transcriptions:
// its RSS before, its peak (VmHWM) and its growth, for N uploads of a WAV of S MB
// sent at once, each streamed from a generator (this process never holds one).
// Usage: npm run build && node bench/upload.mjs [--uploads 4] [--mb 94] [--model yesno]
// Needs ../shared/models/yesno-tdnn-ctc (or MURMUR_TEST_MODELS). Linux (reads /proc).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { uploads: { type: 'string', default: '4' }, mb: { type: 'string', default: '94' }, model: { type: 'string', default: 'yesno' } } });
const uploads = Number(values.uploads);
const dataBytes = Math.round(Number(values.mb) * 1e6) & ~1;
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const yesno = join(models, 'yesno-tdnn-ctc');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(yesno)) throw new Error(`missing model ${yesno}`);
if (!existsSync(bin)) throw new Error('run `npm run build` first');

const home = mkdtempSync(join(tmpdir(), 'murmur-bench-upload-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_GPU: 'off', MURMUR_THREADS: process.env.MURMUR_THREADS ?? '1' };
execFileSync(process.execPath, [bin, 'pull', yesno, '--name', 'yesno'], { env, stdio: 'ignore' });

const daemon = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let chatter = '';
daemon.stderr.setEncoding('utf8').on('data', (text) => (chatter += text));
const url = new URL(
  await new Promise((done, fail) => {
    const look = () => /listening on (http:\/\/\S+)/.exec(chatter)?.[1];
    daemon.stderr.on('data', () => look() && done(look()));
    daemon.once('exit', (code) => fail(new Error(`serve exited (${code}): ${chatter}`)));
  }),
);

/** kB figures from /proc/PID/status. */
const status = () => Object.fromEntries([...readFileSync(`/proc/${daemon.pid}/status`, 'utf8').matchAll(/^(VmRSS|VmHWM):\s+(\d+) kB/gm)].map((m) => [m[1], Number(m[2]) * 1024]));

const header = (bytes, rate = 8000) => {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + bytes, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(bytes, 40);
  return h;
};

/** One multipart upload (file first, then model), written piece by piece as the socket takes it. */
const upload = () =>
  new Promise((done, fail) => {
    const boundary = `----murmur${Math.random().toString(16).slice(2)}`;
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="long.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${values.model}\r\n--${boundary}\r\nContent-Disposition: form-data; name="vad"\r\n\r\nfalse\r\n--${boundary}--\r\n`);
    const length = head.length + 44 + dataBytes + tail.length;
    const req = request(url, { method: 'POST', path: '/v1/audio/transcriptions', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': length } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (t) => (body += t)).on('end', () => done({ status: res.statusCode, body: body.slice(0, 200) }));
    });
    req.on('error', fail);
    const piece = Buffer.alloc(1 << 20);
    for (let i = 0; i < piece.length; i += 2) piece.writeInt16LE(Math.round(Math.sin(i / 7) * 3000), i);
    let sent = 0;
    const pump = () => {
      while (sent < dataBytes) {
        const n = Math.min(piece.length, dataBytes - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    req.write(head);
    req.write(header(dataBytes));
    pump();
  });

await new Promise((r) => setTimeout(r, 500));
const before = status();
let peakSampled = before.VmRSS;
const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, status().VmRSS)), 20);
const started = performance.now();
const results = await Promise.all(Array.from({ length: uploads }, upload));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const after = status();
const leftover = (existsSync(join(home, 'tmp')) ? readdirSync(join(home, 'tmp')) : []).filter((n) => n.startsWith('murmur-upload-'));
daemon.kill('SIGTERM');
const killer = setTimeout(() => daemon.kill('SIGKILL'), 5000);
await new Promise((r) => daemon.once('exit', r));
clearTimeout(killer);
rmSync(home, { recursive: true, force: true });

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
console.log(
  JSON.stringify(
    {
      uploads,
      uploadMB: (dataBytes + 44) / 1e6,
      statuses: results.map((r) => r.status),
      first: results[0].body,
      seconds: Number(seconds.toFixed(1)),
      rssBefore: mb(before.VmRSS),
      rssPeak: mb(Math.max(after.VmHWM, peakSampled)),
      growth: mb(Math.max(after.VmHWM, peakSampled) - before.VmRSS),
      tempFilesLeft: leftover.length,
    },
    null,
    2,
  ),
);
