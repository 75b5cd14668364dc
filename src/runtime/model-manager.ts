import type { EngineHandle } from '../engines/types.js';
import { abortReason, AppError, EngineCrashError } from '../errors.js';
import type { EngineCrash, LoadedModel } from '../types/models.js';
import { createSlotQueue, type SlotQueue } from './queue.js';

/**
 * Keeps models loaded and shares them: one load per model however many ask
 * at once, `parallel` requests per model at a time with a bounded queue
 * behind them, keep-alive with idle unload, and a bound on loaded models with
 * least-recently-used eviction. Engine-agnostic: it only sees EngineHandle.
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
  /** Bytes all loaded models may hold before least recently used idle ones are unloaded; default unbounded. */
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



export interface ManagerLoadOptions {
  readonly keepAliveMs?: number;
  readonly signal?: AbortSignal;
}

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
  run<T>(name: string, fn: (handle: EngineHandle) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /** Loads (or shares) a model and holds it until the lease is released. */
  lease(name: string, options?: { signal?: AbortSignal }): Promise<ModelLease>;
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
}

interface Entry {
  readonly name: string;
  readonly promise: Promise<EngineHandle>;
  readonly queue: SlotQueue;
  handle?: EngineHandle;
  loadedAt?: Date;
  /** The engine's last answer to stats() (read at load and after each call). */
  memoryBytes: number;
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

  /** Unloads the entry now when idle, else marks it to go when its last user leaves. */
  const close = (entry: Entry): Promise<void> | undefined => {
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
  const memory = () => [...entries.values()].reduce((sum, entry) => sum + entry.memoryBytes, 0);

  /** Asks the engine what it holds now, then re-checks the memory bound. */
  const refresh = (entry: Entry) => {
    const handle = entry.handle;
    if (!handle || entry.closing) return;
    handle.stats().then(
      (stats) => {
        entry.memoryBytes = stats.memoryBytes;
        evict(options.maxLoaded);
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

  /** Unloads least recently used idle models until at most `keep` remain within the memory bound. */
  const evict = (keep: number) => {
    const candidates = [...entries.values()].filter(idle).sort((a, b) => a.lastUsed - b.lastUsed);
    while ((entries.size > keep || memory() > maxMemory) && candidates.length) void close(candidates.shift()!);
  };

  const schedule = (entry: Entry) => {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (!idle(entry)) return;
    if (entry.keepAliveMs === 0) return void close(entry);
    if (entry.keepAliveMs > 0) {
      entry.timer = setTimeout(() => idle(entry) && close(entry), entry.keepAliveMs);
      entry.timer.unref();
    }
  };

  const enter = (name: string): Entry => {
    let entry = entries.get(name);
    if (!entry) {
      const why = broken.get(name);
      if (why !== undefined) {
        throw new AppError('model_broken', `'${name}' crashed its engine ${maxCrashes} times in a row (last: ${why}), so murmur no longer loads it.`, {
          hint: `Its files are probably damaged: pull it again (\`murmur pull ${name} --force\`), or restart the daemon to try it once more.`,
          param: 'model',
        });
      }
      evict(options.maxLoaded - 1);
      const promise = options.load(name, stopping.signal).then(async (handle) => {
        // Memory is known before the model counts as loaded, so the bound sees it at once.
        created.memoryBytes = (await handle.stats().catch(() => ({ memoryBytes: 0 }))).memoryBytes;
        return handle;
      });
      const created: Entry = {
        name,
        promise,
        memoryBytes: 0,
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
          created.loadedAt = new Date();
          handle.died?.then((reason) => crashed(created, reason), () => undefined);
          evict(options.maxLoaded);
        },
        (error: unknown) => {
          if (entries.get(name) === created) entries.delete(name);
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
    evict(options.maxLoaded);
  };

  const describe = (entry: Entry): LoadedModel => {
    const keep = entry.keepAliveMs;
    const from = entry.users > 0 ? Date.now() : entry.idleSince;
    return {
      name: entry.name,
      kind: entry.handle!.kind,
      memoryBytes: entry.memoryBytes,
      inFlight: entry.queue.active,
      ...(entry.handle!.pid !== undefined ? { pid: entry.handle!.pid } : {}),
      queued: entry.queue.queued,
      loadedAt: entry.loadedAt!,
      expiresAt: keep < 0 ? null : new Date(from + keep),
    };
  };

  const manager: ModelManager = {
    async run(name, fn, { signal } = {}) {
      const entry = enter(name);
      try {
        const handle = await withSignal(entry.promise, signal);
        return await inSlot(entry, handle, fn, signal);
      } finally {
        leave(entry);
      }
    },
    async lease(name, { signal } = {}) {
      const entry = enter(name);
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
    async load(name, { keepAliveMs, signal } = {}) {
      const entry = enter(name);
      try {
        await withSignal(entry.promise, signal);
        if (keepAliveMs !== undefined) entry.keepAliveMs = keepAliveMs;
        return describe(entry);
      } finally {
        leave(entry);
      }
    },
    async unload(names) {
      const chosen = names === 'all' ? [...entries.values()] : names.map((n) => entries.get(n)).filter((e): e is Entry => !!e);
      await Promise.all(chosen.map((entry) => close(entry)));
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
    async [Symbol.asyncDispose]() {
      stopping.abort(new DOMException('The model manager is shutting down.', 'AbortError'));
      await manager.unload('all');
      // Models still busy go when their requests finish (callers abort those first to hurry it).
      await Promise.all([...closing].map((entry) => entry.closed));
    },
  };
  return manager;
};
