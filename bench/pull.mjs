#!/usr/bin/env node
// Pull figures (issue 2), run by hand after `npm run build`:
//   node bench/pull.mjs [--size-mb 1024] [--runs 5] [--dir DIR]
// --dir: where the served file, curl's output and the pull's store live
// (default the system's temporary directory). On a machine whose disk
// write-back stalls at random, a tmpfs (/dev/shm) takes the disk out of both
// sides and leaves the two clients' own costs.
// 1. `murmur --help` wall time, median of 30 runs, each paired with a bare Node start.
// 2. A pull of a ~1 GB file from a local HTTP server (a separate process)
//    with the built CLI vs `curl -o` of the same file: throughput ratio and
//    the CLI's peak RSS (from /usr/bin/time -v, or the child's maxRSS).
//    Rounds alternate which goes first (curl, murmur / murmur, curl), and the
//    figures are medians over rounds and the median of per-round ratios, so a
//    burst of load from elsewhere lands on both sides. The load average is
//    printed before and after: trust the numbers only when it is low.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'bin', 'murmur.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizeMb = arg('--size-mb', 1024);
const runs = arg('--runs', 5);
const dirArg = process.argv.indexOf('--dir');
const baseDir = dirArg > 0 ? resolve(process.argv[dirArg + 1]) : tmpdir();
if (!existsSync(bin)) throw new Error('Build first: npm run build');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const time = (fn) => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

// 1. --help: 30 runs, each paired with a bare `node -e ''` just before it,
// so the figure can be read against what Node's own start costs right now.
const helps = [];
const bare = [];
const added = [];
for (let i = 0; i < 30; i++) {
  const b = time(() => execFileSync(process.execPath, ['-e', ''], { stdio: 'ignore' }));
  const h = time(() => execFileSync(process.execPath, [bin, '--help'], { stdio: 'ignore' }));
  bare.push(b);
  helps.push(h);
  added.push(h - b);
}
console.log(`murmur --help: median ${median(helps).toFixed(0)} ms over 30 runs (min ${Math.min(...helps).toFixed(0)}, max ${Math.max(...helps).toFixed(0)}); bare \`node -e ''\` median ${median(bare).toFixed(0)} ms; murmur's own part (median of paired differences) ${median(added).toFixed(0)} ms`);

// 2. the big file (no sha256 is vouched for, so none is computed, as in a pull of a bare URL): a real GGUF (so the pull recognizes it) padded with zeros.
const work = mkdtempSync(join(baseDir, 'murmur-bench-'));
const served = join(work, 'www');
mkdirSync(served);
const big = join(served, 'big.gguf');
const seed = process.env.MURMUR_TEST_MODELS ? join(process.env.MURMUR_TEST_MODELS, 'stories260K', 'stories260K.gguf') : join(root, '..', 'shared', 'models', 'stories260K', 'stories260K.gguf');
copyFileSync(seed, big);
const fd = openSync(big, 'r+');
ftruncateSync(fd, sizeMb * 1024 * 1024);
closeSync(fd);
execFileSync('cat', [big], { stdio: 'ignore', maxBuffer: 1 }); // warm the page cache
const bytes = statSync(big).size;

const serverCode = `
const http = require('node:http'); const fs = require('node:fs');
const file = process.argv[1]; const size = fs.statSync(file).size;
http.createServer((req, res) => {
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
const server = spawn(process.execPath, ['-e', serverCode, big], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((res) => server.stdout.once('data', (d) => res(Number(String(d).trim()))));
const url = `http://127.0.0.1:${port}/big.gguf`;

const hasTime = existsSync('/usr/bin/time');
const curl = [];
const murmur = [];
const transfer = [];
const rss = [];
const runCurl = () => {
  const out = join(work, 'curl.out');
  const ms = time(() => execFileSync('curl', ['-s', '-o', out, url]));
  rmSync(out, { force: true });
  return ms;
};

const runMurmur = async (i) => {
  const home = join(work, `home-${i}`);
  const env = { ...process.env, MURMUR_HOME: home, MURMUR_MIRROR: '' };
  const args = [bin, 'pull', url, '--name', 'bench-big', '--json'];
  const start = process.hrtime.bigint();
  const child = hasTime ? spawn('/usr/bin/time', ['-v', process.execPath, ...args], { env }) : spawn(process.execPath, args, { env });
  let stderr = '';
  let buffered = '';
  let resolved;
  let succeeded;
  // --json progress lines come on stderr (with /usr/bin/time's report after them); stdout holds the result.
  child.stdout.resume();
  child.stderr.on('data', (d) => {
    stderr += d;
    buffered += d;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line);
      const at = Number(process.hrtime.bigint() - start) / 1e6;
      if (event.status === 'resolving') resolved = at;
      if (event.status === 'success') succeeded = at;
    }
  });
  const code = await new Promise((res) => child.on('close', res));
  if (code !== 0) throw new Error(`pull failed: ${stderr}`);
  const whole = Number(process.hrtime.bigint() - start) / 1e6;
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  rmSync(home, { recursive: true, force: true });
  return { whole, transfer: succeeded - resolved, rss: kb ? Number(kb[1]) / 1024 : undefined };
};

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();
const ratios = [];
for (let i = 0; i < runs; i++) {
  let c;
  let m;
  if (i % 2 === 0) {
    c = runCurl();
    m = await runMurmur(i);
  } else {
    m = await runMurmur(i);
    c = runCurl();
  }
  curl.push(c);
  murmur.push(m.whole);
  transfer.push(m.transfer);
  if (m.rss !== undefined) rss.push(m.rss);
  ratios.push(c / m.whole);
  console.log(`  round ${i + 1}: curl ${c.toFixed(0)} ms, murmur ${m.whole.toFixed(0)} ms (${(m.transfer).toFixed(0)} ms resolve→installed), ratio ${(c / m.whole * 100).toFixed(0)}%`);
}
server.kill();
rmSync(work, { recursive: true, force: true });

const mbps = (ms) => bytes / 1e6 / (ms / 1000);
const c = median(curl);
const m = median(murmur);
console.log(`file: ${(bytes / 1e6).toFixed(0)} MB over http://127.0.0.1 into ${baseDir}, ${runs} alternating rounds, medians; load average ${loadBefore} before, ${load()} after`);
console.log(`curl -o:      ${c.toFixed(0)} ms  ${mbps(c).toFixed(0)} MB/s`);
const x = median(transfer);
console.log(`murmur pull:  ${m.toFixed(0)} ms  ${mbps(m).toFixed(0)} MB/s  (whole command: process start, catalog load, download, recognition, manifest)`);
console.log(`  of which resolve→installed: ${x.toFixed(0)} ms  ${mbps(x).toFixed(0)} MB/s`);
console.log(`ratio murmur/curl throughput: ${(c / m * 100).toFixed(0)}% (whole command, medians), ${(median(ratios) * 100).toFixed(0)}% (median of per-round ratios), ${(c / x * 100).toFixed(0)}% (resolve→installed)`);
if (rss.length) console.log(`murmur pull peak RSS: ${Math.max(...rss).toFixed(0)} MB (max over runs)`);
