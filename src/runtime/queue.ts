import { abortReason, AppError } from '../errors.js';

/**
 * A counting semaphore with a bounded wait list: `slots` holders at once,
 * up to `maxQueued` more waiting in FIFO order, and an overloaded error
 * beyond that. Waiters leave the queue when their AbortSignal fires.
 */
export interface SlotQueue {
  /** Holders now. */
  readonly active: number;
  /** Waiters now. */
  readonly queued: number;
  /**
   * Waits for a free slot and returns the function that frees it (calling it
   * twice is harmless). Throws AppError('overloaded') when the queue is full.
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

export interface SlotQueueOptions {
  readonly slots: number;
  readonly maxQueued: number;
  /** Named in the overloaded error. */
  readonly label?: string;
  /** Called whenever active or queued changes. */
  readonly onChange?: () => void;
}

interface Waiter {
  readonly grant: () => void;
}

/** Creates a SlotQueue. */
export const createSlotQueue = (options: SlotQueueOptions): SlotQueue => {
  const slots = Math.max(1, options.slots);
  const waiters: Waiter[] = [];
  let active = 0;
  const changed = () => options.onChange?.();

  const release = () => {
    const next = waiters.shift();
    if (next) next.grant();
    else active -= 1;
    changed();
  };

  const makeRelease = () => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiters.length;
    },
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (active < slots) {
        active += 1;
        changed();
        return Promise.resolve(makeRelease());
      }
      if (waiters.length >= options.maxQueued) {
        const what = options.label ? `'${options.label}'` : 'the model';
        return Promise.reject(
          new AppError('overloaded', `Too many requests for ${what}: ${active} running and ${waiters.length} waiting.`, {
            hint: 'Try again shortly, or raise --parallel (MURMUR_PARALLEL) on the daemon.',
          }),
        );
      }
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          changed();
          reject(abortReason(signal!));
        };
        // A granted slot passes straight from the releaser to this waiter, so `active` stays the same.
        const waiter: Waiter = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(makeRelease());
          },
        };
        waiters.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        changed();
      });
    },
  };
};
