import { join } from 'node:path';
import { makeStoreDir, storeFsError } from './paths.js';

/** How long a lock may go un-refreshed before another process takes it over (a crashed pull). */
const STALE_MS = 10_000;

const isLocked = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ELOCKED';

// A lock refresh that comes late (a busy machine) must not crash a long download; the default onCompromised throws.
const lockOptions = (locksDir: string, name: string) => ({ realpath: false, stale: STALE_MS, lockfilePath: `${join(locksDir, name)}.lock`, onCompromised: () => undefined });

/**
 * Takes the store lock `locks/<name>` if no one holds it: resolves with its
 * release, or undefined when another pull holds it (nothing waits).
 */
export const tryLock = async (locksDir: string, name: string): Promise<(() => Promise<void>) | undefined> => {
  const { lock } = await import('proper-lockfile');
  await makeStoreDir(locksDir);
  try {
    return await lock(join(locksDir, name), { ...lockOptions(locksDir, name), retries: 0 });
  } catch (error) {
    if (isLocked(error)) return undefined;
    throw storeFsError(error, locksDir) ?? error;
  }
};

/**
 * Runs `fn` holding the store lock `locks/<name>` (proper-lockfile: a
 * directory created atomically, refreshed while held, taken over when
 * stale). When another process holds it, `onWait` is called once and this
 * waits until it is released.
 */
export const withLock = async <T>(locksDir: string, name: string, fn: () => Promise<T>, onWait?: () => void, signal?: AbortSignal): Promise<T> => {
  const { lock } = await import('proper-lockfile');
  await makeStoreDir(locksDir);
  const target = join(locksDir, name);
  const options = lockOptions(locksDir, name);
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
        if (!isLocked(again)) throw storeFsError(again, locksDir) ?? again;
      }
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
};
