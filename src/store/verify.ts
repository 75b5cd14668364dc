import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../errors.js';
import { metaPath } from './paths.js';

/** What a downloaded file must match; either part may be unknown. */
export interface Expected {
  readonly size?: number;
  readonly sha256?: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Strips quotes and a weak marker from an ETag; returns it when it is a 64-hex sha256 (Hugging Face LFS). */
export const sha256FromEtag = (etag: string | undefined): string | undefined => {
  if (!etag) return undefined;
  const value = etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return SHA256.test(value) ? value : undefined;
};

/**
 * What response headers promise about the file: Hugging Face sends the LFS
 * sha256 as `X-Linked-Etag` (on the redirect) or as the `ETag`, and the size
 * as `X-Linked-Size`.
 */
export const expectedFromHeaders = (headers: IncomingHttpHeaders): Expected => {
  const linked = headers['x-linked-etag'];
  const sha256 = sha256FromEtag(Array.isArray(linked) ? linked[0] : linked) ?? sha256FromEtag(headers.etag);
  const sizeHeader = headers['x-linked-size'];
  const size = Number(Array.isArray(sizeHeader) ? sizeHeader[0] : sizeHeader);
  return { sha256, size: Number.isInteger(size) && size > 0 ? size : undefined };
};

/** Merges promises: earlier ones win (the catalog over the headers). */
export const mergeExpected = (...sources: (Expected | undefined)[]): Expected => ({
  size: sources.find((s) => s?.size !== undefined)?.size,
  sha256: sources.find((s) => s?.sha256 !== undefined)?.sha256?.toLowerCase(),
});

/** Feeds the first bytes of `path` (all of it by default) into `hash`, streamed. Returns the bytes read. */
export const hashInto = async (path: string, hash: Hash, end?: number): Promise<number> => {
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, end: end === undefined ? undefined : end - 1 });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return bytes;
};

/** The sha256 of a file as lower-case hex, streamed. */
export const sha256File = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  await hashInto(path, hash);
  return hash.digest('hex');
};

/**
 * Checks a finished download against what was expected. On a mismatch the
 * partial (and its sidecar) is deleted, so the next pull starts clean, and
 * a `checksum_mismatch` AppError says expected vs got.
 */
export const verifyDownload = async (
  label: string,
  partial: string,
  got: { size: number; sha256?: string },
  expected: Expected,
): Promise<void> => {
  let problem: string | undefined;
  if (expected.size !== undefined && expected.size !== got.size) {
    problem = `size mismatch for ${label}: expected ${expected.size} bytes, got ${got.size}`;
  } else if (expected.sha256 !== undefined && expected.sha256 !== got.sha256) {
    problem = `sha256 mismatch for ${label}: expected ${expected.sha256}, got ${got.sha256}`;
  }
  if (!problem) return;
  await rm(partial, { force: true });
  await rm(metaPath(partial), { force: true });
  throw new AppError('checksum_mismatch', `Download failed: ${problem}.`, {
    hint: 'The damaged download was deleted and nothing was installed. Run the pull again; if it keeps failing, the source (or the catalog entry) is wrong.',
  });
};
