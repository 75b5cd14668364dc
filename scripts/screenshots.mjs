#!/usr/bin/env node
// scripts/screenshots.mjs: PNG screenshots of the browser page's views for
// the docs. Starts a daemon of its own (a temp MURMUR_HOME) with the shared
// test models: stories260K as `tiny`, the piper-style synthetic voice as
// `voice`, yesno as `yesno`, silero as `vad` (tiny loaded, so the status
// and models views have something to show), then shoots each view in light
// and dark at wide (1280x800) and narrow (390x844) widths into
// docs/screenshots/VIEW-SCHEME-WIDTH.png: the viewport only (no full page),
// at a device scale of 1, to keep the files small.
//
//   npm run build && node scripts/screenshots.mjs [--views chat,talk] [--out docs/screenshots] [--build]
//   (MURMUR_TEST_MODELS: where the shared models are, default ../shared/models)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VIEWS = ['chat', 'talk', 'speak', 'transcribe', 'models', 'status'];
const { values } = parseArgs({ options: { views: { type: 'string', default: VIEWS.join(',') }, out: { type: 'string', default: join(root, 'docs', 'screenshots') }, build: { type: 'boolean', default: false } } });
const views = values.views.split(',').map((v) => v.trim()).filter(Boolean);
for (const v of views) if (!VIEWS.includes(v)) throw new Error(`no view '${v}' (views: ${VIEWS.join(', ')})`);
const out = resolve(values.out);
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(bin)) throw new Error('run `npm run build` first');
if (values.build || !existsSync(join(root, 'dist', 'web', 'index.html'))) execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });

// test/helpers/browser.ts's browser and flags (scripts/ cannot import TypeScript).
const CHROMIUM = process.env.MURMUR_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install chromium, or set MURMUR_TEST_CHROMIUM)`);

const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const install = [
  [join(models, 'stories260K', 'stories260K.gguf'), 'tiny'],
  [join(models, 'tts-synthetic', 'piper-style'), 'voice'],
  [join(models, 'yesno-tdnn-ctc'), 'yesno'],
  [join(models, 'silero-vad', 'silero_vad.onnx'), 'vad'],
];
for (const [path] of install) if (!existsSync(path)) throw new Error(`missing shared model ${path}; set MURMUR_TEST_MODELS`);

const home = mkdtempSync(join(tmpdir(), 'murmur-screenshots-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_GPU: 'off', MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_HOST: '', MURMUR_DEBUG: '', MURMUR_KEEP_ALIVE: '-1' };
delete env.MURMUR_WEB;
for (const [path, name] of install) execFileSync(process.execPath, [bin, 'pull', path, '--name', name], { env, stdio: 'ignore' });

const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
const url = await new Promise((done, reject) => {
  let text = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    text += chunk;
    const match = /listening on (\S+)/.exec(text);
    if (match) done(match[1]);
  });
  child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
});

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
const shots = [];
try {
  const loaded = await fetch(`${url}/murmur/v1/load`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'tiny' }) });
  if (!loaded.ok) console.error(`screenshots: could not load tiny (${loaded.status}); the status view shows none loaded`);
  mkdirSync(out, { recursive: true });
  const widths = { wide: { width: 1280, height: 800 }, narrow: { width: 390, height: 844 } };
  for (const scheme of ['light', 'dark']) {
    for (const [width, viewport] of Object.entries(widths)) {
      const context = await browser.newContext({ baseURL: url, colorScheme: scheme, viewport, deviceScaleFactor: 1, reducedMotion: 'reduce' });
      const page = await context.newPage();
      for (const view of views) {
        await page.goto(`/#${view}`, { waitUntil: 'networkidle' });
        // Lists and status fill in after their first fetches; fonts and layout settle.
        await page.waitForLoadState('networkidle');
        await page.evaluate(() => document.fonts?.ready);
        const file = join(out, `${view}-${scheme}-${width}.png`);
        await page.screenshot({ path: file, fullPage: false, animations: 'disabled', caret: 'hide' });
        shots.push({ file: relative(root, file), bytes: statSync(file).size });
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM'))));
  rmSync(home, { recursive: true, force: true });
}
for (const s of shots) console.error(`${s.file}  ${(s.bytes / 1024).toFixed(1)} KB`);
console.log(JSON.stringify({ shots: shots.length, bytes: shots.reduce((n, s) => n + s.bytes, 0), files: shots }));
