import { freemem, totalmem } from 'node:os';
import type { EngineHandle } from '../engines/types.js';
import { formatBytes as formatSize } from '../text/bytes.js';
import { abortReason, AppError, EngineCrashError } from '../errors.js';
import type { EngineCrash, LoadedModel, ModelKind } from '../types/models.js';
import { createSlotQueue, type SlotQueue } from './queue.js';

/**
 * Keeps models loaded and shares them: one load per model however many ask
 * at once, `parallel` requests per model at a time with a bounded queue
 * behind them, keep-alive with idle unload, and a bound on loaded models with
 * least-recently-used eviction. Engine-agnostic: it only sees EngineHandle.
 *
 * Eviction: a model pinned by `load(name, {keepAliveMs: -1})` is never
 * evicted; voice-activity models (kind 'vad', a few MB) count against neither
 * `maxLoaded` nor the memory budget and never push another model out. Before
 * a model loads, idle unpinned models go, least recently used first, until it
 * fits both bounds (its expected size is its size on disk until the engine
 * reports what it holds). When pinned models alone leave no room, the load is
 * refused with AppError('overloaded') naming them. Every load, unload and
 * eviction is an event (onEvent) with its reason; the daemon logs them.
 * A session leases a model for its whole life (no lookup per call), and a
 * handle whose engine dies is evicted with its calls failed as
 * 'engine_crashed', so the next request loads it afresh.
 */

export interface ModelManagerOptions {
  /** Default keep-alive in ms; -1 keeps models forever, 0 unloads after each request. */
  readonly keepAliveMs: number;
  /** Models kept loaded before the least recently used idle one is unloaded. */
  readonly maxLoaded: number;
  /** Requests one model runs at once. */
  readonly parallel: number;
  /** Bytes all loaded models may hold before least recently used idle ones are unloaded; default unbounded (the runtime passes MURMUR_MAX_MEMORY or defaultMaxMemory()). */
  readonly maxMemoryBytes?: number;
  /** Requests per model that may wait for a slot before 'overloaded'; default 8 × parallel. */
  readonly maxQueued?: number;
  /**
   * Loads a model by name (the runtime resolves the store entry and picks the
   * engine). The signal fires when the manager is disposed mid-load, so a
   * slow load does not hold up shutdown (or Ctrl-C).
   */
  readonly load: (name: string, signal: AbortSignal) => Promise<EngineHandle>;
  /** Crashes in a row (no request served between them) after which a model is refused as broken; default 3. */
  readonly maxCrashes?: number;
}



/** What the caller knows of a model before it loads: its kind and its size on disk (the expected memory until the engine says). */
export interface ModelHint {
  readonly kind?: ModelKind;
  readonly expectedBytes?: number;
}

export interface ManagerLoadOptions {
  /** -1 pins the model: kept until unloaded, never evicted. */
  readonly keepAliveMs?: number;
  readonly signal?: AbortSignal;
  readonly hint?: ModelHint;
}

/** Why a model was unloaded (eviction is its own event). */
export type UnloadReason = 'unload requested' | 'keep-alive expired' | 'keep-alive 0' | 'shutting down';

/** What the manager did, for the daemon's log. Bytes are the counted models' total and the budget (Infinity when unbounded). */
export type ModelEvent =
  | { readonly event: 'load'; readonly model: string; readonly kind: ModelKind; readonly memoryBytes: number; readonly ms: number; readonly usedBytes: number; readonly budgetBytes: number; readonly loaded: number; readonly maxLoaded: number }
  | { readonly event: 'load_failed'; readonly model: string; readonly error: string; readonly code?: string }
  | { readonly event: 'unload'; readonly model: string; readonly reason: UnloadReason; readonly memoryBytes: number }
  | {
      readonly event: 'evict';
      readonly model: string;
      readonly reason: 'least recently used';
      /** The model that needed the room (absent when a loaded model grew past the budget). */
      readonly for?: string;
      /** Which bound it was over: the count (maxLoaded) or the memory budget. */
      readonly limit: 'count' | 'memory';
      readonly memoryBytes: number;
      readonly usedBytes: number;
      readonly budgetBytes: number;
      readonly loaded: number;
      readonly maxLoaded: number;
    };

/**
 * A model held for a session's whole life: it stays loaded (no eviction, no
 * idle unload) until released, and each call takes a slot of its own, so a
 * long session does not starve other requests.
 */
export interface ModelLease extends AsyncDisposable {
  readonly name: string;
  readonly handle: EngineHandle;
  /** Runs `fn` on the handle once a slot is free. */
  run<T>(fn: (handle: EngineHandle) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /** Gives the model back (safe to call twice). */
  release(): void;
}

export interface ModelManager extends AsyncDisposable {
  /** Runs `fn` with the loaded model once a slot is free; loads it first when needed. */
  run<T>(name: string, fn: (handle: EngineHandle) => Promise<T>, options?: { signal?: AbortSignal; hint?: ModelHint }): Promise<T>;
  /** Loads (or shares) a model and holds it until the lease is released. */
  lease(name: string, options?: { signal?: AbortSignal; hint?: ModelHint }): Promise<ModelLease>;
  /** Loads (or keeps) a model and sets its keep-alive. */
  load(name: string, options?: ManagerLoadOptions): Promise<LoadedModel>;
  /** Unloads the named models (or all); models busy with requests go once those finish. */
  unload(names: readonly string[] | 'all'): Promise<string[]>;
  /** The loaded models, most recently used first. */
  ps(): LoadedModel[];
  /** Names of the models being loaded now. */
  loading(): string[];
  /** Models refused after crashing their engine too often, with the last crash's reason. */
  broken(): ReadonlyMap<string, string>;
  /** Engine crashes (each followed by a fresh load on the next request) since start, by model. */
  restarts(): ReadonlyMap<string, number>;
  /** Lets a broken model load again (it was pulled again or removed); resets its count of crashes in a row. */
  forgive(name: string): void;
  /** Calls `listener` on every engine crash; returns the unsubscribe. */
  onCrash(listener: (crash: EngineCrash) => void): () => void;
  /** Calls `listener` on every load, failed load, unload and eviction; returns the unsubscribe. */
  onEvent(listener: (event: ModelEvent) => void): () => void;
}

interface Entry {
  readonly name: string;
  readonly promise: Promise<EngineHandle>;
  readonly queue: SlotQueue;
  handle?: EngineHandle;
  loadedAt?: Date;
  /** From the caller's hint until loaded, then the handle's. */
  kind?: ModelKind;
  /** The size on disk, counted against the budget until the engine reports memoryBytes. */
  expectedBytes: number;
  /** Loaded with keep-alive -1: never evicted. */
  pinned: boolean;
  /** The engine's last answer to stats() (read at load and after each call). */
  memoryBytes: number;
  /** Of memoryBytes, those the engine says are on a GPU. */
  vramBytes?: number;
  /** Set when the engine died: every call on the entry fails with it. */
  crash?: AppError;
  /** Calls waiting on the entry, failed at once when its engine dies (see orDeath). */
  readonly watchers: Set<(error: AppError) => void>;
  keepAliveMs: number;
  /** Callers holding the entry: loading, queued or running. */
  users: number;
  /** Order of last use (a counter, so ties cannot happen). */
  lastUsed: number;
  /** When the last user left, in ms since the epoch. */
  idleSince: number;
  timer?: NodeJS.Timeout;
  closing: boolean;
  disposed?: Promise<void>;
  /** Settles once the entry is closed and disposed. */
  closed?: Promise<void>;
  onClosed?: () => void;
}

/** Races a promise against an AbortSignal (the promise itself goes on). */
const withSignal = <T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> => {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

/** Bytes in the decimal units the CLI and the log use (`512 MB`, `1.2 GB`); `unbounded` for Infinity. */
const formatBytes = (bytes: number): string => (Number.isFinite(bytes) ? formatSize(bytes) : 'unbounded');

/**
 * The memory budget when MURMUR_MAX_MEMORY is unset: the memory free now,
 * less a headroom of a tenth of the total (at least 1 GiB) for the OS, the
 * daemon and the KV caches that grow under requests; never under 1 GiB.
 */
export const defaultMaxMemory = (free = freemem(), total = totalmem()): number => {
  const GiB = 1024 ** 3;
  return Math.max(GiB, Math.round(free - Math.max(GiB, total / 10)));
};

/** Creates a ModelManager around a loader. */
export const createModelManager = (options: ModelManagerOptions): ModelManager => {
  const entries = new Map<string, Entry>();
  const closing = new Set<Entry>();
  const maxQueued = options.maxQueued ?? options.parallel * 8;
  /** Aborts the loads still in flight when the manager is disposed. */
  const stopping = new AbortController();
  let uses = 0;
  const maxCrashes = options.maxCrashes ?? 3;
  /** Crashes in a row per model, reset by a request it serves. */
  const inARow = new Map<string, number>();
  const restarts = new Map<string, number>();
  const broken = new Map<string, string>();
  const listeners = new Set<(crash: EngineCrash) => void>();
  const eventListeners = new Set<(event: ModelEvent) => void>();
  const emit = (event: ModelEvent) => {
    for (const listener of eventListeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own
      }
    }
  };

  /** Counts a crash of `name`'s engine (under a request or while loading) and marks it broken after too many in a row. */
  const countCrash = (name: string, reason: string) => {
    const count = (inARow.get(name) ?? 0) + 1;
    inARow.set(name, count);
    restarts.set(name, (restarts.get(name) ?? 0) + 1);
    if (count >= maxCrashes) broken.set(name, reason);
    const crash: EngineCrash = { model: name, reason, inARow: count, broken: count >= maxCrashes };
    for (const listener of listeners) {
      try {
        listener(crash);
      } catch {
        // a listener's failure is its own
      }
    }
  };
  const served = (name: string) => {
    if (inARow.has(name)) inARow.delete(name);
  };

  const dispose = (entry: Entry): Promise<void> => {
    if (entries.get(entry.name) === entry) entries.delete(entry.name);
    entry.closing = true;
    clearTimeout(entry.timer);
    entry.disposed ??= entry.promise
      .then((handle) => handle.dispose())
      .catch(() => undefined)
      .finally(() => {
        closing.delete(entry);
        entry.onClosed?.();
      });
    return entry.disposed;
  };

  /** Unloads the entry now when idle, else marks it to go when its last user leaves; `reason` is logged (null: the caller logged it). */
  const close = (entry: Entry, reason: UnloadReason | null): Promise<void> | undefined => {
    if (reason && entry.handle && !entry.closing && !entry.crash) emit({ event: 'unload', model: entry.name, reason, memoryBytes: entry.memoryBytes });
    if (entries.get(entry.name) === entry) entries.delete(entry.name);
    entry.closing = true;
    clearTimeout(entry.timer);
    if (!entry.closed) {
      entry.closed = new Promise((resolve) => (entry.onClosed = resolve));
      closing.add(entry);
    }
    return entry.users === 0 ? dispose(entry) : undefined;
  };

  const idle = (entry: Entry) => entry.users === 0 && entry.handle !== undefined && !entry.closing;

  const maxMemory = options.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  /** Helper models (VAD, a few MB) count against neither bound. Unknown kinds count. */
  const counts = (entry: { kind?: ModelKind }) => entry.kind !== 'vad';
  const weight = (entry: Entry) => (counts(entry) ? entry.memoryBytes || entry.expectedBytes : 0);
  const memory = () => [...entries.values()].reduce((sum, entry) => sum + weight(entry), 0);
  const counted = () => [...entries.values()].filter(counts);

  /**
   * Unloads least recently used idle, unpinned models (never `keep`, the one
   * just used or loading) until the loaded ones, plus `incoming` when a model
   * is about to load, fit within maxLoaded and the memory budget.
   */
  const makeRoom = (keep: string | undefined, incoming?: { counts: boolean; bytes: number }) => {
    // A helper model never pushes another out.
    if (incoming && !incoming.counts) return;
    if (keep !== undefined && entries.has(keep) && !counts(entries.get(keep)!)) return;
    const extraCount = incoming ? 1 : 0;
    const extraBytes = incoming?.bytes ?? 0;
    const candidates = [...entries.values()].filter((e) => idle(e) && !e.pinned && counts(e) && e.name !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    while (candidates.length) {
      const loaded = counted().length;
      const used = memory();
      const overCount = loaded + extraCount > options.maxLoaded;
      const overMemory = used + extraBytes > maxMemory;
      if (!overCount && !overMemory) return;
      const victim = candidates.shift()!;
      emit({
        event: 'evict',
        model: victim.name,
        reason: 'least recently used',
        ...(keep !== undefined ? { for: keep } : {}),
        limit: overCount ? 'count' : 'memory',
        memoryBytes: weight(victim),
        usedBytes: used,
        budgetBytes: maxMemory,
        loaded,
        maxLoaded: options.maxLoaded,
      });
      void close(victim, null);
    }
  };

  /** Refuses a new model when the pinned models alone leave it no room (after makeRoom); idle and busy ones are not counted, busy ones finish soon. */
  const checkPinned = (name: string, bytes: number) => {
    const pinned = counted().filter((e) => e.pinned);
    if (!pinned.length) return;
    const names = pinned.map((e) => e.name);
    const hint = `Unload one (\`murmur unload ${names[0]}\`), or load it again with a keep-alive other than -1.`;
    if (pinned.length >= options.maxLoaded) {
      throw new AppError('overloaded', `Cannot load '${name}': all ${options.maxLoaded} model slots (MURMUR_MAX_LOADED) are held by models pinned with keep-alive -1 (${names.join(', ')}).`, {
        hint: `${hint} Or raise MURMUR_MAX_LOADED.`,
        param: 'model',
      });
    }
    const held = pinned.reduce((sum, e) => sum + weight(e), 0);
    if (held + bytes > maxMemory) {
      throw new AppError('overloaded', `Cannot load '${name}' (about ${formatBytes(bytes)}): models pinned with keep-alive -1 (${names.join(', ')}) hold ${formatBytes(held)} of the ${formatBytes(maxMemory)} memory budget (MURMUR_MAX_MEMORY).`, {
        hint: `${hint} Or raise MURMUR_MAX_MEMORY.`,
        param: 'model',
      });
    }
  };

  /** Asks the engine what it holds now, then re-checks the memory bound. */
  const refresh = (entry: Entry) => {
    const handle = entry.handle;
    if (!handle || entry.closing) return;
    handle.stats().then(
      (stats) => {
        entry.memoryBytes = stats.memoryBytes;
        entry.vramBytes = stats.vramBytes ?? 0;
        makeRoom(entry.name);
      },
      () => undefined,
    );
  };

  /** The engine under `entry` died: evict it now and fail its calls (queued ones too). */
  const crashed = (entry: Entry, reason: Error) => {
    if (entry.crash) return;
    const error = new AppError('engine_crashed', `The engine running '${entry.name}' stopped unexpectedly (${reason.message}).`, {
      hint: 'murmur loads it again on the next request; if it keeps happening, the model file may be bad (`murmur pull NAME --force`).',
      cause: reason,
    });
    entry.crash = error;
    for (const fail of entry.watchers) fail(error);
    entry.watchers.clear();
    countCrash(entry.name, reason.message);
    if (entries.get(entry.name) === entry) entries.delete(entry.name);
    entry.closing = true;
    clearTimeout(entry.timer);
    void dispose(entry);
  };

  /**
   * Settles as `promise` does, or rejects with the crash as soon as the
   * entry's engine dies. Not Promise.race against one long-lived "dead"
   * promise: every race would leave a reaction on it holding its result
   * for as long as the model stays loaded.
   */
  const orDeath = <T>(entry: Entry, promise: Promise<T>): Promise<T> => {
    if (entry.crash) {
      promise.catch(() => undefined);
      return Promise.reject(entry.crash);
    }
    return new Promise<T>((resolve, reject) => {
      entry.watchers.add(reject);
      promise.then(resolve, reject).finally(() => entry.watchers.delete(reject));
    });
  };

  /** Runs `fn` in a slot of `entry`, failing at once if its engine dies meanwhile. */
  const inSlot = async <T>(entry: Entry, handle: EngineHandle, fn: (handle: EngineHandle) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    const acquiring = entry.queue.acquire(signal);
    const release = await orDeath(entry, acquiring).catch((error: unknown) => {
      // A slot granted after the crash goes straight back.
      acquiring.then((r) => r(), () => undefined);
      throw error;
    });
    try {
      if (entry.crash) throw entry.crash;
      const result = await orDeath(entry, fn(handle));
      served(entry.name);
      return result;
    } finally {
      release();
      refresh(entry);
    }
  };

  const schedule = (entry: Entry) => {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (!idle(entry)) return;
    if (entry.keepAliveMs === 0) return void close(entry, 'keep-alive 0');
    if (entry.keepAliveMs > 0) {
      entry.timer = setTimeout(() => idle(entry) && close(entry, 'keep-alive expired'), entry.keepAliveMs);
      entry.timer.unref();
    }
  };

  const enter = (name: string, hint: ModelHint = {}): Entry => {
    let entry = entries.get(name);
    if (!entry) {
      const why = broken.get(name);
      if (why !== undefined) {
        throw new AppError('model_broken', `'${name}' crashed its engine ${maxCrashes} times in a row (last: ${why}), so murmur no longer loads it.`, {
          hint: `Its files are probably damaged: pull it again (\`murmur pull ${name} --force\`), or restart the daemon to try it once more.`,
          param: 'model',
        });
      }
      const expectedBytes = hint.expectedBytes ?? 0;
      const incoming = { counts: counts(hint), bytes: expectedBytes };
      makeRoom(name, incoming);
      if (incoming.counts) {
        try {
          checkPinned(name, expectedBytes);
        } catch (error) {
          emit({ event: 'load_failed', model: name, error: (error as Error).message, code: 'overloaded' });
          throw error;
        }
      }
      const started = performance.now();
      const promise = options.load(name, stopping.signal).then(async (handle) => {
        // Memory is known before the model counts as loaded, so the bound sees it at once.
        const stats = await handle.stats().catch(() => ({ memoryBytes: 0, vramBytes: 0 }));
        created.memoryBytes = stats.memoryBytes;
        created.vramBytes = stats.vramBytes ?? 0;
        return handle;
      });
      const created: Entry = {
        name,
        promise,
        memoryBytes: 0,
        expectedBytes,
        ...(hint.kind ? { kind: hint.kind } : {}),
        pinned: false,
        watchers: new Set(),
        queue: createSlotQueue({ slots: options.parallel, maxQueued, label: name }),
        keepAliveMs: options.keepAliveMs,
        users: 0,
        lastUsed: ++uses,
        idleSince: Date.now(),
        closing: false,
      };
      promise.then(
        (handle) => {
          created.handle = handle;
          created.kind = handle.kind;
          created.loadedAt = new Date();
          handle.died?.then((reason) => crashed(created, reason), () => undefined);
          if (!created.closing) {
            emit({
              event: 'load',
              model: name,
              kind: handle.kind,
              memoryBytes: created.memoryBytes,
              ms: Math.round(performance.now() - started),
              usedBytes: memory(),
              budgetBytes: maxMemory,
              loaded: counted().length,
              maxLoaded: options.maxLoaded,
            });
          }
          makeRoom(name);
        },
        (error: unknown) => {
          if (entries.get(name) === created) entries.delete(name);
          if (!stopping.signal.aborted) emit({ event: 'load_failed', model: name, error: (error as Error)?.message ?? String(error), ...(error instanceof AppError ? { code: error.code } : {}) });
          // An engine process that dies while loading is a crash like any other (a bad tokens file aborts sherpa-onnx there).
          if (error instanceof AppError && error.code === 'engine_crashed') countCrash(name, error instanceof EngineCrashError ? error.reason : error.message);
        },
      );
      entries.set(name, created);
      entry = created;
    }
    entry.users += 1;
    clearTimeout(entry.timer);
    entry.lastUsed = ++uses;
    return entry;
  };

  const leave = (entry: Entry) => {
    entry.users -= 1;
    entry.lastUsed = ++uses;
    entry.idleSince = Date.now();
    if (entry.users > 0) return;
    if (entry.closing) return void dispose(entry);
    schedule(entry);
    makeRoom(entry.name);
  };

  /** A language model's context size, which its handle carries (an LlmHandle's contextSize). */
  const contextOf = (handle: EngineHandle): { contextSize?: number } => {
    const size = (handle as { contextSize?: unknown }).contextSize;
    return typeof size === 'number' && size > 0 && handle.kind === 'llm' ? { contextSize: size } : {};
  };

  const describe = (entry: Entry): LoadedModel => {
    const keep = entry.keepAliveMs;
    const from = entry.users > 0 ? Date.now() : entry.idleSince;
    return {
      name: entry.name,
      kind: entry.handle!.kind,
      memoryBytes: entry.memoryBytes,
      ...(entry.vramBytes ? { vramBytes: entry.vramBytes } : {}),
      inFlight: entry.queue.active,
      ...(entry.handle!.pid !== undefined ? { pid: entry.handle!.pid } : {}),
      queued: entry.queue.queued,
      ...contextOf(entry.handle!),
      loadedAt: entry.loadedAt!,
      expiresAt: keep < 0 ? null : new Date(from + keep),
    };
  };

  const manager: ModelManager = {
    async run(name, fn, { signal, hint } = {}) {
      const entry = enter(name, hint);
      try {
        const handle = await withSignal(entry.promise, signal);
        return await inSlot(entry, handle, fn, signal);
      } finally {
        leave(entry);
      }
    },
    async lease(name, { signal, hint } = {}) {
      const entry = enter(name, hint);
      let handle: EngineHandle;
      try {
        handle = await withSignal(entry.promise, signal);
        if (entry.crash) throw entry.crash;
      } catch (error) {
        leave(entry);
        throw error;
      }
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        leave(entry);
      };
      return {
        name,
        handle,
        run: (fn, { signal: callSignal } = {}) => {
          if (!held) return Promise.reject(new AppError('internal', `The lease on '${name}' was released.`));
          return inSlot(entry, handle, fn, callSignal);
        },
        release,
        [Symbol.asyncDispose]: async () => release(),
      };
    },
    async load(name, { keepAliveMs, signal, hint } = {}) {
      const entry = enter(name, hint);
      try {
        await withSignal(entry.promise, signal);
        if (keepAliveMs !== undefined) {
          entry.keepAliveMs = keepAliveMs;
          // Only an explicit -1 pins: a daemon-wide MURMUR_KEEP_ALIVE=-1 means no idle unload, but models still make room for others.
          entry.pinned = keepAliveMs < 0;
        }
        return describe(entry);
      } finally {
        leave(entry);
      }
    },
    async unload(names) {
      const chosen = names === 'all' ? [...entries.values()] : names.map((n) => entries.get(n)).filter((e): e is Entry => !!e);
      await Promise.all(chosen.map((entry) => close(entry, stopping.signal.aborted ? 'shutting down' : 'unload requested')));
      return chosen.map((entry) => entry.name);
    },
    ps() {
      return [...entries.values()]
        .filter((entry) => entry.handle && !entry.closing)
        .sort((a, b) => b.lastUsed - a.lastUsed)
        .map(describe);
    },
    loading() {
      return [...entries.values()].filter((entry) => !entry.handle && !entry.closing).map((entry) => entry.name);
    },
    broken: () => broken,
    restarts: () => restarts,
    forgive(name) {
      broken.delete(name);
      inARow.delete(name);
    },
    onCrash(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    async [Symbol.asyncDispose]() {
      stopping.abort(new DOMException('The model manager is shutting down.', 'AbortError'));
      await manager.unload('all');
      // Models still busy go when their requests finish (callers abort those first to hurry it).
      await Promise.all([...closing].map((entry) => entry.closed));
    },
  };
  return manager;
};
