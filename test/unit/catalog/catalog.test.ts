import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog, createCatalog } from '../../../src/catalog/catalog.js';
import { AppError } from '../../../src/errors.js';
import { builtinCatalogPath } from '../../../src/project.js';
import type { CatalogEntry } from '../../../src/catalog/schema.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'catalogs');
const fixture = (name: string) => join(fixtures, name);
const builtinPath = builtinCatalogPath();

const loadError = async (userPath: string): Promise<AppError> => {
  const error = await loadCatalog({ builtinPath, userPath }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('catalog_invalid');
  return error as AppError;
};

const vad = (name: string, extra: Partial<CatalogEntry> = {}): CatalogEntry => ({
  name,
  kind: 'vad',
  engine: 'sherpa-onnx',
  family: 'silero-vad',
  description: 'test',
  license: 'MIT',
  languages: [],
  size: 1,
  files: [{ url: `https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/${name}.onnx` }],
  ...extra,
});

describe('loadCatalog with a user catalog', () => {
  it('lets user entries override built-in ones and add new ones, and user defaults win', async () => {
    const builtin = await loadCatalog({ builtinPath });
    const merged = await loadCatalog({ builtinPath, userPath: fixture('override.json') });
    expect(merged.entries).toHaveLength(builtin.entries.length + 1);
    expect(merged.find('qwen3-0.6b')!.description).toMatch(/in-house mirror/);
    expect(merged.find('qwen3')!.files[0]!.url).toContain('/example/');
    expect(merged.find('stories')!.name).toBe('tiny-stories');
    expect(merged.defaultFor('chat')!.name).toBe('tiny-stories');
    expect(merged.defaultFor('tts')!.name).toBe('kokoro-en-v0_19');
    expect(merged.defaults.vad).toBe(builtin.defaults.vad);
  });

  it('names the file and line:column of a JSON syntax error', async () => {
    const path = fixture('syntax-error.json');
    const error = await loadError(path);
    expect(error.message).toContain(`${path}:6:7`);
    expect(error.message).toContain('line 6, column 7');
    expect(error.hint).toMatch(/MURMUR_CATALOG/);
  });

  it('finds the position even when JSON.parse does not give one', async () => {
    const path = fixture('unexpected-token.json');
    const error = await loadError(path);
    // Line 3 is `    { "name": "broken", "kind": nope }`; V8 blames the 'o' of `nope`, column 34.
    expect(error.message).toContain(`${path}:3:34`);
    expect(error.message).toMatch(/Unexpected token 'o'\.$/);
  });

  it('names the file and the JSON path of a schema error', async () => {
    const path = fixture('schema-error.json');
    const error = await loadError(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('models[1].files[0].url');
    expect(error.message).toContain("'bad-model'");
  });

  it('rejects an alias that another entry already claims, naming both', async () => {
    const error = await loadError(fixture('duplicate-alias.json'));
    expect(error.message).toContain(fixture('duplicate-alias.json'));
    expect(error.message).toMatch(/alias 'qwen3' of 'my-qwen'.*'qwen3-0\.6b'/);
  });

  it('rejects a default of the wrong kind', async () => {
    const error = await loadError(fixture('bad-default.json'));
    expect(error.message).toContain('defaults.chat');
    expect(error.message).toMatch(/vad model, not llm/);
  });

  it('says so when the user catalog does not exist', async () => {
    const error = await loadError(fixture('no-such-catalog.json'));
    expect(error.message).toMatch(/does not exist/);
  });
});

describe('createCatalog checks', () => {
  it('rejects two entries with one name in a file', () => {
    expect(() => createCatalog({ models: [vad('a'), vad('a')] })).toThrow(/models\[0\] and models\[1\] are both named 'a'/);
  });

  it('rejects an alias equal to another entry name, case-insensitively', () => {
    expect(() => createCatalog({ models: [vad('a'), vad('b', { aliases: ['A'] })] })).toThrow(/alias 'A' of 'b' clashes with the name of 'a'/);
  });

  it('rejects duplicate voice names and a default voice that is not a voice', () => {
    const voices = [
      { name: 'x', id: 0 },
      { name: 'x', id: 1 },
    ];
    expect(() => createCatalog({ models: [vad('a', { voices })] })).toThrow(/two voices named 'x'/);
    expect(() => createCatalog({ models: [vad('a', { voices: [voices[0]!], defaultVoice: 'y' })] })).toThrow(/defaultVoice: 'y'/);
  });

  it('lets a later file replace an entry together with its aliases', () => {
    const catalog = createCatalog({ models: [vad('a', { aliases: ['first'] })] }, { models: [vad('a', { aliases: ['second'] })] });
    expect(catalog.find('first')).toBeUndefined();
    expect(catalog.find('second')!.name).toBe('a');
    expect(catalog.entries).toHaveLength(1);
  });
});
