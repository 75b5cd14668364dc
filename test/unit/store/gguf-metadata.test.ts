import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufKind, isGguf, readGgufMetadata } from '../../../src/store/gguf-metadata.js';
import { recognizeModel } from '../../../src/store/detect-family.js';
import { missingModels, testModel } from '../../helpers/models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'murmur-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

type Value = { string: string } | { u32: number } | { f32: number } | { bool: boolean } | { strings: string[] } | { i32s: number[] };
const value = (v: Value): Buffer => {
  if ('string' in v) return Buffer.concat([u32(8), str(v.string)]);
  if ('u32' in v) return Buffer.concat([u32(4), u32(v.u32)]);
  if ('bool' in v) return Buffer.concat([u32(7), Buffer.from([v.bool ? 1 : 0])]);
  if ('f32' in v) { const b = Buffer.alloc(4); b.writeFloatLE(v.f32); return Buffer.concat([u32(6), b]); }
  if ('strings' in v) return Buffer.concat([u32(9), u32(8), u64(v.strings.length), ...v.strings.map(str)]);
  return Buffer.concat([u32(9), u32(5), u64(v.i32s.length), ...v.i32s.map((n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; })]);
};

/** A GGUF v3 header with the given key/values and no tensors (plus some filler after it). */
const writeGguf = async (name: string, kv: Record<string, Value>, version = 3): Promise<string> => {
  const path = join(dir, name);
  const entries = Object.entries(kv).map(([k, v]) => Buffer.concat([str(k), value(v)]));
  await writeFile(path, Buffer.concat([Buffer.from('GGUF'), u32(version), u64(0), u64(entries.length), ...entries, Buffer.alloc(64)]));
  return path;
};

const vocab = Array.from({ length: 5000 }, (_, i) => `tok${i}`);

describe('readGgufMetadata', () => {
  it.skipIf(missingModels('stories260K/stories260K.gguf'))('reads the real stories260K header: llama, a chat model', async () => {
    const file = testModel('stories260K/stories260K.gguf')!;
    expect(await isGguf(file)).toBe(true);
    const header = await readGgufMetadata(file);
    expect(header.version).toBe(3);
    expect(header.metadata['general.architecture']).toBe('llama');
    expect(header.metadata['llama.context_length']).toBe(2048);
    expect(header.metadata['tokenizer.ggml.tokens']).toBe(512);
    expect(ggufKind(header)).toBe('llm');
  });

  it('skips string and number arrays and reads the keys after them', async () => {
    const file = await writeGguf('chat.gguf', {
      'tokenizer.ggml.tokens': { strings: vocab },
      'tokenizer.ggml.token_type': { i32s: vocab.map((_, i) => i % 3) },
      'general.architecture': { string: 'qwen3' },
      'qwen3.context_length': { u32: 40960 },
      'qwen3.rope.freq_base': { f32: 1_000_000 },
      'general.flag': { bool: true },
    });
    const header = await readGgufMetadata(file);
    expect(header.metadata).toEqual({
      'tokenizer.ggml.tokens': 5000, 'tokenizer.ggml.token_type': 5000, 'general.architecture': 'qwen3',
      'qwen3.context_length': 40960, 'qwen3.rope.freq_base': 1_000_000, 'general.flag': true,
    });
    expect(ggufKind(header)).toBe('llm');
    expect(await recognizeModel(file)).toMatchObject({ kind: 'llm', family: 'gguf', engine: 'llama-cpp', files: { model: 'chat.gguf' } });
  });

  it('says embedding for an encoder architecture or a pooling_type key', async () => {
    const bert = await writeGguf('bge.gguf', { 'general.architecture': { string: 'bert' }, 'tokenizer.ggml.tokens': { strings: vocab } }, 2);
    expect(ggufKind(await readGgufMetadata(bert))).toBe('embedding');
    const qwen = await writeGguf('qwen3-embedding.gguf', { 'general.architecture': { string: 'qwen3' }, 'qwen3.pooling_type': { u32: 3 } });
    expect(await recognizeModel(qwen)).toMatchObject({ kind: 'embedding', family: 'gguf' });
  });

  it('rejects a header cut short, a bad version and a file that is not GGUF', async () => {
    const good = await readFile(await writeGguf('whole.gguf', { 'tokenizer.ggml.tokens': { strings: vocab }, 'general.architecture': { string: 'llama' } }));
    const cut = join(dir, 'cut.gguf');
    await writeFile(cut, good.subarray(0, 20_000));
    await expect(readGgufMetadata(cut)).rejects.toMatchObject({ code: 'not_supported' });
    await expect(readGgufMetadata(await writeGguf('v9.gguf', {}, 9))).rejects.toThrow(/version 9/);
    const text = join(dir, 'text.gguf');
    await writeFile(text, 'hello, this is plainly text and not a model at all');
    expect(await isGguf(text)).toBe(false);
    await expect(readGgufMetadata(text)).rejects.toThrow(/magic/);
    await expect(recognizeModel(text)).rejects.toMatchObject({ code: 'not_supported' });
  });
});
