import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metaPath, partialPath } from '../../../src/store/paths.js';
import { expectedFromHeaders, mergeExpected, sha256File, sha256FromEtag, verifyDownload } from '../../../src/store/verify.js';

const hex = createHash('sha256').update('x').digest('hex');

describe('sha256 from server headers', () => {
  it('reads an LFS ETag (quoted, weak or not) only when it is 64 hex digits', () => {
    expect(sha256FromEtag(`"${hex}"`)).toBe(hex);
    expect(sha256FromEtag(`W/"${hex.toUpperCase()}"`)).toBe(hex);
    expect(sha256FromEtag('"5d41402abc4b2a76b9719d911017c592"')).toBeUndefined();
    expect(sha256FromEtag(undefined)).toBeUndefined();
  });
  it('prefers X-Linked-Etag and reads X-Linked-Size', () => {
    expect(expectedFromHeaders({ 'x-linked-etag': `"${hex}"`, etag: '"abc"', 'x-linked-size': '1234' })).toEqual({ sha256: hex, size: 1234 });
    expect(expectedFromHeaders({ etag: '"abc"' })).toEqual({ sha256: undefined, size: undefined });
  });
  it('lets the catalog win over the headers', () => {
    expect(mergeExpected({ size: 1 }, { size: 2, sha256: hex })).toEqual({ size: 1, sha256: hex });
  });
});

describe('verifyDownload', () => {
  const setup = () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-verify-'));
    const partial = partialPath(home, 'https://example.com/m.gguf');
    writeFileSync(join(home, 'x'), 'x');
    return { home, partial };
  };
  it('passes matching files and keeps them', async () => {
    const { home } = setup();
    const path = join(home, 'x');
    const sha = await sha256File(path);
    expect(sha).toBe(hex);
    await verifyDownload('x', path, { size: 1, sha256: sha }, { size: 1, sha256: hex });
    expect(existsSync(path)).toBe(true);
  });
  it('deletes the partial and its sidecar on a mismatch, saying expected vs got', async () => {
    const { home } = setup();
    const path = join(home, 'x');
    writeFileSync(metaPath(path), '{}');
    await expect(verifyDownload('m.gguf', path, { size: 1, sha256: hex }, { sha256: 'f'.repeat(64) })).rejects.toMatchObject({
      code: 'checksum_mismatch',
      message: `Download failed: sha256 mismatch for m.gguf: expected ${'f'.repeat(64)}, got ${hex}.`,
    });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(metaPath(path))).toBe(false);
  });
  it('reports a size mismatch', async () => {
    const { home } = setup();
    await expect(verifyDownload('m', join(home, 'x'), { size: 1, sha256: hex }, { size: 2 })).rejects.toMatchObject({ message: expect.stringContaining('expected 2 bytes, got 1') });
  });
});

describe('partialPath', () => {
  it('is deterministic per URL and keeps a readable name', () => {
    const a = partialPath('/h', 'https://huggingface.co/o/r/resolve/main/model.gguf');
    expect(a).toBe(partialPath('/h', 'https://huggingface.co/o/r/resolve/main/model.gguf'));
    expect(a).toMatch(/^\/h\/partial\/[0-9a-f]{16}-model\.gguf$/);
    expect(partialPath('/h', 'https://mirror.example/o/r/resolve/main/model.gguf')).not.toBe(a);
  });
});
