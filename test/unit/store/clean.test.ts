import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanStore } from '../../../src/store/clean.js';
import { withLock } from '../../../src/store/lock.js';
import { storePaths } from '../../../src/store/paths.js';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

const store = () => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-clean-'));
  homes.push(home);
  const paths = storePaths(home);
  for (const dir of [paths.models, paths.partial, paths.tmp, paths.locks]) mkdirSync(dir, { recursive: true });
  return { home, paths };
};

describe('cleanStore (murmur pull --clean)', () => {
  it('removes partial downloads with their sidecars and stale staging, counts the bytes, and leaves models alone', async () => {
    const { home, paths } = store();
    writeFileSync(join(paths.partial, 'aaaa-model.gguf'), Buffer.alloc(1000));
    writeFileSync(join(paths.partial, 'aaaa-model.gguf.meta.json'), '{"url":"x"}');
    writeFileSync(join(paths.partial, 'bbbb-voice.tar.bz2'), Buffer.alloc(500));
    writeFileSync(join(paths.partial, 'cccc-gone.gguf.meta.json'), '{}');
    mkdirSync(join(paths.tmp, 'killed-a1B2c3', 'sub'), { recursive: true });
    writeFileSync(join(paths.tmp, 'killed-a1B2c3', 'sub', 'part.bin'), Buffer.alloc(300));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(paths.tmp, 'killed-a1B2c3'), old, old);
    mkdirSync(join(paths.tmp, 'fresh-Qq1Ww2')); // a pull that just began
    mkdirSync(join(paths.models, 'kept'));
    writeFileSync(join(paths.models, 'kept', 'murmur.json'), '{}');

    const report = await cleanStore(home);
    expect(report.partials).toEqual([
      { name: 'aaaa-model.gguf', bytes: 1011 },
      { name: 'bbbb-voice.tar.bz2', bytes: 500 },
      { name: 'cccc-gone.gguf', bytes: 2 },
    ]);
    expect(report.staging).toEqual([{ name: 'killed-a1B2c3', bytes: 300 }]);
    expect(report).toMatchObject({ inUse: [], bytes: 1813 });
    expect(readdirSync(paths.partial)).toEqual([]);
    expect(readdirSync(paths.tmp)).toEqual(['fresh-Qq1Ww2']);
    expect(existsSync(join(paths.models, 'kept', 'murmur.json'))).toBe(true);
  });

  it('keeps the partial a running pull is writing (it holds the partial’s lock)', async () => {
    const { home, paths } = store();
    writeFileSync(join(paths.partial, 'dddd-busy.gguf'), Buffer.alloc(10));
    const report = await withLock(paths.locks, 'partial-dddd-busy.gguf', () => cleanStore(home));
    expect(report).toEqual({ partials: [], staging: [], inUse: ['dddd-busy.gguf'], bytes: 0 });
    expect(existsSync(join(paths.partial, 'dddd-busy.gguf'))).toBe(true);
    // Once that pull is over, the partial can go.
    expect((await cleanStore(home)).partials).toEqual([{ name: 'dddd-busy.gguf', bytes: 10 }]);
  });

  it('finds nothing in a store that does not exist yet, and creates nothing', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'murmur-clean-')), 'none');
    homes.push(home);
    expect(await cleanStore(home)).toEqual({ partials: [], staging: [], inUse: [], bytes: 0 });
    expect(existsSync(home)).toBe(false);
  });
});
