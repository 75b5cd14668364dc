import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, MIRROR_FILES, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The page's Models and Status views on a real `murmur serve`, in Debian's
 * chromium: the installed tiny model loads and unloads, a catalog entry pulls
 * from a mirror on 127.0.0.1 with its progress (and resumes after a reload),
 * remove asks first; Status shows the daemon and draws its charts.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingBrowser() ?? (missingModels(GGUF, ...MIRROR_MODELS) ? 'the shared test models are missing' : undefined);
const PULLED = 'test-stories260k';

describe.skipIf(skip)(`the page's Models and Status views${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let mirror: string;
  let fixture: HttpFixture;
  let daemon: Daemon;
  let browser: Browser;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_HOST: '', MURMUR_MIRROR: fixture.url, MURMUR_CATALOG: FIXTURE_CATALOG });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-models-'));
    mirror = buildMirror();
    fixture = await startHttpFixture(mirror);
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await fixture?.close();
    for (const dir of [home, mirror]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = async (hash: string): Promise<Page> => {
    const context = await newContext(browser, daemon.url);
    const page = await context.newPage();
    await page.goto(`/#${hash}`);
    return page;
  };
  const installedRow = (page: Page, name: string) => page.locator(`table[aria-labelledby="models-installed"] tr[data-model="${name}"]`);
  const catalogRow = (page: Page, name: string) => page.locator(`tr[data-entry="${name}"]`);

  it('lists the installed model; load and unload change its state', async () => {
    const page = await open('models');
    const row = installedRow(page, 'tiny');
    await row.waitFor();
    expect(await row.locator('td').first().textContent()).toBe('llm');
    try {
      await expect.poll(() => row.locator('.models-state').textContent()).toContain('not loaded');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${daemon.stderr()}`);
    }
    await page.getByRole('button', { name: 'Load tiny' }).click();
    await page.getByRole('button', { name: 'Unload tiny' }).waitFor({ timeout: 30_000 });
    expect(await row.locator('.models-state').textContent()).toMatch(/loaded.*unloads in/);
    await page.getByRole('button', { name: 'Unload tiny' }).click();
    await page.getByRole('button', { name: 'Load tiny' }).waitFor();
    expect(await row.locator('.models-state').textContent()).toContain('not loaded');
    await page.context().close();
  });

  it("says when an installed model answers to a catalog entry's alias; one named as the entry is the entry, installed", async () => {
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'qwen3');
    const page = await open('models');
    await expect.poll(() => catalogRow(page, 'qwen3-0.6b').textContent(), { timeout: 10_000 }).toContain('the installed “qwen3” answers to this name');
    expect(await catalogRow(page, PULLED).textContent()).not.toContain('answers to this name');
    await page.context().close();
    await runCli(env(), 'rm', 'qwen3', '--local');
    // An import named as the entry itself is that name's model: the entry shows as installed (the daemon's catalog says so), with no notice.
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'qwen3-0.6b');
    try {
      const again = await open('models');
      await expect.poll(() => catalogRow(again, 'qwen3-0.6b').locator('.models-badge').textContent(), { timeout: 10_000 }).toBe('installed');
      expect(await catalogRow(again, 'qwen3-0.6b').textContent()).not.toContain('answers to this name');
      await again.context().close();
    } finally {
      await runCli(env(), 'rm', 'qwen3-0.6b', '--local');
    }
  });

  it('keeps keyboard focus on the row after an action, and Escape cancels a removal', async () => {
    const page = await open('models');
    const load = page.getByRole('button', { name: 'Load tiny' });
    await load.focus();
    await page.keyboard.press('Enter');
    const unload = page.getByRole('button', { name: 'Unload tiny' });
    await unload.waitFor({ timeout: 30_000 });
    await expect.poll(() => unload.evaluate((el: { ownerDocument: { activeElement: unknown } }) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await load.waitFor();
    await expect.poll(() => load.evaluate((el: { ownerDocument: { activeElement: unknown } }) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.getByRole('button', { name: 'Remove tiny' }).click();
    await page.getByRole('button', { name: 'Keep it' }).waitFor();
    await page.keyboard.press('Escape');
    await load.waitFor();
    expect(await page.getByRole('button', { name: 'Keep it' }).count()).toBe(0);
    expect(await installedRow(page, 'tiny').count()).toBe(1);
    await page.context().close();
  });

  it('pulls a catalog entry from the mirror with its progress to 100%; it then shows as installed; remove asks first', async () => {
    const page = await open('models');
    await catalogRow(page, PULLED).waitFor();
    await page.getByRole('button', { name: `Pull ${PULLED}` }).click();
    const status = page.locator('.models-pull');
    await expect.poll(() => status.locator('.models-pull-note').textContent(), { timeout: 30_000 }).toBe(`${PULLED} installed`);
    expect(await status.locator('.models-pull-percent').textContent()).toBe('100%');
    expect(await status.locator('progress').getAttribute('value')).toBe('100');
    await installedRow(page, PULLED).waitFor();
    await expect.poll(() => catalogRow(page, PULLED).textContent()).toContain('installed');

    // Remove asks first; keeping it keeps it.
    await page.getByRole('button', { name: `Remove ${PULLED}` }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    expect(await installedRow(page, PULLED).count()).toBe(1);
    await page.getByRole('button', { name: `Remove ${PULLED}` }).click();
    await page.getByRole('group', { name: `Remove ${PULLED}?` }).getByRole('button', { name: 'Yes, remove' }).click();
    await expect.poll(() => installedRow(page, PULLED).count()).toBe(0);
    await expect.poll(() => catalogRow(page, PULLED).getByRole('button', { name: `Pull ${PULLED}` }).count()).toBe(1);
    const models = (await (await fetch(`${daemon.url}/murmur/v1/models`)).json()) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name)).toEqual(['tiny']);
    await page.context().close();
  });

  it('a pull cut short by a reload starts again on the next load and resumes where it stopped', async () => {
    const path = `/${MIRROR_FILES.gguf}`;
    fixture.fault(path, { stallAfter: 400_000 });
    const page = await open('models');
    await page.getByRole('button', { name: `Pull ${PULLED}` }).click();
    // Part of the file, then the mirror stalls.
    await expect.poll(() => page.locator('.models-pull-note').textContent(), { timeout: 30_000 }).toMatch(/of 1\.19 MB/);
    const partial = await page.locator('.models-pull-percent').textContent();
    expect(partial).not.toBe('100%');
    await page.reload();
    await expect.poll(() => page.locator('.models-pull-note').textContent(), { timeout: 30_000 }).toBe(`${PULLED} installed`);
    expect(await page.locator('.models-pull-percent').textContent()).toBe('100%');
    await installedRow(page, PULLED).waitFor();
    // The second request for the file asked for the rest of it only.
    const ranged = fixture.requests.filter((r) => r.path === path && r.range);
    expect(ranged.at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/);
    // Ended: the next load does not pull again.
    expect(await page.evaluate("localStorage.getItem('murmur.models.pull')")).toBeNull();
    await page.context().close();
  });

  it('Status draws its charts from the first rate (two scrapes), not once a third has come', async () => {
    const page = await (await newContext(browser, daemon.url)).newPage();
    // /metrics from a stand-in, so what the page has scraped is known: the first two answered, the rest held.
    let scrapes = 0;
    const held: (() => void)[] = [];
    await page.route('**/metrics', async (route) => {
      const n = ++scrapes;
      if (n > 2) {
        await new Promise<void>((resolve) => held.push(resolve));
        return route.abort().catch(() => undefined);
      }
      const body = [
        '# TYPE murmur_tokens_generated_total counter',
        `murmur_tokens_generated_total{model="tiny"} ${n === 1 ? 100 : 160}`,
        '# TYPE murmur_http_requests_total counter',
        `murmur_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} ${n === 1 ? 4 : 6}`,
        '',
      ].join('\n');
      return route.fulfill({ status: 200, contentType: 'text/plain; version=0.0.4', body });
    });
    await page.goto('/#status');
    for (const id of ['tokens', 'requests']) {
      const line = page.locator(`[data-chart="${id}"] polyline`);
      // Attached, not "visible": a level line's box has no height, which Playwright counts as hidden.
      await line.waitFor({ state: 'attached', timeout: 20_000 });
      expect(scrapes).toBeGreaterThanOrEqual(2);
      expect(await line.getAttribute('data-points')).toBe('1');
      // One rate is drawn as a line (a polyline of one point shows nothing), with its value beside the chart.
      expect((await line.getAttribute('points'))!.trim().split(/\s+/).length).toBeGreaterThanOrEqual(2);
      expect(await page.locator(`[data-chart="${id}"] .status-now`).textContent()).toMatch(/^[1-9][\d.]* /);
    }
    held.forEach((resolve) => resolve());
    await page.context().close();
  });

  it('Status shows the version, address and a loaded model, and draws its charts after a chat request', async () => {
    const load = await fetch(`${daemon.url}/murmur/v1/load`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'tiny', keep_alive: '10m' }) });
    expect(load.status).toBe(200);
    const page = await open('status');
    const version = ((await (await fetch(`${daemon.url}/health`)).json()) as { version: string }).version;
    await expect.poll(() => page.locator('[data-fact="version"]').textContent()).toBe(`murmur v${version}`);
    expect(await page.locator('[data-fact="address"]').textContent()).toBe(daemon.url);
    await page.locator('table[aria-labelledby="status-loaded"] tr[data-model="tiny"]').waitFor();

    const chat = await fetch(`${daemon.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 }),
    });
    expect(chat.status).toBe(200);
    const tokens = ((await chat.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    expect(tokens).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-fact="tokens"]').textContent(), { timeout: 20_000 }).toBe(String(tokens));
    // Both charts have drawn a line, and the tokens chart saw the burst.
    for (const id of ['tokens', 'requests']) {
      await expect.poll(() => page.locator(`[data-chart="${id}"] polyline`).count(), { timeout: 20_000 }).toBe(1);
    }
    await expect.poll(() => page.locator('[data-chart="tokens"] .status-max').textContent(), { timeout: 20_000 }).toMatch(/^max [1-9]/);
    expect(await page.locator('[data-chart="requests"] .status-max').textContent()).toMatch(/^max [1-9]/);
    await page.context().close();
  });
});
