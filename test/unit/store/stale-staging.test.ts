import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../../src/catalog/catalog.js';
import { loadConfig } from '../../../src/config.js';
import { storePaths } from '../../../src/store/paths.js';
import { cleanStaleStaging } from '../../../src/store/stale-staging.js';
import { createStore } from '../../../src/store/store.js';
import { missingModels, testModel } from '../../helpers/models.js';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

const aged = (path: string, ms: number) => {
  const when = new Date(Date.now() - ms);
  utimesSync(path, when, when);
};

/** A store home with what killed pulls leave behind, and one pull still running. */
const leftovers = () => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-stale-'));
  homes.push(home);
  const paths = storePaths(home);
  for (const dir of [paths.tmp, paths.locks, paths.models]) mkdirSync(dir, { recursive: true });
  const make = (entry: string, ageMs: number) => {
    mkdirSync(join(paths.tmp, entry), { recursive: true });
    writeFileSync(join(paths.tmp, entry, 'part.bin'), 'x');
    aged(join(paths.tmp, entry), ageMs);
  };
  make('killed-a1B2c3', 3_600_000); // a pull killed an hour ago, its lock long gone
  make('killed-a1B2c3.old', 3_600_000);
  make('gone-removed-999999999-1', 0); // a removal whose process is gone
  make(`mine-removed-${process.pid}-1`, 3_600_000); // a removal still under way here
  make('running-Zz9Yy8', 3_600_000); // an old staging whose pull still holds its lock
  mkdirSync(join(paths.locks, 'running.lock'));
  make('fresh-Qq1Ww2', 1000); // a pull that just began
  return { home, paths };
};

describe('stale staging left by killed pulls', () => {
  it('goes, while a running pull’s staging, a fresh one and a live removal stay', async () => {
    const { paths } = leftovers();
    const removed = await cleanStaleStaging(paths);
    expect(removed.sort()).toEqual(['gone-removed-999999999-1', 'killed-a1B2c3', 'killed-a1B2c3.old']);
    for (const kept of ['running-Zz9Yy8', 'fresh-Qq1Ww2', `mine-removed-${process.pid}-1`]) expect(existsSync(join(paths.tmp, kept)), kept).toBe(true);
  });

  it.skipIf(missingModels('stories260K/stories260K.gguf'))('is cleaned by the first pull of a store', async () => {
    const { home, paths } = leftovers();
    const store = createStore(loadConfig({ MURMUR_HOME: home }), createCatalog());
    await store.pull(testModel('stories260K/stories260K.gguf')!, { name: 'tiny' });
    expect(existsSync(join(paths.tmp, 'killed-a1B2c3'))).toBe(false);
    expect(existsSync(join(paths.tmp, 'running-Zz9Yy8'))).toBe(true);
  });
});
