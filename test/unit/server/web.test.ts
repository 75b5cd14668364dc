import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/server/app.js';
import type { ServerEnv } from '../../../src/server/context.js';
import { loadPage, webRoutes } from '../../../src/server/routes/web.js';
import { createFakeRuntime } from '../../helpers/fake-runtime.js';

/** src/server/routes/web.ts in-process: a page built into a temp dir, and the app with the page off. */

const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'murmur-web-'));
  dirs.push(dir);
  return `${dir}/`;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const HTML = '<!doctype html><title>murmur</title><script type="module" src="/web/assets/app.0123456789.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('murmur '.repeat(200))});`;

/** A built page: index.html and one script, as scripts/build-web.mjs lays them out. */
const built = () => {
  const dir = temp();
  mkdirSync(`${dir}assets`);
  writeFileSync(`${dir}index.html`, HTML);
  writeFileSync(`${dir}assets/app.0123456789.js`, SCRIPT);
  return dir;
};

/** The page's routes alone, as createApp mounts them at `/`. */
const pageApp = (page: ReturnType<typeof loadPage>) => new Hono<ServerEnv>().route('/', webRoutes({ page }));

const browser = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the page off (web: false, as --no-web and MURMUR_WEB=0)', () => {
  it('answers a browser at / as Ollama does, and has no assets', async () => {
    const app = createApp(createFakeRuntime(), { web: false });
    const res = await app.request('/', { headers: browser });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('Ollama is running');
    expect((await app.request('/web/assets/app.0123456789.js')).status).toBe(404);
  });

  it('on, the same request gets HTML and an Ollama probe still "Ollama is running"', async () => {
    const app = createApp(createFakeRuntime(), { web: true });
    const page = await app.request('/', { headers: browser });
    // The checkout's dist/web when built, else how to build it: HTML or the hint, never Ollama's line.
    expect(await page.text()).not.toBe('Ollama is running');
    expect(await (await app.request('/')).text()).toBe('Ollama is running');
  });
});

describe('the page served from memory', () => {
  const app = pageApp(loadPage(built()));

  it('serves index.html to a browser, uncached, with its headers', async () => {
    const res = await app.request('/', { headers: browser });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(HTML);
  });

  it('answers HEAD / with the headers and no body', async () => {
    const res = await app.request('/', { method: 'HEAD', headers: browser });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('etag')).toMatch(/^"[\w-]{22}"$/);
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(HTML)));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers If-None-Match with 304 (its own tag, weak or in a list), anything else with the file', async () => {
    const path = '/web/assets/app.0123456789.js';
    const first = await app.request(path);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const res = await app.request(path, { headers: { 'If-None-Match': header } });
      expect(res.status, header).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(await res.text()).toBe('');
    }
    expect((await app.request(path, { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
    const index = await app.request('/', { headers: browser });
    expect((await app.request('/', { headers: { ...browser, 'If-None-Match': index.headers.get('etag')! } })).status).toBe(304);
  });

  it('answers in brotli, gzip or neither, as Accept-Encoding asks, each varying by it', async () => {
    const path = '/web/assets/app.0123456789.js';
    const get = (encoding?: string) => app.request(path, { headers: encoding === undefined ? {} : { 'Accept-Encoding': encoding } });
    const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());

    const br = await get('gzip, deflate, br');
    expect(br.headers.get('content-encoding')).toBe('br');
    const brBody = await bytes(br);
    expect(br.headers.get('content-length')).toBe(String(brBody.length));
    expect(brBody.length).toBeLessThan(SCRIPT.length);
    expect(brotliDecompressSync(brBody).toString()).toBe(SCRIPT);

    const gzip = await get('gzip');
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(await bytes(gzip)).toString()).toBe(SCRIPT);
    // br refused with q=0: gzip.
    expect((await get('br;q=0, gzip')).headers.get('content-encoding')).toBe('gzip');

    for (const none of [undefined, 'identity', 'deflate', 'gzip;q=0']) {
      const res = await get(none);
      expect(res.headers.get('content-encoding'), String(none)).toBeNull();
      expect(await res.text()).toBe(SCRIPT);
    }
    for (const res of [br, gzip]) {
      expect(res.headers.get('vary')).toBe('Accept-Encoding');
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }
  });

  it('answers an unknown asset 404, and leaves / without Accept text/html to the next route', async () => {
    const res = await app.request('/web/assets/app.ffffffffff.js');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('Not found.');
    expect((await app.request('/web/assets/..%2Findex.html')).status).toBe(404);
    // Nothing after it in this app: Hono's own 404 (in the daemon, Ollama's "Ollama is running").
    expect((await app.request('/')).status).toBe(404);
  });
});

describe('the page not built', () => {
  it('loads nothing from an empty dir, and answers a browser with how to build it', async () => {
    const page = loadPage(temp());
    expect(page).toBeUndefined();
    const app = pageApp(page);
    const res = await app.request('/', { headers: browser });
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/not built here: run `npm run build`/);
    expect((await app.request('/web/assets/app.0123456789.js')).status).toBe(404);
  });
});
