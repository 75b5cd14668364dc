import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { isHfUri, parseHfUri } from '../catalog/refs.js';
import { DownloadError } from '../errors.js';
import { httpGet, type HttpBody, type HttpHead } from './http-get.js';
import { expectedFromHeaders, mergeExpected, type Expected } from './verify.js';

/** Where the bytes of one URL actually come from. */
export type Source =
  | { readonly kind: 'http'; readonly url: string; /** Connect to public addresses only (a pull a client asked for over HTTP). */ readonly publicOnly?: boolean }
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
export const sourceFor = (url: string, mirror?: string, publicOnly = false): Source => {
  const target = toDownloadUrl(url);
  if (target.startsWith('file:')) return { kind: 'file', path: fileURLToPath(target) };
  if (!isHttp(target)) return { kind: 'file', path: resolve(target) };
  // The mirror is the daemon's own setting, trusted wherever it points.
  if (!mirror) return { kind: 'http', url: target, ...(publicOnly ? { publicOnly } : {}) };
  const parsed = new URL(target);
  const rest = `${parsed.host}${parsed.pathname}`;
  if (isHttp(mirror)) return { kind: 'http', url: `${mirror.replace(/\/+$/, '')}/${rest}${parsed.search}` };
  const base = mirror.startsWith('file:') ? fileURLToPath(mirror) : mirror;
  const dir = isAbsolute(base) ? base : resolve(base);
  const path = join(dir, ...rest.split('/').map((part) => decodeURIComponent(part)));
  // An encoded `..%2F` in the URL must not walk out of the mirror directory.
  if (relative(dir, path).startsWith('..') || isAbsolute(relative(dir, path))) {
    throw new DownloadError(`The URL ${target} would leave the mirror directory.`, { hint: 'Name the file without ".." in its path.' });
  }
  return { kind: 'file', path };
};

/** A short label of a source for messages: the URL, or the mirrored file path. */
export const describeSource = (source: Source): string => (source.kind === 'http' ? source.url : source.path);

/** A body being downloaded: its pieces in order (views of a reused buffer: use them before returning), or dropped. */
export type Body = HttpBody;

/** What opening a source at an offset gave. */
export interface Opened {
  /** full: the body is the whole file; partial: it starts at `start`; complete: nothing more to read; restart: the offset is past the end. */
  readonly status: 'full' | 'partial' | 'complete' | 'restart';
  readonly body?: Body;
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

/** A host that could not be reached at all (no name, no route, refused): the store names the model and the ways forward. */
export class UnreachableError extends DownloadError {
  /** host[:port], as in the URL tried. */
  readonly host: string;
  /** The system's code: ENOTFOUND, ECONNREFUSED, EAI_AGAIN … */
  readonly reason: string;
  constructor(host: string, reason: string, cause: unknown) {
    const what = { ECONNREFUSED: 'connection refused', ENOTFOUND: 'host not found', EAI_NONAME: 'host not found', EAI_AGAIN: 'name lookup failed' }[reason];
    super(`Could not connect to ${host} (${what ?? reason}).`, { cause });
    this.name = 'UnreachableError';
    this.host = host;
    this.reason = reason;
  }
}

/** Connection errors that mean the host was never reached; the first three may pass (a retry is worth it). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_NONAME', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);
const PASSING = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ETIMEDOUT']);

const request = async (url: string, headers: Record<string, string>, signal?: AbortSignal, publicOnly = false): Promise<{ head: HttpHead; body: HttpBody }> => {
  try {
    return await httpGet(url, { headers, signal, idleTimeoutMs: IDLE_TIMEOUT_MS, publicOnly });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!UNREACHABLE.has(code) || signal?.aborted) throw error;
    const unreachable = new UnreachableError(new URL(url).host, code, error);
    throw PASSING.has(code) ? transient(unreachable) : unreachable;
  }
};

const contentRange = (value: string | undefined): { start?: number; total?: number } => {
  const match = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return {};
  return { start: match[1] === undefined ? undefined : Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
};

const openHttp = async (url: string, offset: number, validator: string | undefined, signal?: AbortSignal, publicOnly = false): Promise<Opened> => {
  const headers: Record<string, string> = { 'user-agent': 'murmur', 'accept-encoding': 'identity' };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (validator) headers['if-range'] = validator;
  }
  let hints: Expected = {};
  let current = url;
  for (let hop = 0; ; hop++) {
    const { head, body } = await request(current, headers, signal, publicOnly);
    const res = head.headers;
    hints = mergeExpected(hints, expectedFromHeaders(res));
    const status = head.status;
    if ([301, 302, 303, 307, 308].includes(status) && res.location) {
      body.discard();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`Too many redirects fetching ${url}.`);
      current = new URL(res.location, current).toString();
      continue;
    }
    const etag = res.etag;
    const newValidator = etag && !etag.startsWith('W/') ? etag : res['last-modified'];
    if (status === 200) {
      const length = Number(res['content-length']);
      return { status: 'full', body, start: 0, total: Number.isFinite(length) && res['content-length'] ? length : undefined, validator: newValidator, hints };
    }
    if (status === 206) {
      const range = contentRange(res['content-range']);
      if (range.start !== offset) {
        body.discard();
        throw transient(new DownloadError(`${current} answered a range starting at ${range.start}, not ${offset}.`));
      }
      return { status: 'partial', body, start: offset, total: range.total, validator: newValidator ?? validator, hints };
    }
    body.discard();
    if (status === 416) {
      const { total } = contentRange(res['content-range']);
      return { status: total === offset ? 'complete' : 'restart', start: offset, total, validator, hints };
    }
    if (status === 404 || status === 410) throw new DownloadError(`Not found at ${current} (HTTP ${status}).`, { hint: 'Check the model name or URL (or that MURMUR_MIRROR holds this file).' });
    const error = new DownloadError(`${new URL(current).host} answered HTTP ${status}${head.statusMessage ? ` ${head.statusMessage}` : ''} for ${current}.`);
    throw status >= 500 || status === 429 ? transient(error) : error;
  }
};

/** A file read in 1 MiB pieces, as a Body. */
const fileBody = (path: string, start: number, signal?: AbortSignal): Body => {
  const stream = createReadStream(path, { start, highWaterMark: 1 << 20 });
  if (signal) addAbortSignal(signal, stream);
  return {
    forEach: (onChunk) => {
      stream.on('data', (chunk) => onChunk(chunk as Buffer));
      return finished(stream);
    },
    discard: () => stream.destroy(),
  };
};

const openFile = async (path: string, offset: number, validator: string | undefined, signal?: AbortSignal): Promise<Opened> => {
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
    if (offset < info.size) return { ...base, status: 'partial', start: offset, body: fileBody(path, offset, signal) };
  }
  return { ...base, status: 'full', start: 0, body: fileBody(path, 0, signal) };
};

/**
 * Opens a source for reading from `offset` (0 = the whole file). Over HTTP it
 * sends Range plus If-Range with `validator`, follows up to 10 redirects and
 * gathers LFS sha256/size hints; a server that ignores Range gives 'full'.
 */
export const openSource = (source: Source, offset: number, validator: string | undefined, signal?: AbortSignal): Promise<Opened> =>
  source.kind === 'http' ? openHttp(source.url, offset, validator, signal, source.publicOnly) : openFile(source.path, offset, validator, signal);
