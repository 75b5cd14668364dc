import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AppError } from '../errors.js';

/** The directories of a store under MURMUR_HOME. */
export interface StorePaths {
  readonly home: string;
  /** Installed models, one directory each, with murmur.json written last. */
  readonly models: string;
  /** Resumable downloads: one file per URL plus a `.meta.json` sidecar. */
  readonly partial: string;
  /** Staging directories, renamed into models/ only when complete. */
  readonly tmp: string;
  /** proper-lockfile locks, one per model name. */
  readonly locks: string;
}

/** The store's directories under `home` (nothing is created). */
export const storePaths = (home: string): StorePaths => ({
  home,
  models: join(home, 'models'),
  partial: join(home, 'partial'),
  tmp: join(home, 'tmp'),
  locks: join(home, 'locks'),
});

/** The manifest's file name inside a model's directory. */
export const MANIFEST = 'murmur.json';

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** True when `name` can be a model directory's name (no separators, no dot-dirs). */
export const isValidModelName = (name: string): boolean => NAME.test(name) && name.length <= 200;

/**
 * The deterministic partial-download path for `url`: a hash of the URL (so
 * a later pull of the same URL resumes it) plus its readable last segment.
 */
export const partialPath = (home: string, url: string): string => {
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const last = basename(new URL(url, 'file:///').pathname).replace(/[^A-Za-z0-9._-]/g, '_').slice(-80) || 'download';
  return join(home, 'partial', `${digest}-${last}`);
};

/** The sidecar holding a partial's validator (ETag / Last-Modified) for If-Range. */
export const metaPath = (partial: string): string => `${partial}.meta.json`;

const NOT_WRITABLE = new Set(['EACCES', 'EROFS', 'ENOTDIR', 'EPERM', 'EEXIST']);

/**
 * Turns a file-system error while writing the store into a user-facing
 * AppError (`no_space`, `store_not_writable`), or returns undefined when it
 * is something else.
 */
export const storeFsError = (error: unknown, dir: string): AppError | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('no_space', `No space left on the device while writing to ${dir}.`, {
      hint: 'Free some space (or point MURMUR_HOME elsewhere) and run the pull again; it resumes where it stopped.',
      cause: error,
    });
  }
  if (code && NOT_WRITABLE.has(code)) {
    return new AppError('store_not_writable', `The model store ${dir} is not writable (${code}).`, {
      hint: 'Check its permissions, or set MURMUR_HOME (or --home) to a directory you can write.',
      cause: error,
    });
  }
  return undefined;
};

/** Creates the store's directories, mapping permission problems to `store_not_writable`. */
export const ensureStoreDirs = async (paths: StorePaths): Promise<void> => {
  for (const dir of [paths.models, paths.partial, paths.tmp, paths.locks]) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw storeFsError(error, dir) ?? error;
    }
  }
};
