import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTransient, sourceFor, toDownloadUrl, transient } from '../../../src/store/mirror.js';

describe('toDownloadUrl', () => {
  it('expands hf: URIs to Hugging Face resolve URLs', () => {
    expect(toDownloadUrl('hf:ggml-org/models/tinyllamas/stories260K.gguf')).toBe('https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf');
    expect(toDownloadUrl('hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf@v2')).toBe('https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/v2/Qwen3-0.6B-Q8_0.gguf');
  });
  it('leaves URLs alone', () => {
    expect(toDownloadUrl('https://example.com/a.gguf')).toBe('https://example.com/a.gguf');
  });
});

describe('sourceFor', () => {
  const url = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-amy-low.tar.bz2';
  it('fetches the URL itself without a mirror', () => {
    expect(sourceFor(url)).toEqual({ kind: 'http', url });
  });
  it('maps https://HOST/PATH to BASE/HOST/PATH for an http mirror', () => {
    expect(sourceFor(url, 'http://127.0.0.1:8080/mirror/')).toEqual({
      kind: 'http',
      url: 'http://127.0.0.1:8080/mirror/github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-amy-low.tar.bz2',
    });
  });
  it('maps it to a file under a directory mirror, decoding escapes', () => {
    expect(sourceFor('https://huggingface.co/o/r/resolve/main/a%20b.gguf', '/srv/mirror')).toEqual({
      kind: 'file',
      path: join('/srv/mirror', 'huggingface.co', 'o', 'r', 'resolve', 'main', 'a b.gguf'),
    });
    expect(sourceFor('https://h.example/x.onnx', 'file:///srv/m')).toEqual({ kind: 'file', path: join('/srv/m', 'h.example', 'x.onnx') });
    expect(sourceFor('https://h.example/x.onnx', 'rel/m')).toEqual({ kind: 'file', path: join(resolve('rel/m'), 'h.example', 'x.onnx') });
  });
  it('maps hf: URIs through the mirror too', () => {
    expect(sourceFor('hf:o/r/f.gguf', 'http://m')).toEqual({ kind: 'http', url: 'http://m/huggingface.co/o/r/resolve/main/f.gguf' });
  });
});

describe('isTransient', () => {
  it('retries dropped connections and marked errors, not others', () => {
    expect(isTransient(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(transient(new Error('HTTP 503')))).toBe(true);
    expect(isTransient(new Error('HTTP 404'))).toBe(false);
    expect(isTransient(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBe(false);
  });
});
