import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, DownloadError } from '../errors.js';
import { describeSource, isTransient, openSource, transient, type Body, type Source } from './mirror.js';
import { formatBytes } from '../text/bytes.js';
import { makeStoreDir, metaPath, NO_SPACE_HINT, storeFsError } from './paths.js';
import { hashInto, mergeExpected, verifyDownload, type Expected } from './verify.js';

export interface DownloadOptions {
  /** The file's canonical URL: names the partial and appears in messages. */
  readonly url: string;
  /** Where the bytes come from (the URL itself or its mirror). */
  readonly source: Source;
  /** The partial file to write (and resume). */
  readonly partial: string;
  /** Size and sha256 from the catalog; they win over the server's hints. */
  readonly expected?: Expected;
  readonly signal?: AbortSignal;
  /** Called at most every 100 ms, and once at the end. */
  readonly onProgress?: (completed: number, total: number | undefined) => void;
  /** Attempts after the first for dropped connections and 5xx answers (default 4). */
  readonly retries?: number;
  /** The first retry's delay; each later one doubles it (default 500 ms). */
  readonly retryDelayMs?: number;
  /**
   * Compute the sha256 even when no one vouches for one (default false):
   * hashing costs about as much CPU as the transfer itself, so it is done
   * only when there is something to check it against.
   */
  readonly alwaysHash?: boolean;
}

export interface DownloadResult {
  /** The partial, now complete and verified (the caller moves it). */
  readonly path: string;
  readonly size: number;
  /** Undefined when nothing promised a sha256 and `alwaysHash` was off. */
  readonly sha256?: string;
}

interface PartialMeta {
  readonly url: string;
  readonly validator?: string;
  readonly total?: number;
}

const PROGRESS_MS = 100;

const readMeta = async (partial: string): Promise<PartialMeta | undefined> => {
  try {
    return JSON.parse(await readFile(metaPath(partial), 'utf8')) as PartialMeta;
  } catch {
    return undefined;
  }
};

const sizeOf = async (path: string): Promise<number> => {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : 0;
  } catch {
    return 0;
  }
};

/** The bytes in the files of `dir` (partial downloads and their sidecars). */
const bytesIn = async (dir: string): Promise<number> => {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) total += await sizeOf(join(dir, name));
  return total;
};

/**
 * The disk filled up mid-download: the partial stays (a later pull resumes
 * it), but it also keeps the disk full, so the message says how much it
 * holds and how to let it go.
 */
const noSpace = async (url: string, partial: string, cause: unknown): Promise<AppError> => {
  const dir = dirname(partial);
  const held = await sizeOf(partial);
  const all = await bytesIn(dir);
  const others = all > held + 4096 ? `; all partial downloads hold ${formatBytes(all)}` : '';
  return new AppError(
    'no_space',
    `No space left on the device while downloading ${url}: its partial download (${formatBytes(held)}) is kept in ${dir} to resume${others}.`,
    { hint: NO_SPACE_HINT, cause },
  );
};

const interrupted = async (url: string, partial: string, cause: unknown) =>
  new AppError('aborted', `The download of ${url} was interrupted.`, {
    hint: (await sizeOf(partial)) > 0 ? 'Run the same pull again to resume where it stopped.' : 'Run the same pull again.',
    cause,
  });

/** DownloadError's own hint, which promises a resume. */
const RESUME_HINT = new DownloadError('').hint;

/**
 * A download error whose hint says to resume only when the partial holds
 * bytes: a pull that never got any (no network on a first run) is told to
 * check the network, not that it will resume.
 */
const honest = async (error: unknown, partial: string): Promise<unknown> => {
  if (!(error instanceof DownloadError) || error.hint !== RESUME_HINT) return error;
  const have = await sizeOf(partial);
  const hint = have > 0
    ? `Check the network (or MURMUR_MIRROR) and run the pull again; it resumes where it stopped (${formatBytes(have)} are downloaded).`
    : 'Check the network (or MURMUR_MIRROR) and run the pull again.';
  // The error keeps its class and fields (UnreachableError's host and reason); only the hint is corrected.
  (error as { hint?: string }).hint = hint;
  return error;
};

/**
 * Writes `body` into `partial` (appending when resuming), calling `onChunk`
 * with each piece once it is written. Each piece is written synchronously
 * as it arrives, straight from the buffer the socket read into (see
 * http-get.ts): a write into the page cache takes microseconds, and nothing
 * is held or copied, so memory stays flat. (fs.WriteStream behind a hashing
 * Transform reached ~58% of curl's throughput, asynchronous positional
 * writes ~80%.) Rejects with the write error (ENOSPC …), the body's error
 * (a dropped connection, the signal).
 */
const receive = async (body: Body, partial: string, append: boolean, onChunk: (chunk: Buffer) => void): Promise<void> => {
  const fd = openSync(partial, append ? 'a' : 'w');
  let failed: unknown;
  try {
    await body.forEach((chunk) => {
      if (failed) return;
      try {
        for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
      } catch (error) {
        failed = error;
        body.discard();
        return;
      }
      onChunk(chunk);
    }).catch((error: unknown) => {
      if (!failed) throw error;
    });
    if (failed) throw failed;
  } finally {
    closeSync(fd);
  }
};

/** One try: resume from what the partial holds, stream the rest, verify. */
const attempt = async (options: DownloadOptions): Promise<DownloadResult> => {
  const { url, source, partial, signal } = options;
  const meta = await readMeta(partial);
  let have = meta?.url === url ? await sizeOf(partial) : 0;
  let opened = await openSource(source, have, meta?.validator, signal);
  if (opened.status === 'restart') {
    have = 0;
    opened = await openSource(source, 0, undefined, signal);
  }
  const expected = mergeExpected(options.expected, opened.hints);
  const total = opened.total ?? expected.size;
  const hash = expected.sha256 !== undefined || options.alwaysHash ? createHash('sha256') : undefined;
  let received = 0;
  if (opened.status === 'complete' || opened.status === 'partial') {
    received = hash ? await hashInto(partial, hash, have) : have;
  }
  if (opened.status !== 'complete') {
    const resuming = opened.status === 'partial';
    if (!resuming) received = 0;
    await writeFile(metaPath(partial), JSON.stringify({ url, validator: opened.validator, total } satisfies PartialMeta));
    let last = 0;
    await receive(opened.body!, partial, resuming, (chunk) => {
      hash?.update(chunk);
      received += chunk.length;
      if (options.onProgress) {
        const now = Date.now();
        if (now - last >= PROGRESS_MS) {
          last = now;
          options.onProgress(received, total);
        }
      }
    });
    if (opened.total !== undefined && received < opened.total) {
      throw transient(new DownloadError(`The connection closed after ${received} of ${opened.total} bytes of ${url}.`));
    }
  }
  options.onProgress?.(received, total ?? received);
  const sha256 = hash?.digest('hex');
  await verifyDownload(url, partial, { size: received, sha256 }, expected);
  await rm(metaPath(partial), { force: true });
  return { path: partial, size: received, sha256 };
};

/**
 * Downloads `url` (from `source`) into `partial`, streamed: resumes a partial
 * left by an earlier try (Range + If-Range, re-hashing what is there so the
 * sha256 stays incremental), restarts when the server ignores the range,
 * retries dropped connections with backoff, and verifies size and sha256
 * (catalog first, then the server's LFS ETag / X-Linked-Size).
 * Throws `aborted` on the signal (the partial is kept for a later resume),
 * `checksum_mismatch` (partial deleted), `no_space` (partial kept, its
 * size and `murmur pull --clean` named),
 * `store_not_writable`, or `download_failed`.
 */
export const downloadFile = async (options: DownloadOptions): Promise<DownloadResult> => {
  const dir = dirname(options.partial);
  const retries = options.retries ?? 4;
  const delay = options.retryDelayMs ?? 500;
  await makeStoreDir(dir);
  for (let tries = 0; ; tries++) {
    try {
      return await attempt(options);
    } catch (error) {
      if (options.signal?.aborted) throw await interrupted(options.url, options.partial, error);
      if (error instanceof AppError && !isTransient(error)) throw await honest(error, options.partial);
      const fsError = storeFsError(error, dir);
      if (fsError?.code === 'no_space') throw await noSpace(options.url, options.partial, error);
      if (fsError) throw fsError;
      if (!isTransient(error) || tries >= retries) {
        if (error instanceof AppError) throw await honest(error, options.partial);
        const reason = error instanceof Error ? error.message : String(error);
        throw await honest(new DownloadError(`Downloading ${describeSource(options.source)} failed: ${reason}.`, { cause: error }), options.partial);
      }
      try {
        await sleep(delay * 2 ** tries, undefined, { signal: options.signal });
      } catch (abort) {
        throw await interrupted(options.url, options.partial, abort);
      }
    }
  }
};
