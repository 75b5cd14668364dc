import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/catalog.js';
import { parseHfQuantUri } from '../../src/catalog/refs.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { fixtureCatalog, makeTestStore } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';

describe('hf:owner/repo:QUANT refs', () => {
  it('parse into a tree listing and resolve URLs; other forms are not quant refs', () => {
    const uri = parseHfQuantUri('hf:unsloth/Qwen3-0.6B-GGUF:Q4_K_M')!;
    expect(uri).toMatchObject({ owner: 'unsloth', repo: 'Qwen3-0.6B-GGUF', quant: 'Q4_K_M', revision: 'main' });
    expect(uri.listUrl).toBe('https://huggingface.co/api/models/unsloth/Qwen3-0.6B-GGUF/tree/main?recursive=true');
    expect(uri.fileUrl('sub dir/a.gguf')).toBe('https://huggingface.co/unsloth/Qwen3-0.6B-GGUF/resolve/main/sub%20dir/a.gguf');
    expect(parseHfQuantUri('hf:o/r:q8_0@v2')).toMatchObject({ quant: 'q8_0', revision: 'v2' });
    expect(parseHfQuantUri('hf:o/r/file.gguf')).toBeUndefined();
    expect(parseHfQuantUri('hf:o/r')).toBeUndefined();
  });
});

/**
 * A mirror holding a Hugging Face-like repository: its tree listing (with
 * LFS sha256 and sizes) and the files, one of them split in two parts.
 */
describe.skipIf(missingModels(GGUF))('pull hf:owner/repo:QUANT through a mirror', () => {
  let server: HttpFixture;
  let catalog: Catalog;
  let whole: Buffer;
  const repoDir = (mirror: string) => join(mirror, 'huggingface.co', 'tiny', 'Tales-GGUF');

  beforeAll(async () => {
    whole = readFileSync(testModel(GGUF)!);
    const mirror = mkdtempSync(join(tmpdir(), 'murmur-hf-quant-'));
    const files: Record<string, Buffer> = {
      'Tales-Q8_0.gguf': whole,
      'extra/Tales-Q8_0.gguf': Buffer.from('a deeper copy that must not be chosen'),
      'Tales-F16-00001-of-00002.gguf': whole.subarray(0, whole.length - 1000), // the header and tensor list whole, as in a real first part
      'Tales-F16-00002-of-00002.gguf': whole.subarray(whole.length - 1000),
      'mmproj-Tales-Q8_0.gguf': Buffer.from('a projector'),
      'Tales-UD-Q4_K_XL.gguf': whole,
      'Tales-Q4_K_S.gguf': Buffer.from('not the one asked for'),
      'README.md': Buffer.from('# tales'),
    };
    const listing = Object.entries(files).map(([path, bytes]) => ({
      type: 'file',
      path,
      size: bytes.length,
      ...(path.endsWith('.gguf') ? { lfs: { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length } } : {}),
    }));
    for (const [path, bytes] of Object.entries(files)) {
      const target = join(repoDir(mirror), 'resolve', 'main', path);
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, bytes);
    }
    const listDir = join(mirror, 'huggingface.co', 'api', 'models', 'tiny', 'Tales-GGUF', 'tree');
    mkdirSync(listDir, { recursive: true });
    writeFileSync(join(listDir, 'main'), JSON.stringify([{ type: 'directory', path: 'extra' }, ...listing]));
    server = await startHttpFixture(mirror);
    catalog = await fixtureCatalog();
  });
  afterAll(() => server?.close());

  it('picks the top-level file of the quantization, verified against the listing', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const model = await store.pull('hf:tiny/Tales-GGUF:q8_0');
    expect(model).toMatchObject({ name: 'tales-q8_0', kind: 'llm', family: 'gguf', source: 'hf:tiny/Tales-GGUF:q8_0' });
    expect(readFileSync(join(model.dir, 'Tales-Q8_0.gguf')).equals(whole)).toBe(true);
    expect(model.files.map((f) => f.sha256)).toEqual([createHash('sha256').update(whole).digest('hex')]);
  });

  it('takes every part of a split quantization, in order', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const model = await store.pull('hf:tiny/Tales-GGUF:F16');
    expect(model.name).toBe('tales-f16');
    expect(model.files.map((f) => f.path).sort()).toEqual(['Tales-F16-00001-of-00002.gguf', 'Tales-F16-00002-of-00002.gguf']);
    expect(model.layout).toMatchObject({ model: 'Tales-F16-00001-of-00002.gguf' });
  });

  it('matches the quantization as a whole name piece: a dashed one is found, a prefix is not', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const dashed = await store.pull('hf:tiny/Tales-GGUF:ud-q4_k_xl');
    expect(dashed.files.map((f) => f.path)).toEqual(['Tales-UD-Q4_K_XL.gguf']);
    await expect(store.pull('hf:tiny/Tales-GGUF:Q4_K')).rejects.toMatchObject({ message: expect.stringContaining("no GGUF file for 'Q4_K'") });
  });

  it('names the quantizations there are when the one asked for is missing, and an unknown repository', async () => {
    const { store } = makeTestStore(catalog, server.url);
    await expect(store.pull('hf:tiny/Tales-GGUF:Q4_K_M')).rejects.toMatchObject({
      code: 'download_failed',
      message: expect.stringContaining("no GGUF file for 'Q4_K_M'"),
      hint: expect.stringContaining('Tales-Q8_0.gguf'),
    });
    await expect(store.pull('hf:tiny/Nothing-GGUF:Q8_0')).rejects.toMatchObject({ message: expect.stringContaining('no repository tiny/Nothing-GGUF') });
  });
});
