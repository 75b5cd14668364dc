#!/usr/bin/env node
// Writes a synthetic llama GGUF the size of a small real model (about 150M
// parameters, Q8_0, ~170 MB) with random weights and stories260K's
// tokenizer, for the LLM benchmarks. stories260K decodes a token in well
// under a millisecond, so per-token bookkeeping (JavaScript, HTTP) is most
// of what it measures; with this model the matrix work dominates, as it does
// with the small instruct models of the catalog. Its text is gibberish, but
// tokens/s is what the benchmarks read. No such model can be downloaded here.
// Usage: node bench/make-wide-gguf.mjs OUT.gguf [--dim 1024] [--layers 12] [--ffn 2816]
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { dim: { type: 'string', default: '1024' }, layers: { type: 'string', default: '12' }, ffn: { type: 'string', default: '2816' } },
});
if (!positionals[0]) throw new Error('usage: node bench/make-wide-gguf.mjs OUT.gguf');
const out = resolve(positionals[0]);
const dim = Number(values.dim);
const layers = Number(values.layers);
const ffn = Number(values.ffn);
const headDim = 64;
const heads = dim / headDim;
const kvHeads = Math.max(1, heads / 4);
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : join(root, '..', 'shared', 'models');
const seed = readFileSync(join(models, 'stories260K', 'stories260K.gguf'));

// The seed's key/value section, copied entry by entry (raw bytes), with the
// shape keys replaced.
const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
let at = 8;
const u32 = () => ((at += 4), seed.readUInt32LE(at - 4));
const u64 = () => ((at += 8), Number(seed.readBigUInt64LE(at - 8)));
const skipValue = (type) => {
  if (type === 8) {
    const length = u64();
    at += length;
  } else if (type === 9) {
    const itemType = u32();
    const count = u64();
    for (let i = 0; i < count; i++) skipValue(itemType);
  } else at += SIZES[type];
};
u64(); // tensor count of the seed
const keyCount = u64();
const str = (s) => {
  const bytes = Buffer.from(s);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([len, bytes]);
};
const uint32Entry = (key, value) => {
  const v = Buffer.alloc(8);
  v.writeUInt32LE(4);
  v.writeUInt32LE(value, 4);
  return Buffer.concat([str(key), v]);
};
const replaced = {
  'llama.embedding_length': dim,
  'llama.feed_forward_length': ffn,
  'llama.attention.head_count': heads,
  'llama.attention.head_count_kv': kvHeads,
  'llama.block_count': layers,
  'llama.rope.dimension_count': headDim,
};
const entries = [];
for (let i = 0; i < keyCount; i++) {
  const start = at;
  const key = seed.toString('utf8', at + 8, at + 8 + Number(seed.readBigUInt64LE(at)));
  at += 8 + Buffer.byteLength(key);
  skipValue(u32());
  if (key in replaced) entries.push(uint32Entry(key, replaced[key]));
  else if (key === 'general.name') entries.push(Buffer.concat([str(key), Buffer.from([8, 0, 0, 0]), str('murmur-bench-wide')]));
  else entries.push(seed.subarray(start, at));
}

// Tensors: F32 norms and embeddings, Q8_0 matrices (blocks of 32: an f16
// scale, then 32 int8), random weights small enough to keep the activations finite.
const F32 = 0;
const Q8_0 = 8;
const vocab = 512;
const tensors = [
  ['token_embd.weight', [dim, vocab], F32],
  ['output_norm.weight', [dim], F32],
  ['output.weight', [dim, vocab], F32],
];
for (let b = 0; b < layers; b++) {
  tensors.push(
    [`blk.${b}.attn_norm.weight`, [dim], F32],
    [`blk.${b}.attn_q.weight`, [dim, dim], Q8_0],
    [`blk.${b}.attn_k.weight`, [dim, kvHeads * headDim], Q8_0],
    [`blk.${b}.attn_v.weight`, [dim, kvHeads * headDim], Q8_0],
    [`blk.${b}.attn_output.weight`, [dim, dim], Q8_0],
    [`blk.${b}.ffn_norm.weight`, [dim], F32],
    [`blk.${b}.ffn_gate.weight`, [dim, ffn], Q8_0],
    [`blk.${b}.ffn_down.weight`, [ffn, dim], Q8_0],
    [`blk.${b}.ffn_up.weight`, [dim, ffn], Q8_0],
  );
}
const ALIGN = 32;
const align = (n) => Math.ceil(n / ALIGN) * ALIGN;
const bytesOf = (shape, type) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return type === F32 ? n * 4 : (n / 32) * 34;
};
let offset = 0;
const infos = tensors.map(([name, shape, type]) => {
  const head = Buffer.alloc(4 + shape.length * 8 + 4 + 8);
  head.writeUInt32LE(shape.length);
  shape.forEach((d, i) => head.writeBigUInt64LE(BigInt(d), 4 + i * 8));
  head.writeUInt32LE(type, 4 + shape.length * 8);
  head.writeBigUInt64LE(BigInt(offset), 8 + shape.length * 8);
  const info = Buffer.concat([str(name), head]);
  offset = align(offset + bytesOf(shape, type));
  return info;
});

const header = Buffer.alloc(24);
header.write('GGUF');
header.writeUInt32LE(3, 4);
header.writeBigUInt64LE(BigInt(tensors.length), 8);
header.writeBigUInt64LE(BigInt(entries.length), 16);
const meta = Buffer.concat([header, ...entries, ...infos]);

let state = 0x9e3779b9;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 0x100000000;
};
// One random block per kind, repeated: the numbers do not matter, only their scale.
const q8Pattern = Buffer.alloc(34 * 4096);
for (let b = 0; b < 4096; b++) {
  q8Pattern.writeUInt16LE(0x1c00, b * 34); // f16 0.00390625
  for (let i = 0; i < 32; i++) q8Pattern.writeInt8(Math.round((random() - 0.5) * 40), b * 34 + 2 + i);
}
const f32Random = (n, scale) => {
  const buf = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) buf.writeFloatLE((random() - 0.5) * scale, i * 4);
  return buf;
};

const fd = openSync(out, 'w');
try {
  writeSync(fd, meta);
  writeSync(fd, Buffer.alloc(align(meta.length) - meta.length));
  for (const [name, shape, type] of tensors) {
    const size = bytesOf(shape, type);
    if (type === Q8_0) {
      for (let done = 0; done < size; done += q8Pattern.length) writeSync(fd, q8Pattern, 0, Math.min(q8Pattern.length, size - done));
    } else if (name.endsWith('norm.weight')) writeSync(fd, Buffer.from(new Float32Array(shape[0]).fill(1).buffer));
    else writeSync(fd, f32Random(size / 4, 0.2));
    writeSync(fd, Buffer.alloc(align(size) - size));
  }
} finally {
  closeSync(fd);
}
const params = tensors.reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
console.log(`${out}: ${(params / 1e6).toFixed(0)}M parameters, ${layers} layers, width ${dim}, ffn ${ffn}`);
