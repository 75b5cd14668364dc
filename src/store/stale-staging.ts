import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorePaths } from './paths.js';

/** A lock refreshed within this long belongs to a pull that is still running (proper-lockfile refreshes every few seconds). */
const LIVE_LOCK_MS = 30_000;
/** Staging younger than this is left alone whatever its lock says (a pull that just started). */
const YOUNG_MS = 60_000;

const alive = (pid: number): boolean => {
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
 * Removes what killed pulls and removals left under `tmp/`: a staging
 * directory `NAME-xxxxxx` (or `.old`) whose model's lock is not held, and a
 * removal `NAME-removed-PID-…` whose process is gone. `kill -9` mid-pull
 * otherwise leaves them there for ever. Returns the names removed.
 */
export const cleanStaleStaging = async (paths: StorePaths): Promise<string[]> => {
  const removed: string[] = [];
  for (const entry of await readdir(paths.tmp).catch(() => [] as string[])) {
    const path = join(paths.tmp, entry);
    const removal = /-removed-(\d+)-\d+$/.exec(entry);
    let stale: boolean;
    if (removal) stale = !alive(Number(removal[1]));
    else {
      const name = /^(.+)-[A-Za-z0-9]{6}(?:\.old)?$/.exec(entry)?.[1];
      if (!name) continue;
      stale = (await ageOf(path)) > YOUNG_MS && (await ageOf(join(paths.locks, `${name}.lock`))) > LIVE_LOCK_MS;
    }
    if (!stale) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed.push(entry);
  }
  return removed;
};
