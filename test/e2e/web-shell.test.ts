import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';

/** The page's shell on a real `murmur serve`, in Debian's chromium: views, the key prompt, the Ollama probe beside it. */

const skip = missingBrowser();
const KEY = 'web-shell-key';

describe.skipIf(skip)(`the browser page's shell${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let browser: Browser;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: KEY, MURMUR_DEBUG: '', MURMUR_HOST: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-'));
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('serves the page to a browser and "Ollama is running" to an Ollama probe, its assets without a key, compressed and cached', async () => {
    const page = await fetch(`${daemon.url}/`, { headers: { Accept: 'text/html', 'Accept-Encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const script = /src="(\/web\/assets\/app\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${daemon.url}${script}`, { headers: { 'Accept-Encoding': 'br' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect(asset.headers.get('etag')).toBeTruthy();
    expect((await fetch(`${daemon.url}${script}`, { headers: { 'If-None-Match': asset.headers.get('etag')! } })).status).toBe(304);
    expect(await (await fetch(`${daemon.url}/`)).text()).toBe('Ollama is running');
    // The API still wants the key.
    expect((await fetch(`${daemon.url}/murmur/v1/models`)).status).toBe(401);
  });

  it('asks for the key once, keeps it, and switches views by the hash', async () => {
    const context = await newContext(browser, daemon.url);
    const page = await context.newPage();
    await page.goto('/#models');
    await page.getByLabel('API key', { exact: true }).waitFor();
    await page.getByLabel('API key', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => page.getByText('The key was refused').count()).toBe(1);
    await page.getByLabel('API key', { exact: true }).fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    await page.getByRole('link', { name: 'Speak' }).click();
    await page.getByRole('heading', { name: 'Speak' }).waitFor();
    expect(new URL(page.url()).hash).toBe('#speak');
    // A reload keeps the view and the key.
    await page.reload();
    await page.getByRole('heading', { name: 'Speak' }).waitFor();
    expect(await page.getByLabel('API key', { exact: true }).count()).toBe(0);
    await context.close();
  });
});
