import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';

/** The page open while its daemon restarts: it says the daemon is gone, then carries on when one answers again at the same address. */

const skip = missingBrowser();

describe.skipIf(skip)(`the browser page across a daemon restart${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let browser: Browser;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_HOST: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-restart-'));
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the Status view says the daemon is gone while it is, and shows the new one once it answers', async () => {
    const context = await newContext(browser, daemon.url);
    const page = await context.newPage();
    await page.goto('/#status');
    const pid = page.locator('[data-fact="state"]');
    await expect.poll(() => pid.textContent()).toMatch(/pid \d+/);
    const before = /pid (\d+)/.exec((await pid.textContent())!)![1];
    const port = new URL(daemon.url).port;
    await daemon.stop();
    await page.getByRole('alert').filter({ hasText: 'does not answer' }).waitFor({ timeout: 20_000 });
    // A new daemon at the same address: the page, never reloaded, finds it.
    daemon = await startDaemon(env(), ['--gpu', 'off', '--port', port]);
    await expect.poll(async () => /pid (\d+)/.exec((await pid.textContent()) ?? '')?.[1], { timeout: 20_000 }).not.toBe(before);
    await expect.poll(() => page.getByRole('alert').count(), { timeout: 10_000 }).toBe(0);
    await context.close();
  }, 60_000);
});
