import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorePaths } from './paths.js';

/** A lock refreshed within this long belongs to a pull that is still running (proper-lockfile refreshes every few seconds). */
const LIVE_LOCK_MS = 30_000;
/** Staging younger than this is left alone whatever its lock says (a pull that just started). */
const YOUNG_MS = 60_000;

/** Whether a process of this id is running (one we may not signal counts as running). */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const ageOf = async (path: string): Promise<number> => {
  const info = await stat(path).catch(() => undefined);
  return info ? Date.now() - info.mtimeMs : Number.POSITIVE_INFINITY;
};

/**
 * What killed pulls and removals left under `tmp/`: a staging directory
 * `NAME-xxxxxx` (or `.old`) whose model's lock is not held, and a removal
 * `NAME-removed-PID-…` whose process is gone. Returns their names.
 */
export const findStaleStaging = async (paths: StorePaths): Promise<string[]> => {
  const stale: string[] = [];
  for (const entry of await readdir(paths.tmp).catch(() => [] as string[])) {
    const path = join(paths.tmp, entry);
    const removal = /-removed-(\d+)-\d+$/.exec(entry);
    if (removal) {
      if (!isProcessAlive(Number(removal[1]))) stale.push(entry);
      continue;
    }
    const name = /^(.+)-[A-Za-z0-9]{6}(?:\.old)?$/.exec(entry)?.[1];
    if (name && (await ageOf(path)) > YOUNG_MS && (await ageOf(join(paths.locks, `${name}.lock`))) > LIVE_LOCK_MS) stale.push(entry);
  }
  return stale;
};

/**
 * Removes what `findStaleStaging` finds: `kill -9` mid-pull otherwise
 * leaves it there for ever. Returns the names removed.
 */
export const cleanStaleStaging = async (paths: StorePaths): Promise<string[]> => {
  const removed: string[] = [];
  for (const entry of await findStaleStaging(paths)) {
    await rm(join(paths.tmp, entry), { recursive: true, force: true }).catch(() => undefined);
    removed.push(entry);
  }
  return removed;
};
