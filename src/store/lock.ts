import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { storeFsError } from './paths.js';

/** How long a lock may go un-refreshed before another process takes it over (a crashed pull). */
const STALE_MS = 10_000;

const isLocked = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ELOCKED';

/**
 * Runs `fn` holding the store lock `locks/<name>` (proper-lockfile: a
 * directory created atomically, refreshed while held, taken over when
 * stale). When another process holds it, `onWait` is called once and this
 * waits until it is released.
 */
export const withLock = async <T>(locksDir: string, name: string, fn: () => Promise<T>, onWait?: () => void, signal?: AbortSignal): Promise<T> => {
  const { lock } = await import('proper-lockfile');
  try {
    await mkdir(locksDir, { recursive: true });
  } catch (error) {
    throw storeFsError(error, locksDir) ?? error;
  }
  const target = join(locksDir, name);
  // A lock refresh that comes late (a busy machine) must not crash a long download; the default onCompromised throws.
  const options = { realpath: false, stale: STALE_MS, lockfilePath: `${target}.lock`, onCompromised: () => undefined };
  let release: () => Promise<void>;
  try {
    release = await lock(target, { ...options, retries: 0 });
  } catch (error) {
    if (!isLocked(error)) throw storeFsError(error, locksDir) ?? error;
    onWait?.();
    for (;;) {
      signal?.throwIfAborted();
      try {
        release = await lock(target, { ...options, retries: { retries: 20, minTimeout: 100, maxTimeout: 500 } });
        break;
      } catch (again) {
        if (!isLocked(again)) throw again;
      }
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
};
