import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/catalog.js';
import { AppError, ModelNotFoundError, UsageError } from '../../../src/errors.js';
import { builtinCatalogPath } from '../../../src/project.js';

const catalog = await loadCatalog({ builtinPath: builtinCatalogPath() });
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'murmur-resolve-'));
  writeFileSync(join(dir, 'My Model.Q4_K_M.gguf'), 'gguf');
  mkdirSync(join(dir, 'models', 'vits-piper-custom'), { recursive: true });
  mkdirSync(join(dir, 'qwen3'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('Catalog.resolve', () => {
  it('finds names and aliases in any case', () => {
    const byName = catalog.resolve('QWEN3-0.6B');
    expect(byName.type).toBe('catalog');
    expect(byName.name).toBe('qwen3-0.6b');
    expect(catalog.resolve(' Kokoro ').name).toBe('kokoro-en-v0_19');
    expect(catalog.resolve('whisper').name).toBe('whisper-tiny.en');
  });

  it('turns an hf: URI into a remote file on huggingface.co', () => {
    const ref = catalog.resolve('hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf');
    expect(ref).toEqual({
      type: 'remote',
      name: 'qwen3-0.6b-q8_0',
      source: 'hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf',
      files: [{ url: 'https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf', path: 'Qwen3-0.6B-Q8_0.gguf' }],
    });
  });

  it('keeps an hf: revision and nested paths', () => {
    const ref = catalog.resolve('hf:owner/repo/onnx/model.int8.onnx@v1.2');
    expect(ref.type).toBe('remote');
    if (ref.type !== 'remote') return;
    expect(ref.name).toBe('model.int8');
    expect(ref.files[0]!.url).toBe('https://huggingface.co/owner/repo/resolve/v1.2/onnx/model.int8.onnx');
  });

  it('rejects an hf: URI that names neither a file nor a quantization', () => {
    expect(thrown(() => catalog.resolve('hf:Qwen/Qwen3-0.6B-GGUF'))).toBeInstanceOf(UsageError);
    expect(thrown(() => catalog.resolve('hf:Qwen/Qwen3-0.6B-GGUF:'))).toBeInstanceOf(UsageError);
  });

  it('takes hf:owner/repo:QUANT as a quantization to look up when pulled, named after the repository and the quantization', () => {
    const ref = catalog.resolve('hf:Qwen/Qwen3-0.6B-GGUF:Q8_0');
    expect(ref).toMatchObject({ type: 'remote', name: 'qwen3-0.6b-q8_0', source: 'hf:Qwen/Qwen3-0.6B-GGUF:Q8_0', files: [], quant: { owner: 'Qwen', repo: 'Qwen3-0.6B-GGUF', quant: 'Q8_0' } });
  });

  it('turns a URL into a remote file, flagging archives', () => {
    const url = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-amy-low.tar.bz2';
    const ref = catalog.resolve(url);
    expect(ref).toEqual({ type: 'remote', name: 'vits-piper-en_us-amy-low', source: url, files: [{ url, archive: 'tar.bz2' }] });
    const plain = catalog.resolve('http://127.0.0.1:9/files/Some%20Model.gguf?download=true');
    expect(plain.name).toBe('some-model');
    expect(plain.type === 'remote' && plain.files[0]!.archive).toBe(undefined);
  });

  it('resolves existing local files and directories to absolute paths', () => {
    const file = catalog.resolve('./My Model.Q4_K_M.gguf', { cwd: dir });
    expect(file).toEqual({ type: 'local', name: 'my-model.q4_k_m', path: join(dir, 'My Model.Q4_K_M.gguf') });
    const folder = catalog.resolve('models/vits-piper-custom', { cwd: join(dir) });
    expect(folder).toEqual({ type: 'local', name: 'vits-piper-custom', path: join(dir, 'models', 'vits-piper-custom') });
    expect(catalog.resolve(join(dir, 'models'), { cwd: tmpdir() }).type).toBe('local');
    expect(catalog.resolve('~/My Model.Q4_K_M.gguf', { home: dir }).type).toBe('local');
    const parent = catalog.resolve('../vits-piper-custom', { cwd: join(dir, 'models', 'vits-piper-custom') });
    expect(parent.type === 'local' && parent.path).toBe(join(dir, 'models', 'vits-piper-custom'));
  });

  it('prefers a catalog name over a bare relative path, but not over ./path', () => {
    expect(catalog.resolve('qwen3', { cwd: dir }).type).toBe('catalog');
    expect(catalog.resolve('./qwen3', { cwd: dir }).type).toBe('local');
  });

  it('says which path is missing when an explicit path does not exist', () => {
    const error = thrown(() => catalog.resolve('./missing.gguf', { cwd: dir })) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('model_not_found');
    expect(error.message).toContain(join(dir, 'missing.gguf'));
  });

  it('throws ModelNotFoundError with close catalog names for an unknown name', () => {
    const error = thrown(() => catalog.resolve('qwen-3', { cwd: dir })) as ModelNotFoundError;
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain("'qwen-3'");
    expect(error.hint).toMatch(/'qwen3[^']*'/);
    const whisper = thrown(() => catalog.resolve('wisper-tiny.en', { cwd: dir })) as ModelNotFoundError;
    expect(whisper.hint).toContain("'whisper-tiny.en'");
    const nothing = thrown(() => catalog.resolve('zzzzzzzzzz', { cwd: dir })) as ModelNotFoundError;
    expect(nothing).toBeInstanceOf(ModelNotFoundError);
    expect(nothing.hint).toMatch(/murmur list --all/);
    expect(nothing.hint).not.toMatch(/Did you mean/);
  });
});

describe('Catalog.suggest', () => {
  it('ranks close names first and respects the limit', () => {
    expect(catalog.suggest('qwen-3')[0]).toBe('qwen3');
    expect(catalog.suggest('kokoro-en', 2)).toHaveLength(2);
    expect(catalog.suggest('kokoro-en', 2)[0]).toMatch(/^kokoro-en/);
    expect(catalog.suggest('moonshine-tiny-e')).toContain('moonshine-tiny-en');
    expect(catalog.suggest('qwen3-0.6b-x', 1)).toEqual(['qwen3-0.6b']);
  });
});
