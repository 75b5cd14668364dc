import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineHandle } from '../../../src/engines/types.js';
import { AppError, EngineCrashError } from '../../../src/errors.js';
import { createModelManager, type ModelManagerOptions } from '../../../src/runtime/model-manager.js';

interface FakeHandle extends EngineHandle {
  readonly name: string;
  disposed: boolean;
}

/** A fake engine: counts loads, records disposals, loads resolve when `release` is called (or at once). */
const fakeEngine = (opts: { manual?: boolean; fail?: (name: string) => boolean } = {}) => {
  const loads: string[] = [];
  const handles: FakeHandle[] = [];
  const pending: (() => void)[] = [];
  const load = (name: string): Promise<EngineHandle> => {
    loads.push(name);
    return new Promise((resolve, reject) => {
      const finish = () => {
        if (opts.fail?.(name)) return reject(new AppError('engine_load_failed', `cannot load ${name}`));
        const handle: FakeHandle = {
          name,
          kind: 'llm',
          stats: async () => ({ memoryBytes: 1000 + name.length }),
          disposed: false,
          async dispose() {
            handle.disposed = true;
          },
        };
        handles.push(handle);
        resolve(handle);
      };
      if (opts.manual) pending.push(finish);
      else finish();
    });
  };
  const releaseLoads = () => pending.splice(0).forEach((f) => f());
  return { load, loads, handles, releaseLoads };
};

/** A promise with its resolve function, to hold a request open. */
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

const flush = () => new Promise((r) => setImmediate(r));

const manager = (engine: ReturnType<typeof fakeEngine>, options: Partial<ModelManagerOptions> = {}) =>
  createModelManager({ keepAliveMs: 60_000, maxLoaded: 3, parallel: 2, load: engine.load, ...options });

afterEach(() => {
  vi.useRealTimers();
});

describe('model manager', () => {
  it('shares one in-flight load between concurrent requests', async () => {
    const engine = fakeEngine({ manual: true });
    const mm = manager(engine);
    const seen: string[] = [];
    const runs = [1, 2, 3].map(() => mm.run('a', async (h) => void seen.push((h as FakeHandle).name)));
    const loading = mm.load('a');
    await flush();
    expect(engine.loads).toEqual(['a']);
    engine.releaseLoads();
    await Promise.all([...runs, loading]);
    expect(seen).toEqual(['a', 'a', 'a']);
    expect(engine.handles).toHaveLength(1);
    await mm[Symbol.asyncDispose]();
    expect(engine.handles[0].disposed).toBe(true);
  });

  it('unloads after the keep-alive when idle, not while busy', async () => {
    vi.useFakeTimers();
    const engine = fakeEngine();
    const mm = manager(engine, { keepAliveMs: 1000 });
    const hold = deferred();
    const running = mm.run('a', () => hold.promise);
    await vi.advanceTimersByTimeAsync(5000);
    expect(mm.ps().map((m) => m.name)).toEqual(['a']);
    expect(mm.ps()[0].inFlight).toBe(1);
    hold.resolve();
    await running;
    const info = mm.ps()[0];
    expect(info.expiresAt!.getTime() - Date.now()).toBe(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(engine.handles[0].disposed).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(engine.handles[0].disposed).toBe(true);
    expect(mm.ps()).toEqual([]);
  });

  it('keeps a model forever with -1 and unloads at once with 0', async () => {
    vi.useFakeTimers();
    const engine = fakeEngine();
    const mm = manager(engine, { keepAliveMs: 0 });
    await mm.run('zero', async () => undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.handles[0].disposed).toBe(true);
    const forever = await mm.load('kept', { keepAliveMs: -1 });
    expect(forever.expiresAt).toBeNull();
    await mm.run('kept', async () => undefined);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(mm.ps().map((m) => m.name)).toEqual(['kept']);
    expect(engine.handles[1].disposed).toBe(false);
  });

  it('evicts the least recently used idle model beyond maxLoaded, never a busy one', async () => {
    const engine = fakeEngine();
    const mm = manager(engine, { maxLoaded: 2 });
    const hold = deferred();
    const busy = mm.run('a', () => hold.promise);
    await mm.run('b', async () => undefined);
    await mm.run('c', async () => undefined);
    await flush();
    // 'a' is busy, so 'b' (idle, least recently used) went.
    expect(mm.ps().map((m) => m.name).sort()).toEqual(['a', 'c']);
    expect(engine.handles.find((h) => h.name === 'b')!.disposed).toBe(true);
    await mm.run('d', async () => undefined);
    await flush();
    expect(mm.ps().map((m) => m.name).sort()).toEqual(['a', 'd']);
    hold.resolve();
    await busy;
    // 'a' finished last, so 'd' is now the least recently used.
    await mm.run('c', async () => undefined);
    await flush();
    expect(mm.ps().map((m) => m.name)).toEqual(['c', 'a']);
    await mm.run('d', async () => undefined);
    await flush();
    expect(mm.ps().map((m) => m.name)).toEqual(['d', 'c']);
    expect(engine.loads).toEqual(['a', 'b', 'c', 'd', 'c', 'd']);
  });

  it('unloads least recently used idle models to stay within a memory bound', async () => {
    const engine = fakeEngine();
    // Each fake model holds 1000 + name length bytes.
    const mm = manager(engine, { maxLoaded: 10, maxMemoryBytes: 2500 });
    await mm.run('a', async () => undefined);
    await mm.run('b', async () => undefined);
    expect(mm.ps().map((m) => m.name)).toEqual(['b', 'a']);
    await mm.run('a', async () => undefined);
    await mm.run('c', async () => undefined);
    await flush();
    expect(mm.ps().map((m) => m.name)).toEqual(['c', 'a']);
    expect(engine.handles.find((h) => h.name === 'b')!.disposed).toBe(true);
  });

  it('runs `parallel` requests at once, queues more, then refuses with overloaded', async () => {
    const engine = fakeEngine();
    const mm = manager(engine, { parallel: 2, maxQueued: 2 });
    const holds = [deferred(), deferred(), deferred(), deferred()];
    let running = 0;
    let peak = 0;
    const runs = holds.map((hold) =>
      mm.run('a', async () => {
        running += 1;
        peak = Math.max(peak, running);
        await hold.promise;
        running -= 1;
      }),
    );
    await flush();
    expect(mm.ps()[0]).toMatchObject({ inFlight: 2, queued: 2 });
    const refused = await mm.run('a', async () => 'ran').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('overloaded');
    expect((refused as AppError).hint).toBeTruthy();
    holds.forEach((h) => h.resolve());
    await Promise.all(runs);
    expect(peak).toBe(2);
    expect(mm.ps()[0]).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('lets an aborted waiter leave the queue and frees its place', async () => {
    const engine = fakeEngine();
    const mm = manager(engine, { parallel: 1, maxQueued: 1 });
    const hold = deferred();
    const first = mm.run('a', () => hold.promise);
    const controller = new AbortController();
    const waiting = mm.run('a', async () => 'never', { signal: controller.signal });
    await flush();
    expect(mm.ps()[0].queued).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(mm.ps()[0].queued).toBe(0);
    const next = mm.run('a', async () => 'ran');
    hold.resolve();
    await first;
    await expect(next).resolves.toBe('ran');
  });

  it('forgets a failed load so the next request tries again, and keeps other models', async () => {
    let broken = true;
    const engine = fakeEngine({ fail: (name) => name === 'bad' && broken });
    const mm = manager(engine);
    await mm.run('good', async () => undefined);
    await expect(mm.run('bad', async () => undefined)).rejects.toMatchObject({ code: 'engine_load_failed' });
    expect(mm.ps().map((m) => m.name)).toEqual(['good']);
    broken = false;
    await mm.run('bad', async () => undefined);
    expect(engine.loads).toEqual(['good', 'bad', 'bad']);
    expect(mm.ps().map((m) => m.name).sort()).toEqual(['bad', 'good']);
  });

  it('unloads a busy model once its requests finish, and reports memory in ps', async () => {
    const engine = fakeEngine();
    const mm = manager(engine);
    const hold = deferred();
    const running = mm.run('abc', () => hold.promise);
    await flush();
    expect(mm.ps()[0]).toMatchObject({ name: 'abc', kind: 'llm', memoryBytes: 1003, inFlight: 1 });
    expect(await mm.unload(['abc', 'missing'])).toEqual(['abc']);
    expect(engine.handles[0].disposed).toBe(false);
    hold.resolve();
    await running;
    await flush();
    expect(engine.handles[0].disposed).toBe(true);
    expect(await mm.unload('all')).toEqual([]);
  });
});

describe('model manager: leases and engine deaths', () => {
  it('a lease keeps its model loaded past keep-alive 0 and eviction, with one load and a slot per call', async () => {
    const engine = fakeEngine();
    const mm = manager(engine, { keepAliveMs: 0, maxLoaded: 1 });
    const lease = await mm.lease('a');
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) await lease.run(async (h) => void seen.push((h as FakeHandle).name));
    // Another model arriving does not push the leased one out.
    await mm.run('b', async () => undefined);
    expect(mm.ps().map((m) => m.name)).toContain('a');
    expect(engine.loads).toEqual(['a', 'b']);
    expect(seen).toEqual(['a', 'a', 'a', 'a', 'a']);
    lease.release();
    lease.release();
    await flush();
    expect(engine.handles[0]!.disposed).toBe(true);
    await expect(lease.run(async () => 1)).rejects.toThrow(/released/);
    await mm[Symbol.asyncDispose]();
  });

  it('reads memory through stats() and bounds it', async () => {
    const engine = fakeEngine();
    const mm = manager(engine, { maxMemoryBytes: 1500 });
    await mm.run('a', async () => undefined);
    await mm.run('bb', async () => undefined);
    await flush();
    expect(mm.ps().map((m) => [m.name, m.memoryBytes])).toEqual([['bb', 1002]]);
    await mm[Symbol.asyncDispose]();
  });

  it('an engine that dies fails its calls with engine_crashed, is evicted, and loads afresh next time', async () => {
    let kill!: (error: Error) => void;
    const loads: number[] = [];
    const disposed: number[] = [];
    const mm = createModelManager({
      keepAliveMs: 60_000,
      maxLoaded: 3,
      parallel: 1,
      load: async () => {
        const n = loads.push(loads.length);
        const died = new Promise<Error>((resolve) => (kill = resolve));
        const handle: EngineHandle = { kind: 'llm', stats: async () => ({ memoryBytes: 1 }), died, dispose: async () => void disposed.push(n) };
        return handle;
      },
    });
    const hung = deferred();
    const running = mm.run('a', () => hung.promise.then(() => 'late'));
    const queued = mm.run('a', async () => 'never');
    await flush();
    expect(mm.ps()[0]).toMatchObject({ name: 'a', inFlight: 1, queued: 1 });
    kill(new Error('exit code 134'));
    const [first, second] = await Promise.allSettled([running, queued]);
    for (const outcome of [first, second]) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(AppError);
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'engine_crashed' });
      expect(((outcome as PromiseRejectedResult).reason as AppError).message).toMatch(/exit code 134/);
    }
    expect(mm.ps()).toEqual([]);
    await flush();
    expect(disposed).toEqual([1]);
    expect(await mm.run('a', async () => 'again')).toBe('again');
    expect(loads).toHaveLength(2);
    hung.resolve();
    await mm[Symbol.asyncDispose]();
  });
  it('a model whose engine crashes three times in a row is refused as broken until forgiven; a served request resets the count', async () => {
    const kills: ((error: Error) => void)[] = [];
    const crashes: unknown[] = [];
    const mm = createModelManager({
      keepAliveMs: 60_000,
      maxLoaded: 3,
      parallel: 1,
      load: async () => {
        const died = new Promise<Error>((resolve) => kills.push(resolve));
        const handle: EngineHandle = { kind: 'tts', stats: async () => ({ memoryBytes: 1 }), died, dispose: async () => undefined };
        return handle;
      },
    });
    mm.onCrash((crash) => crashes.push(crash));
    const crashOnce = async () => {
      const hung = deferred();
      const running = mm.run('voice', () => hung.promise);
      await flush();
      kills.at(-1)!(new Error('killed by SIGABRT'));
      await expect(running).rejects.toMatchObject({ code: 'engine_crashed' });
    };
    await crashOnce();
    await crashOnce();
    // A request served in between: the crashes are no longer in a row.
    expect(await mm.run('voice', async () => 'ok')).toBe('ok');
    await crashOnce();
    await crashOnce();
    expect(mm.broken().size).toBe(0);
    await crashOnce();
    expect(mm.broken().get('voice')).toBe('killed by SIGABRT');
    expect(mm.restarts().get('voice')).toBe(5);
    expect(crashes.at(-1)).toEqual({ model: 'voice', reason: 'killed by SIGABRT', inARow: 3, broken: true });
    const loadsBefore = kills.length;
    await expect(mm.run('voice', async () => 'never')).rejects.toMatchObject({ code: 'model_broken', message: expect.stringMatching(/3 times in a row/) });
    expect(kills.length).toBe(loadsBefore);
    mm.forgive('voice');
    expect(await mm.run('voice', async () => 'back')).toBe('back');
    await mm[Symbol.asyncDispose]();
  });

  it('an engine that dies while loading counts as a crash', async () => {
    const mm = createModelManager({
      keepAliveMs: 60_000,
      maxLoaded: 3,
      parallel: 1,
      maxCrashes: 2,
      load: async () => {
        throw new EngineCrashError("The engine stopped while loading 'bad' (exit code 255).", 'exit code 255');
      },
    });
    await expect(mm.run('bad', async () => 'never')).rejects.toMatchObject({ code: 'engine_crashed' });
    await flush();
    await expect(mm.run('bad', async () => 'never')).rejects.toMatchObject({ code: 'engine_crashed' });
    await flush();
    await expect(mm.run('bad', async () => 'never')).rejects.toMatchObject({ code: 'model_broken' });
    expect(mm.broken().get('bad')).toBe('exit code 255');
    await mm[Symbol.asyncDispose]();
  });
});
