import { readFile, writeFile } from 'node:fs/promises';

/*
 * Copies a GGUF file (v2 or v3, little-endian) with some header key/values
 * added or replaced, so a test can give a small real model a capability
 * (fill-in-the-middle tokens, a chat template) it lacks. The other key/value
 * pairs and the tensor infos are copied through byte for byte; the tensor
 * data is re-padded to `general.alignment` (32 when absent), which keeps each
 * tensor's offset (relative to the data's start) valid.
 */

export type GgufSet = Record<string, { u32: number } | { string: string }>;

/** Sizes of the fixed-width GGUF value types, by type id; 8 (string) and 9 (array) are variable. */
const fixedSize: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const gstring = (s: string) => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(bytes.length), bytes]);
};

/** Reads `source` and writes `target` with the keys in `set` added or replaced. */
export async function copyGgufWith(source: string, target: string, set: GgufSet): Promise<void> {
  const file = await readFile(source);
  let at = 0;
  const readU32 = () => ((at += 4), file.readUInt32LE(at - 4));
  const readU64 = () => ((at += 8), Number(file.readBigUInt64LE(at - 8)));
  const readString = () => {
    const length = readU64();
    at += length;
    return file.toString('utf8', at - length, at);
  };
  /** Moves past a value of `type`. */
  const skipValue = (type: number): void => {
    if (type === 8) {
      const length = readU64();
      at += length;
    } else if (type === 9) {
      const elementType = readU32();
      const count = readU64();
      if (elementType in fixedSize) at += count * fixedSize[elementType]!;
      else for (let i = 0; i < count; i++) skipValue(elementType);
    } else if (type in fixedSize) at += fixedSize[type]!;
    else throw new Error(`${source}: unknown GGUF value type ${type}`);
  };

  if (file.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${source} is not a GGUF file`);
  at = 4;
  const version = readU32();
  if (version !== 2 && version !== 3) throw new Error(`${source}: GGUF version ${version} is not supported`);
  const tensorCount = readU64();
  const kvCount = readU64();

  const kept: Buffer[] = [];
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const start = at;
    const key = readString();
    const type = readU32();
    if (key === 'general.alignment' && type === 4) alignment = file.readUInt32LE(at);
    skipValue(type);
    if (!(key in set)) kept.push(file.subarray(start, at));
  }
  const added = Object.entries(set).map(([key, value]) =>
    Buffer.concat([gstring(key), ...('u32' in value ? [u32(4), u32(value.u32)] : [u32(8), gstring(value.string)])]),
  );
  if ('general.alignment' in set && 'u32' in set['general.alignment']!) throw new Error('copyGgufWith cannot change general.alignment');

  const infosStart = at;
  for (let i = 0; i < tensorCount; i++) {
    readString(); // name
    const dims = readU32();
    at += dims * 8 + 4 + 8; // dims, type, offset
  }
  const infos = file.subarray(infosStart, at);
  const dataStart = Math.ceil(at / alignment) * alignment;
  const data = file.subarray(dataStart);

  const header = Buffer.concat([Buffer.from('GGUF', 'latin1'), u32(version), u64(tensorCount), u64(kept.length + added.length), ...kept, ...added, infos]);
  const padding = Buffer.alloc((alignment - (header.length % alignment)) % alignment);
  await writeFile(target, Buffer.concat([header, padding, data]));
}
