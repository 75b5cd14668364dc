import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** `store_not_writable` for `dir`, naming the errno code. */
export const notWritable = (dir: string, code: string, cause?: unknown): AppError =>
  new AppError('store_not_writable', `murmur cannot write to its store at ${dir} (${code}).`, {
    hint: 'Check the permissions of MURMUR_HOME, or point MURMUR_HOME at a writable directory.',
    cause,
  });

/** The hint of every `no_space`: partial downloads are kept to resume, and `--clean` frees them. */
export const NO_SPACE_HINT = 'Free some space and run the pull again (it resumes where it stopped), or run `murmur pull --clean` to delete partial downloads.';

/**
 * Turns a file-system error while writing the store into a user-facing
 * AppError (`no_space`, `store_not_writable`), or returns undefined when it
 * is something else. ENOENT is not mapped here (a missing source file is
 * not the store's fault): `makeStoreDir` maps it where a directory of the
 * store cannot be created.
 */
export const storeFsError = (error: unknown, dir: string): AppError | undefined => {
  if (error instanceof AppError) return undefined;
  const code = errnoOf(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('no_space', `No space left on the device while writing to ${dir}.`, { hint: NO_SPACE_HINT, cause: error });
  }
  if (code && NOT_WRITABLE.has(code)) return notWritable(dir, code, error);
  return undefined;
};

const isDirectory = async (dir: string): Promise<boolean> => (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;

/**
 * mkdir -p, one level at a time. Node's own `recursive: true` never returns
 * where a parent cannot be made and mkdir answers ENOENT (under /proc, for
 * one): it retries for ever. Here an ENOENT that making the parents does
 * not cure, and a parent that is not a directory, are errors.
 */
const mkdirs = async (dir: string): Promise<void> => {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') {
      if (await isDirectory(dir)) return;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir });
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
  }
  await mkdirs(dirname(dir));
  try {
    await mkdir(dir);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST' || !(await isDirectory(dir))) throw error;
  }
};

/**
 * Creates a directory of the store (and its parents), mapping what stops it
 * (EACCES, EPERM, EROFS, ENOTDIR, and ENOENT: a parent that cannot be made)
 * to `store_not_writable`, ENOSPC to `no_space`.
 */
export const makeStoreDir = async (dir: string): Promise<void> => {
  try {
    await mkdirs(dir);
  } catch (error) {
    const code = errnoOf(error);
    throw storeFsError(error, dir) ?? (code === 'ENOENT' ? notWritable(dir, code, error) : error);
  }
};

/** Creates the store's directories, mapping permission problems to `store_not_writable`. */
export const ensureStoreDirs = async (paths: StorePaths): Promise<void> => {
  for (const dir of [paths.models, paths.partial, paths.tmp, paths.locks]) await makeStoreDir(dir);
};
