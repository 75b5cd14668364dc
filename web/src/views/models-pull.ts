import { ApiError, ndjson, postJson } from '../api.js';

/*
 * The one pull in flight, kept outside the view so that switching tabs does
 * not cancel it, and its ref in localStorage so that a reload starts the same
 * pull again (the daemon's store resumes a partial download with HTTP Range).
 * Progress comes as the NDJSON lines of POST /murmur/v1/pull.
 */

const KEY = 'murmur.models.pull';

/** One line of the pull's stream, as the daemon writes it (the fields the page reads). */
type PullLine =
  | { readonly status: 'resolving' | 'verifying' | 'extracting' | 'waiting' | 'success'; readonly file?: string; readonly reason?: string }
  | { readonly status: 'downloading'; readonly file: string; readonly completed: number; readonly total?: number }
  | { readonly status: 'installed'; readonly model: { readonly name: string } }
  | { readonly error: { readonly message: string; readonly hint?: string } | string };

export interface PullState {
  readonly ref: string;
  readonly phase: 'starting' | 'resolving' | 'downloading' | 'verifying' | 'extracting' | 'waiting' | 'installed' | 'failed' | 'cancelled';
  /** The file being fetched (its URL's last segment as the daemon names it). */
  readonly file?: string;
  readonly completed?: number;
  readonly total?: number;
  /** Why it waits (another pull of the same model), or why it failed. */
  readonly note?: string;
  readonly hint?: string;
  /** The installed model's name, once installed. */
  readonly installed?: string;
  /** Whether this pull was started again after a reload. */
  readonly resumed?: boolean;
}

let current: PullState | undefined;
/** Set as the page goes away (a reload): the pull's ref then stays, to be started again. */
let leaving = false;
addEventListener('pagehide', () => void (leaving = true));
let controller: AbortController | undefined;
const listeners = new Set<(state: PullState | undefined) => void>();

const set = (state: PullState | undefined) => {
  current = state;
  listeners.forEach((listener) => listener(state));
};

export const pullState = (): PullState | undefined => current;

/** Calls `listener` on each change of the pull; returns the unsubscribe. */
export const onPull = (listener: (state: PullState | undefined) => void): (() => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

/** The fraction done of the file being fetched (1 once installed), or undefined when the size is unknown. */
export const fractionOf = (state: PullState): number | undefined => {
  if (state.phase === 'installed') return 1;
  if (state.phase === 'verifying' || state.phase === 'extracting') return 1;
  if (state.completed === undefined || !state.total) return undefined;
  return Math.min(1, state.completed / state.total);
};

/** Starts pulling `ref` (one pull at a time); resolves when it ends, however it ends. */
export const startPull = async (ref: string, options: { resumed?: boolean; onInstalled?: (name: string) => void } = {}): Promise<void> => {
  if (controller) return;
  controller = new AbortController();
  const signal = controller.signal;
  localStorage.setItem(KEY, ref);
  let state: PullState = { ref, phase: 'starting', resumed: options.resumed };
  set(state);
  const update = (next: Partial<PullState>) => set((state = { ...state, ...next }));
  try {
    const res = await postJson('/murmur/v1/pull', { model: ref }, signal);
    for await (const line of ndjson<PullLine>(res)) {
      if ('error' in line) {
        const error = typeof line.error === 'string' ? { message: line.error } : line.error;
        update({ phase: 'failed', note: error.message, hint: error.hint });
        break;
      }
      switch (line.status) {
        case 'downloading':
          update({ phase: 'downloading', file: line.file, completed: line.completed, total: line.total });
          break;
        case 'installed':
          update({ phase: 'installed', installed: line.model.name, completed: state.total ?? state.completed });
          options.onInstalled?.(line.model.name);
          break;
        case 'waiting':
          update({ phase: 'waiting', note: line.reason });
          break;
        case 'success':
          break;
        default:
          update({ phase: line.status, file: line.file ?? state.file });
      }
    }
    if (state.phase !== 'installed' && state.phase !== 'failed') update({ phase: 'failed', note: 'The daemon ended the pull without saying it was installed.' });
  } catch (error) {
    if (signal.aborted) update({ phase: 'cancelled', note: undefined });
    else if (error instanceof ApiError) update({ phase: 'failed', note: error.message, hint: error.hint });
    else update({ phase: 'failed', note: (error as Error).message });
  } finally {
    controller = undefined;
    // A pull that ended (installed, failed, cancelled) is not started again on the next load.
    if (!leaving && localStorage.getItem(KEY) === ref) localStorage.removeItem(KEY);
  }
};

/** Cancels the pull in flight (the daemon stops it; what it downloaded stays for a later resume). */
export const cancelPull = (): void => controller?.abort();

/** Clears an ended pull's message. */
export const dismissPull = (): void => {
  if (!controller) set(undefined);
};

/** On the page's load: the pull in flight before a reload, started again. */
export const resumePull = (onInstalled?: (name: string) => void): void => {
  const ref = localStorage.getItem(KEY);
  if (ref && !controller) void startPull(ref, { resumed: true, onInstalled });
};
