import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tryLock } from './lock.js';
import { metaPath, storeFsError, storePaths, type StorePaths } from './paths.js';
import { findStaleStaging } from './stale-staging.js';

/** One thing `cleanStore` removed, with the bytes it held. */
export interface Cleaned {
  readonly name: string;
  readonly bytes: number;
}

/** What `murmur pull --clean` removed (and left). */
export interface CleanReport {
  /** Partial downloads under `partial/` (each with its `.meta.json`). */
  readonly partials: readonly Cleaned[];
  /** Staging left under `tmp/` by pulls and removals that were killed. */
  readonly staging: readonly Cleaned[];
  /** Partial downloads left alone because a running pull holds them. */
  readonly inUse: readonly string[];
  /** The bytes freed in all. */
  readonly bytes: number;
}

/** The bytes under `path` (a file, or a directory walked without following links). */
const bytesUnder = async (path: string): Promise<number> => {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.isFile() ? info.size : 0;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await bytesUnder(join(path, name));
  return total;
};

const remove = async (path: string, dir: string): Promise<void> => {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    throw storeFsError(error, dir) ?? error;
  }
};

const cleanPartials = async (paths: StorePaths, inUse: string[]): Promise<Cleaned[]> => {
  const names = await readdir(paths.partial).catch(() => [] as string[]);
  // A partial and its sidecar go together; a sidecar whose partial is gone goes too.
  const partials = [...new Set(names.map((name) => name.replace(/\.meta\.json$/, '')))].sort();
  const removed: Cleaned[] = [];
  for (const name of partials) {
    const partial = join(paths.partial, name);
    // The lock a download holds on its partial (src/store/store.ts): a pull still running keeps its file.
    const release = await tryLock(paths.locks, `partial-${name}`);
    if (!release) {
      inUse.push(name);
      continue;
    }
    try {
      const bytes = (await bytesUnder(partial)) + (await bytesUnder(metaPath(partial)));
      await remove(partial, paths.partial);
      await remove(metaPath(partial), paths.partial);
      removed.push({ name, bytes });
    } finally {
      await release().catch(() => undefined);
    }
  }
  return removed;
};

/**
 * Deletes the store's partial downloads (those no running pull is
 * writing) and the stale staging under `tmp/`: after a disk-full, what a
 * pull left there to resume keeps the disk full. Installed models are
 * not touched. Throws `store_not_writable` when the store cannot be
 * written.
 */
export const cleanStore = async (home: string): Promise<CleanReport> => {
  const paths = storePaths(home);
  const inUse: string[] = [];
  const partials = await cleanPartials(paths, inUse);
  const staging: Cleaned[] = [];
  for (const name of await findStaleStaging(paths)) {
    const path = join(paths.tmp, name);
    const bytes = await bytesUnder(path);
    await remove(path, paths.tmp);
    staging.push({ name, bytes });
  }
  const bytes = [...partials, ...staging].reduce((sum, item) => sum + item.bytes, 0);
  return { partials, staging, inUse, bytes };
};
