import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isHfUri, parseHfUri } from '../catalog/refs.js';
import { DownloadError } from '../errors.js';
import { expectedFromHeaders, mergeExpected, type Expected } from './verify.js';

/** Where the bytes of one URL actually come from. */
export type Source =
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'file'; readonly path: string };

/** Expands `hf:owner/repo/path[@revision]` to its Hugging Face `/resolve/` URL; other URLs are returned unchanged. */
export const toDownloadUrl = (url: string): string => (isHfUri(url) ? parseHfUri(url).url : url);

const isHttp = (value: string) => /^https?:\/\//i.test(value);

/**
 * Maps a download URL through MURMUR_MIRROR: `https://HOST/PATH` becomes
 * `BASE/HOST/PATH`, where BASE is an http(s) URL or a local directory.
 * Without a mirror, http(s) URLs are fetched as they are and `file:` URLs or
 * plain paths are read from disk.
 */
export const sourceFor = (url: string, mirror?: string): Source => {
  const target = toDownloadUrl(url);
  if (target.startsWith('file:')) return { kind: 'file', path: fileURLToPath(target) };
  if (!isHttp(target)) return { kind: 'file', path: resolve(target) };
  if (!mirror) return { kind: 'http', url: target };
  const parsed = new URL(target);
  const rest = `${parsed.host}${parsed.pathname}`;
  if (isHttp(mirror)) return { kind: 'http', url: `${mirror.replace(/\/+$/, '')}/${rest}${parsed.search}` };
  const base = mirror.startsWith('file:') ? fileURLToPath(mirror) : mirror;
  const dir = isAbsolute(base) ? base : resolve(base);
  return { kind: 'file', path: join(dir, ...rest.split('/').map((part) => decodeURIComponent(part))) };
};

/** A short label of a source for messages: the URL, or the mirrored file path. */
export const describeSource = (source: Source): string => (source.kind === 'http' ? source.url : source.path);

/** What opening a source at an offset gave. */
export interface Opened {
  /** full: the body is the whole file; partial: it starts at `start`; complete: nothing more to read; restart: the offset is past the end. */
  readonly status: 'full' | 'partial' | 'complete' | 'restart';
  readonly body?: Readable;
  readonly start: number;
  /** The whole file's length, when known. */
  readonly total?: number;
  /** A strong validator for If-Range next time (ETag or Last-Modified; size+mtime for files). */
  readonly validator?: string;
  /** sha256 and size the server vouches for (LFS ETag, X-Linked-*). */
  readonly hints: Expected;
}

const transientMark = Symbol('transient');

/** Marks an error as worth retrying (a dropped connection, a 5xx). */
export const transient = <E extends Error>(error: E): E => Object.assign(error, { [transientMark]: true });

/** True for errors a retry may cure: marked ones and raw network errors. */
export const isTransient = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  if ((error as unknown as Record<symbol, unknown>)[transientMark]) return true;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code)
    || /aborted|socket hang up|premature close/i.test(error.message);
};

const MAX_REDIRECTS = 10;
const IDLE_TIMEOUT_MS = 30_000;

const request = (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> =>
  new Promise((resolvePromise, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { headers, signal }, resolvePromise);
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no data from ${new URL(url).host} for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const host = new URL(url).host;
      if (error.code === 'ECONNREFUSED') reject(transient(new DownloadError(`Could not connect to ${host} (connection refused).`, { cause: error })));
      else if (error.code === 'ENOTFOUND' || error.code === 'EAI_NONAME') reject(new DownloadError(`Could not connect to ${host} (host not found).`, { cause: error }));
      else reject(error);
    });
  });

const contentRange = (value: string | undefined): { start?: number; total?: number } => {
  const match = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return {};
  return { start: match[1] === undefined ? undefined : Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
};

const openHttp = async (url: string, offset: number, validator: string | undefined, signal?: AbortSignal): Promise<Opened> => {
  const headers: Record<string, string> = { 'user-agent': 'murmur', 'accept-encoding': 'identity' };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (validator) headers['if-range'] = validator;
  }
  let hints: Expected = {};
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await request(current, headers, signal);
    hints = mergeExpected(hints, expectedFromHeaders(res.headers));
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`Too many redirects fetching ${url}.`);
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    const etag = res.headers.etag;
    const newValidator = etag && !etag.startsWith('W/') ? etag : res.headers['last-modified'];
    if (status === 200) {
      const length = Number(res.headers['content-length']);
      return { status: 'full', body: res, start: 0, total: Number.isFinite(length) && res.headers['content-length'] ? length : undefined, validator: newValidator, hints };
    }
    if (status === 206) {
      const range = contentRange(res.headers['content-range']);
      if (range.start !== offset) {
        res.destroy();
        throw transient(new DownloadError(`${current} answered a range starting at ${range.start}, not ${offset}.`));
      }
      return { status: 'partial', body: res, start: offset, total: range.total, validator: newValidator ?? validator, hints };
    }
    res.resume();
    if (status === 416) {
      const { total } = contentRange(res.headers['content-range']);
      return { status: total === offset ? 'complete' : 'restart', start: offset, total, validator, hints };
    }
    if (status === 404 || status === 410) throw new DownloadError(`Not found at ${current} (HTTP ${status}).`, { hint: 'Check the model name or URL (or that MURMUR_MIRROR holds this file).' });
    const error = new DownloadError(`${new URL(current).host} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''} for ${current}.`);
    throw status >= 500 || status === 429 ? transient(error) : error;
  }
};

const openFile = async (path: string, offset: number, validator: string | undefined): Promise<Opened> => {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new DownloadError(`Not found at ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`, {
      hint: 'Check that MURMUR_MIRROR holds this file under HOST/PATH.',
      cause: error,
    });
  }
  if (!info.isFile()) throw new DownloadError(`Not found at ${path} (not a file).`);
  const own = `${info.size}-${Math.trunc(info.mtimeMs)}`;
  const base = { total: info.size, validator: own, hints: {} };
  if (offset > 0 && validator === own) {
    if (offset === info.size) return { ...base, status: 'complete', start: offset };
    if (offset < info.size) return { ...base, status: 'partial', start: offset, body: createReadStream(path, { start: offset, highWaterMark: 1 << 20 }) };
  }
  return { ...base, status: 'full', start: 0, body: createReadStream(path, { highWaterMark: 1 << 20 }) };
};

/**
 * Opens a source for reading from `offset` (0 = the whole file). Over HTTP it
 * sends Range plus If-Range with `validator`, follows up to 10 redirects and
 * gathers LFS sha256/size hints; a server that ignores Range gives 'full'.
 */
export const openSource = (source: Source, offset: number, validator: string | undefined, signal?: AbortSignal): Promise<Opened> =>
  source.kind === 'http' ? openHttp(source.url, offset, validator, signal) : openFile(source.path, offset, validator);
