import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, constants, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy, { type Busboy } from 'busboy';
import type { FormFields, FormFile } from '../api/openai/transcription-request.js';
import { isProcessAlive } from '../store/stale-staging.js';
import { AppError } from '../errors.js';
import { drainBody } from './middleware/body-limit.js';

/*
 * Multipart uploads read as they arrive (busboy), with each file part
 * written straight to a temporary file, so an upload never sits in memory
 * whole. Text fields are small and kept in memory. The body's size is
 * counted as it is read: crossing the limit stops the parse at once.
 */

/** Upload files are `murmur-upload-PID-RANDOM.tmp`: the pid tells whether the daemon that wrote one is gone. */
export const UPLOAD_PREFIX = 'murmur-upload-';
const UPLOAD_NAME = /^murmur-upload-(\d+)-[0-9a-f]+\.tmp$/;

/** Text fields: 64 KiB each (a prompt is at most a few hundred tokens), 64 of them. Files: 4 parts. */
const FIELD_BYTES = 64 * 1024;
const MAX_FIELDS = 64;
const MAX_FILES = 4;

export interface UploadForm {
  readonly fields: FormFields;
  /** Deletes the form's files; safe to call more than once. */
  remove(): Promise<void>;
}

export interface ReadUploadOptions {
  readonly body: ReadableStream<Uint8Array> | null;
  readonly contentType: string;
  /** The most bytes the whole body may have. */
  readonly maxBytes: number;
  /** The directory for the files (see uploadDirectory). */
  readonly dir: string;
  /** The client's request: when it goes away, the upload stops and its files go. */
  readonly signal: AbortSignal;
  /** The error for a body over maxBytes (a 413). */
  readonly tooLarge: () => AppError;
  /** The body's Content-Length, when it says: a small one is kept in memory (see MEMORY_UPLOAD_BYTES). */
  readonly contentLength?: number;
}

/**
 * Bodies up to this size are kept in memory rather than written to a file,
 * while all such bodies together stay under MEMORY_UPLOADS_BYTES: a short
 * clip then costs no file to create, write, read back and delete (under 4
 * clients sending 6 s clips back to back, that file work was a good part of
 * the daemon's CPU).
 */
export const MEMORY_UPLOAD_BYTES = 1024 * 1024;
export const MEMORY_UPLOADS_BYTES = 32 * 1024 * 1024;
let heldInMemory = 0;

/** Removes upload files whose daemon is gone (killed mid-request); returns their names. */
export const sweepStaleUploads = async (dir: string): Promise<string[]> => {
  const stale = (await readdir(dir).catch(() => [] as string[])).filter((name) => {
    const pid = UPLOAD_NAME.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && !isProcessAlive(Number(pid));
  });
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true }).catch(() => undefined)));
  return stale;
};

/** True when `dir` exists, or can be made inside its existing parent (a store's home is never created for an upload), and can be written. */
const writable = async (dir: string): Promise<boolean> => {
  try {
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The directory uploads go to, chosen on first use: `preferred` (the
 * store's tmp/) when it can be written, else (no store there, read-only)
 * the system's temporary directory. Stale upload files there are removed when it is chosen.
 */
export const uploadDirectory = (preferred: string): (() => Promise<string>) => {
  let chosen: Promise<string> | undefined;
  return () =>
    (chosen ??= (async () => {
      const dir = (await writable(preferred)) ? preferred : tmpdir();
      await sweepStaleUploads(dir);
      return dir;
    })());
};

const malformed = (contentType: string, error: unknown): AppError =>
  new AppError('invalid_request', `The upload is not a well-formed ${contentType.split(';')[0]?.trim() || 'form'} body: ${(error as Error).message}.`, {
    param: 'file',
    hint: 'Send multipart/form-data with a boundary, as `curl -F file=@audio.wav` does.',
    cause: error,
  });

const diskError = (error: unknown, dir: string): unknown => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('no_space', `No space left on the device to store the upload in ${dir}.`, { hint: 'Free some space, or send a compressed format (mp3, ogg, flac).', cause: error });
  }
  return error;
};

interface Stored {
  readonly path: string;
  readonly out: WriteStream;
  /** Settles once the file is closed (written, failed or destroyed), so it can be deleted for good. */
  readonly closed: Promise<void>;
}

/**
 * Reads a multipart (or urlencoded) form from `body`: text fields into
 * memory, each file part to its own file in `dir`. Throws a 400
 * invalid_request for a body that is not the form it says it is, `tooLarge()`
 * for one over maxBytes (as soon as the count passes it; the rest is read
 * and dropped before the answer), and AppError('aborted') when the client
 * leaves. Whenever it throws, the files are already deleted; on success the
 * caller deletes them with remove() once done with them.
 */
export const readUploadForm = async (options: ReadUploadOptions): Promise<UploadForm> => {
  const { contentType, dir, signal } = options;
  const length = options.contentLength;
  const inMemory = length !== undefined && length <= MEMORY_UPLOAD_BYTES && length <= options.maxBytes && heldInMemory + length <= MEMORY_UPLOADS_BYTES;
  let held = inMemory ? length : 0;
  heldInMemory += held;
  const release = () => {
    heldInMemory -= held;
    held = 0;
  };
  const stored: Stored[] = [];
  const fields: Record<string, (string | FormFile)[]> = {};
  const add = (name: string, value: string | FormFile) => (fields[name] ??= []).push(value);
  let removing: Promise<void> | undefined;
  const remove = () =>
    (removing ??= (async () => {
      release();
      for (const file of stored) file.out.destroy();
      await Promise.all(stored.map((file) => file.closed));
      await Promise.all(stored.map((file) => rm(file.path, { force: true }).catch(() => undefined)));
    })());

  // The first failure wins and stops every wait (no race against a promise that stays pending: that would keep each chunk it lost to).
  let failure: { readonly error: unknown } | undefined;
  const stop = new AbortController();
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort();
  };
  const gone = (cause?: unknown) => new AppError('aborted', 'The client went away before the upload was finished.', { cause });
  const onAbort = () => fail(gone(signal.reason));
  signal.addEventListener('abort', onAbort, { once: true });

  let parser: Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fieldSize: FIELD_BYTES, fields: MAX_FIELDS, files: MAX_FILES } });
  } catch (error) {
    signal.removeEventListener('abort', onAbort);
    throw malformed(contentType, error);
  }
  const writes: Promise<void>[] = [];
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(new AppError('invalid_request', `The '${name}' field is longer than ${FIELD_BYTES / 1024} KiB.`, { param: name }));
    else add(name, value);
  });
  parser.on('file', (name, stream, info) => {
    if (failure) return void stream.resume();
    if (inMemory) {
      const chunks: Buffer[] = [];
      const file: { name: string; size: number; bytes: Uint8Array } = { name: info.filename ?? '', size: 0, bytes: new Uint8Array(0) };
      add(name, file);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      writes.push(
        new Promise<void>((done) => {
          stream.once('end', () => {
            file.bytes = Buffer.concat(chunks);
            file.size = file.bytes.length;
            done();
          });
          stream.once('error', (error) => {
            fail(malformed(contentType, error));
            done();
          });
        }),
      );
      return;
    }
    const path = join(dir, `${UPLOAD_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    const out = createWriteStream(path, { flags: 'wx' });
    stored.push({ path, out, closed: new Promise((closed) => out.once('close', closed)) });
    const file = { path, name: info.filename ?? '', size: 0 };
    add(name, file);
    const write = pipeline(stream, out).then(
      () => void (file.size = out.bytesWritten),
      (error: unknown) => fail((error as NodeJS.ErrnoException).syscall ? diskError(error, dir) : malformed(contentType, error)),
    );
    writes.push(write);
  });
  parser.on('fieldsLimit', () => fail(new AppError('invalid_request', `The form has more than ${MAX_FIELDS} fields.`)));
  parser.on('filesLimit', () => fail(new AppError('invalid_request', `The form has more than ${MAX_FILES} files; send the audio as one 'file'.`, { param: 'file' })));
  parser.on('error', (error) => fail(malformed(contentType, error)));

  const reader = options.body?.getReader();
  try {
    for (let total = 0; reader && !failure; ) {
      const chunk = await unlessStopped(reader.read(), stop.signal).catch((error: unknown) => void fail(gone(error)));
      if (!chunk || chunk.done) break;
      total += chunk.value.byteLength;
      if (total > options.maxBytes) fail(options.tooLarge());
      else if (!parser.write(chunk.value)) await once(parser, 'drain', { signal: stop.signal }).catch(() => undefined);
    }
    if (!failure) {
      parser.end();
      await once(parser, 'close', { signal: stop.signal }).catch(() => undefined);
      await unlessStopped(Promise.all(writes), stop.signal);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (!failure) return { fields, remove };

  parser.destroy();
  await remove();
  const { error } = failure;
  // Read what the client is still sending, so that it gets the answer rather than a broken pipe (unless it left).
  if (error instanceof AppError && error.code === 'aborted') await reader?.cancel().catch(() => undefined);
  else if (reader) await drainBody(reader);
  throw error;
};

/** `promise`'s value, or undefined as soon as `stop` fires; no listener is left behind on `stop` either way. */
const unlessStopped = <T>(promise: Promise<T>, stop: AbortSignal): Promise<T | undefined> =>
  new Promise<T | undefined>((resolve, reject) => {
    const onStop = () => resolve(undefined);
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
    promise.then(
      (value) => {
        stop.removeEventListener('abort', onStop);
        resolve(value);
      },
      (error: unknown) => {
        stop.removeEventListener('abort', onStop);
        reject(error);
      },
    );
  });
