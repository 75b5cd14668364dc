#!/usr/bin/env node
// bench/web.mjs: the browser page's weight and first paint. Each file of
// dist/web raw, gzip (-9) and brotli (q11), as the daemon serves them
// (src/server/routes/web.ts compresses the same way), and the whole JS
// against the budget of 150 KB compressed (issue 15; the larger of the two,
// gzip, is what is checked). Then first paint from a cold daemon, in
// rounds: a fresh `murmur serve --port 0` each round and a fresh browser
// context (no cache) in an already running headless chromium (launching
// the browser is not the daemon's cost), the page's first-contentful-paint
// (navigation start to first paint) and the time from spawning the daemon
// to that paint; medians. Reports; the budget is checked by report, the
// exit code says only whether it ran.
//
//   npm run build && node bench/web.mjs [--runs 9] [--build]
//   (--build rebuilds dist/web first; it is built when missing anyway)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, build: { type: 'boolean', default: false } } });
const runs = Number(values.runs);
const bin = join(root, 'dist', 'bin', 'murmur.js');
const web = join(root, 'dist', 'web');
if (!existsSync(bin)) throw new Error('run `npm run build` first');
if (values.build || !existsSync(join(web, 'index.html'))) execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
// test/helpers/browser.ts's browser and flags (bench/ cannot import TypeScript).
const CHROMIUM = process.env.MURMUR_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const BUDGET = 150 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round1 = (x) => Math.round(x * 10) / 10;

// Weight.
const files = [['index.html', join(web, 'index.html')], ...readdirSync(join(web, 'assets')).filter((n) => !/\.(br|gz)$/.test(n)).sort().map((n) => [`assets/${n}`, join(web, 'assets', n)])];
const sizes = files.map(([name, path]) => {
  const bytes = readFileSync(path);
  return { name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }).length };
});
const sum = (list, key) => list.reduce((n, f) => n + f[key], 0);
const js = sizes.filter((f) => f.name.endsWith('.js'));
const jsTotal = { raw: sum(js, 'raw'), gzip: sum(js, 'gzip'), brotli: sum(js, 'brotli') };
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const f of sizes) console.error(`${f.name.padEnd(28)} ${kb(f.raw).padStart(10)} raw ${kb(f.gzip).padStart(10)} gzip ${kb(f.brotli).padStart(10)} brotli`);
const withinBudget = jsTotal.gzip <= BUDGET;
console.error(`all JS: ${kb(jsTotal.raw)} raw, ${kb(jsTotal.gzip)} gzip, ${kb(jsTotal.brotli)} brotli: ${withinBudget ? 'within' : 'OVER'} the budget of ${kb(BUDGET)} compressed`);

// First paint.
if (!existsSync(CHROMIUM)) {
  console.error(`no chromium at ${CHROMIUM}: sizes only`);
  console.log(JSON.stringify({ files: sizes, js: jsTotal, budget: BUDGET, withinBudget }));
  process.exit(0);
}
const { chromium } = await import('playwright-core');
const home = mkdtempSync(join(tmpdir(), 'murmur-bench-web-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_GPU: 'off', MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_HOST: '', MURMUR_DEBUG: '' };
delete env.MURMUR_WEB;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });

/** Spawns a daemon; resolves with its URL and when (epoch ms) it was spawned and said it listens. */
const startDaemon = () =>
  new Promise((done, reject) => {
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = /listening on (\S+)/.exec(text);
      if (match) done({ child, url: match[1], spawnedAt, listeningAt: performance.timeOrigin + performance.now() });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
  });
const stop = (child) => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM'))));

const rounds = [];
try {
  for (let i = 0; i < runs + 1; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const daemon = await startDaemon();
    try {
      await page.goto(`${daemon.url}/`, { waitUntil: 'load' });
      const paint = await page.waitForFunction(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const nav = performance.getEntriesByType('navigation')[0];
        return fcp && { timeOrigin: performance.timeOrigin, fcp: fcp.startTime, fp: performance.getEntriesByName('first-paint')[0]?.startTime ?? null, domContentLoaded: nav?.domContentLoadedEventEnd ?? null };
      }, undefined, { timeout: 10_000 });
      const p = await paint.jsonValue();
      const round = { listenMs: daemon.listeningAt - daemon.spawnedAt, fcpMs: p.fcp, domContentLoadedMs: p.domContentLoaded, daemonToPaintMs: p.timeOrigin + p.fcp - daemon.spawnedAt };
      // The first round warms the disk cache and chromium's own start-up paths: left out.
      if (i > 0) rounds.push(round);
    } finally {
      await context.close();
      await stop(daemon.child);
    }
  }
} finally {
  await browser.close();
  rmSync(home, { recursive: true, force: true });
}
const med = (key) => round1(median(rounds.map((r) => r[key])));
const result = { files: sizes, js: jsTotal, budget: BUDGET, withinBudget, runs, listenMs: med('listenMs'), firstContentfulPaintMs: med('fcpMs'), domContentLoadedMs: med('domContentLoadedMs'), daemonStartToFirstPaintMs: med('daemonToPaintMs') };
console.error(`cold daemon: listening ${result.listenMs} ms after spawn; first contentful paint ${result.firstContentfulPaintMs} ms after navigation; ${result.daemonStartToFirstPaintMs} ms from spawning the daemon to the page's first paint (medians of ${runs})`);
console.log(JSON.stringify(result));
