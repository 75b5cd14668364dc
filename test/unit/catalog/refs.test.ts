import { describe, expect, it } from 'vitest';
import { archiveTypeOf, baseNameOf, deriveModelName, parseHfUri, remoteFile, sanitizeModelName } from '../../../src/catalog/refs.js';
import { UsageError } from '../../../src/errors.js';
import { catalogEntrySchema } from '../../../src/catalog/schema.js';

describe('parseHfUri', () => {
  it('splits owner, repo, path and revision', () => {
    expect(parseHfUri('hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf')).toEqual({
      owner: 'Qwen',
      repo: 'Qwen3-0.6B-GGUF',
      path: 'Qwen3-0.6B-Q8_0.gguf',
      revision: 'main',
      url: 'https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf',
    });
    const pinned = parseHfUri('HF:o/r/dir/sub/file name.onnx@abc123');
    expect(pinned.path).toBe('dir/sub/file name.onnx');
    expect(pinned.revision).toBe('abc123');
    expect(pinned.url).toBe('https://huggingface.co/o/r/resolve/abc123/dir/sub/file%20name.onnx');
  });

  it('encodes a revision with slashes as one segment', () => {
    expect(parseHfUri('hf:o/r/f.gguf@refs/pr/1').url).toBe('https://huggingface.co/o/r/resolve/refs%2Fpr%2F1/f.gguf');
  });

  it('rejects URIs without a file', () => {
    for (const bad of ['hf:', 'hf:owner', 'hf:owner/repo', 'hf:owner/repo/', 'hf:owner/repo:Q4_K_M', 'hf:o/r/f.gguf@']) {
      expect(() => parseHfUri(bad), bad).toThrow(UsageError);
    }
  });
});

describe('model names from files', () => {
  it('drops one known extension, lower-cases and replaces odd characters', () => {
    expect(sanitizeModelName('Qwen3-0.6B-Q8_0.gguf')).toBe('qwen3-0.6b-q8_0');
    expect(sanitizeModelName('sherpa-onnx-whisper-tiny.en.tar.bz2')).toBe('sherpa-onnx-whisper-tiny.en');
    expect(sanitizeModelName('model.int8.onnx')).toBe('model.int8');
    expect(sanitizeModelName('My  Voice (v2)!.onnx')).toBe('my-voice-v2');
    expect(sanitizeModelName('.gguf')).toBe('gguf');
    expect(sanitizeModelName('???')).toBe('model');
  });

  it('derives names that the catalog schema accepts as names', () => {
    for (const ref of ['hf:a/b/Ünïcode Model.GGUF', 'https://x.test/a/__init__.tgz', '/tmp/-dash-.onnx', 'C:\\models\\Thing.ONNX']) {
      const name = deriveModelName(ref);
      expect(catalogEntrySchema.shape.name.safeParse(name).success, `${ref} → ${name}`).toBe(true);
    }
    expect(deriveModelName('C:\\models\\Thing.ONNX')).toBe('thing');
  });

  it('takes the base name of URLs without their query, and of hf: URIs without their revision', () => {
    expect(baseNameOf('https://h.test/a/b/c.gguf?download=true#x')).toBe('c.gguf');
    expect(baseNameOf('hf:o/r/d/e.onnx@main')).toBe('e.onnx');
    expect(baseNameOf('./dir/sub/')).toBe('sub');
  });
});

describe('archives', () => {
  it('recognizes tar archives by extension', () => {
    expect(archiveTypeOf('https://h.test/x.tar.bz2')).toBe('tar.bz2');
    expect(archiveTypeOf('x.TAR.GZ')).toBe('tar.gz');
    expect(archiveTypeOf('x.tgz')).toBe('tar.gz');
    expect(archiveTypeOf('x.tar')).toBe('tar');
    expect(archiveTypeOf('x.onnx')).toBeUndefined();
    expect(archiveTypeOf('https://h.test/x.tar.bz2?download=1')).toBe('tar.bz2');
  });

  it('describes a remote file with archive or path', () => {
    expect(remoteFile('https://h.test/a.tar.gz')).toEqual({ url: 'https://h.test/a.tar.gz', archive: 'tar.gz' });
    expect(remoteFile('https://h.test/d/a%20b.gguf')).toEqual({ url: 'https://h.test/d/a%20b.gguf', path: 'a b.gguf' });
  });
});
