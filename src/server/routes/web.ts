import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { ServerEnv } from '../context.js';

/*
 * The browser page (web/, built into dist/web by scripts/build-web.mjs),
 * served from memory: index.html at `/` to whoever asks for HTML (a
 * browser; Ollama's clients probing `/` get its "Ollama is running" from
 * routes/ollama.ts), and the hashed assets under /web/assets/, cached for
 * good. Each file is compressed once, with brotli and gzip, at start.
 * Serving the page needs no key (middleware/auth.ts); every API call it
 * makes does.
 */

interface Served {
  readonly type: string;
  readonly identity: Buffer;
  readonly br: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
  readonly cache: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * A file as served. Its brotli and gzip forms are made at build time
 * (scripts/build-web.mjs writes FILE.br and FILE.gz beside it), so start-up
 * only reads them: compressing at start cost every daemon (and every
 * in-process app) about a quarter of a second. A file without them is
 * compressed here, at a quick level.
 */
const serve = (path: string, name: string, cache: string): Served => {
  const bytes = readFileSync(path);
  return {
    type: TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
    identity: bytes,
    br: existsSync(`${path}.br`) ? readFileSync(`${path}.br`) : brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } }),
    gzip: existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : gzipSync(bytes, { level: 6 }),
    etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`,
    cache,
  };
};

/** The page as served: index.html and the assets by file name. */
export interface Page {
  readonly index: Served;
  readonly assets: ReadonlyMap<string, Served>;
}

/**
 * Where the built page is: dist/web beside the built daemon
 * (dist/src/server/routes/ → dist/web/), or, run from the sources (the
 * in-process tests), the checkout's dist/web (web/ itself holds only the
 * template).
 */
const builtDir = (): string => {
  const beside = fileURLToPath(new URL('../../../web/', import.meta.url));
  return existsSync(`${beside}assets`) ? beside : fileURLToPath(new URL('../../../dist/web/', import.meta.url));
};

/** The built page in `dir` (ending in a slash), or undefined when it was not built (a checkout where `npm run build` has not run). */
export const loadPage = (dir = builtDir()): Page | undefined => {
  if (!existsSync(`${dir}index.html`)) return undefined;
  const assets = new Map<string, Served>();
  for (const name of existsSync(`${dir}assets`) ? readdirSync(`${dir}assets`) : []) {
    if (!/\.(br|gz)$/.test(name)) assets.set(name, serve(`${dir}assets/${name}`, name, 'public, max-age=31536000, immutable'));
  }
  return { index: serve(`${dir}index.html`, 'index.html', 'no-cache'), assets };
};

/** Whether an If-None-Match list (`"a", W/"b"`, or `*`) names `etag`: weak comparison, as RFC 9110 asks for GET. */
const matches = (header: string | undefined, etag: string): boolean =>
  header !== undefined && header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });

/** The encoding to answer in: br, else gzip, else none, skipping any the client gave q=0. */
const chooseEncoding = (header: string | undefined): 'br' | 'gzip' | undefined => {
  const offered = new Map<string, number>();
  for (const part of (header ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim());
    if (!name) continue;
    const q = params.find((p) => p.startsWith('q='));
    offered.set(name, q ? Number(q.slice(2)) || 0 : 1);
  }
  const ok = (name: string) => (offered.get(name) ?? (offered.has('*') ? offered.get('*')! : 0)) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : undefined;
};

const send = (c: Context<ServerEnv>, file: Served) => {
  if (matches(c.req.header('If-None-Match'), file.etag)) return c.body(null, 304, { ETag: file.etag, 'Cache-Control': file.cache, Vary: 'Accept-Encoding' });
  const encoding = chooseEncoding(c.req.header('Accept-Encoding'));
  const body = encoding ? file[encoding] : file.identity;
  const headers: Record<string, string> = { 'Content-Type': file.type, ETag: file.etag, 'Cache-Control': file.cache, Vary: 'Accept-Encoding', 'Content-Length': String(body.length) };
  if (encoding) headers['Content-Encoding'] = encoding;
  // No framing, no sniffing, nothing from elsewhere: the page's own scripts and the daemon's API only.
  headers['X-Content-Type-Options'] = 'nosniff';
  if (file.type.startsWith('text/html')) {
    headers['Content-Security-Policy'] = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    headers['X-Frame-Options'] = 'DENY';
  }
  return c.req.method === 'HEAD' ? c.body(null, 200, headers) : c.body(new Uint8Array(body), 200, headers);
};

const wantsHtml = (c: Context<ServerEnv>) => (c.req.header('Accept') ?? '').includes('text/html');

/**
 * The page's routes, serving `page` (default: loadPage()); a page undefined
 * (not built) answers a browser with how to build it.
 */
export const webRoutes = (options: { page?: Page | undefined } = {}) => {
  const page = 'page' in options ? options.page : loadPage();
  const index: MiddlewareHandler<ServerEnv> = async (c, next) => {
    if (!wantsHtml(c)) return next();
    if (!page) return c.text("murmur's page is not built here: run `npm run build`, or use the API directly (see README).", 404);
    return send(c, page.index);
  };
  return new Hono<ServerEnv>()
    .get('/', index)
    .get('/web/assets/:name', (c) => {
      const file = page?.assets.get(c.req.param('name'));
      return file ? send(c, file) : c.text('Not found.', 404);
    });
};
