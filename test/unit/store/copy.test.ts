import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../../src/catalog/catalog.js';
import { loadConfig } from '../../../src/config.js';
import { createStore, type StoreDeps } from '../../../src/store/store.js';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A store with one imported tts-like model `voice` (a file, a nested folder, a symlink); recognition is faked. */
const setup = async (deps: StoreDeps = {}) => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-copy-'));
  homes.push(home);
  const source = join(home, 'import');
  mkdirSync(join(source, 'espeak-ng-data', 'voices'), { recursive: true });
  writeFileSync(join(source, 'model.bin'), 'weights');
  writeFileSync(join(source, 'espeak-ng-data', 'voices', 'en'), 'voice data');
  symlinkSync('espeak-ng-data/voices/en', join(source, 'default-voice'));
  const store = createStore(loadConfig({ MURMUR_HOME: home }), createCatalog(), {
    recognize: async () => ({ kind: 'tts', engine: 'sherpa-onnx', family: 'vits', files: { model: 'model.bin', dataDir: 'espeak-ng-data', defaultVoice: 'default-voice' }, sampleRate: 22050 }),
    ...deps,
  });
  const original = await store.pull(source, { name: 'voice' });
  return { home, store, original };
};

describe('store.copy', () => {
  it('installs the same manifest under the new name over hard links, leaving nothing in tmp/', async () => {
    const { home, store, original } = await setup();
    const copy = await store.copy('voice', 'voice-2');
    expect(copy.dir).toBe(join(home, 'models', 'voice-2'));
    const { dir: _a, pulledAt: _b, name: _c, ...same } = JSON.parse(JSON.stringify(original)) as typeof original;
    expect(copy).toMatchObject({ ...same, name: 'voice-2', kind: 'tts', engine: 'sherpa-onnx', family: 'vits', sampleRate: 22050 });
    expect(Date.parse(copy.pulledAt)).toBeGreaterThanOrEqual(Date.parse(original.pulledAt));
    for (const file of ['model.bin', 'espeak-ng-data/voices/en']) {
      const a = statSync(join(original.dir, file));
      const b = statSync(join(copy.dir, file));
      expect(b.ino, file).toBe(a.ino);
      expect(b.nlink, file).toBe(2);
    }
    // A symlink is made again with the same target (an import's cp has already made it absolute).
    expect(readlinkSync(join(copy.dir, 'default-voice'))).toBe(readlinkSync(join(original.dir, 'default-voice')));
    expect(JSON.parse(readFileSync(join(copy.dir, 'murmur.json'), 'utf8'))).toMatchObject({ name: 'voice-2', kind: 'tts', family: 'vits' });
    // The manifest is the copy's own file, not a link of the original's.
    expect(JSON.parse(readFileSync(join(original.dir, 'murmur.json'), 'utf8')).name).toBe('voice');
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
    expect((await store.list()).map((m) => m.name)).toEqual(['voice', 'voice-2']);
    expect(await store.get('voice-2')).toMatchObject({ name: 'voice-2', dir: copy.dir });
  });

  it('removing either model leaves the other whole', async () => {
    const { store } = await setup();
    const copy = await store.copy('voice', 'voice-2');
    await store.remove('voice');
    expect(readFileSync(join(copy.dir, 'model.bin'), 'utf8')).toBe('weights');
    expect(statSync(join(copy.dir, 'model.bin')).nlink).toBe(1);
    const again = await store.copy('voice-2', 'voice');
    await store.remove('voice-2');
    expect(readFileSync(join(again.dir, 'espeak-ng-data', 'voices', 'en'), 'utf8')).toBe('voice data');
    expect((await store.list()).map((m) => m.name)).toEqual(['voice']);
  });

  it('copies the files when they cannot be linked (another device)', async () => {
    const exdev = async () => {
      throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
    };
    const { store, original } = await setup({ linkFile: exdev });
    const copy = await store.copy('voice', 'voice-2');
    expect(statSync(join(copy.dir, 'model.bin')).ino).not.toBe(statSync(join(original.dir, 'model.bin')).ino);
    expect(readFileSync(join(copy.dir, 'model.bin'), 'utf8')).toBe('weights');
  });

  it('refuses a missing source, an installed destination and a bad name, changing nothing', async () => {
    const { home, store } = await setup();
    await expect(store.copy('nope', 'other')).rejects.toMatchObject({ code: 'model_not_found' });
    await expect(store.copy('voice', 'voice')).rejects.toMatchObject({ code: 'model_exists', param: 'destination' });
    await store.copy('voice', 'voice-2');
    await expect(store.copy('voice', 'voice-2')).rejects.toMatchObject({ code: 'model_exists', message: "'voice-2' is installed already." });
    for (const bad of ['../evil', 'a/b', '.hidden', '']) await expect(store.copy('voice', bad), bad).rejects.toMatchObject({ code: 'usage' });
    expect(readdirSync(join(home, 'models')).sort()).toEqual(['voice', 'voice-2']);
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
  });

  it('a copy that fails midway leaves no staging and no model', async () => {
    let calls = 0;
    const failing = async (from: string, to: string) => {
      if (++calls > 1) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      const { link } = await import('node:fs/promises');
      await link(from, to);
    };
    const { home, store } = await setup({ linkFile: failing });
    await expect(store.copy('voice', 'voice-2')).rejects.toThrow(/EIO/);
    expect(existsSync(join(home, 'models', 'voice-2'))).toBe(false);
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
    expect((await store.list()).map((m) => m.name)).toEqual(['voice']);
  });
});
