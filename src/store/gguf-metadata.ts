import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';

/*
 * A small streaming reader of a GGUF header's key/value metadata, so the
 * store can tell a chat model from an embedding model without loading
 * node-llama-cpp (native code must not load during `pull`). Only the header
 * is read, through a buffered window; arrays (the tokenizer's vocabulary can
 * hold 150k strings) are skipped element by element, never kept.
 */

export type GgufValue = string | number | bigint | boolean;

export interface GgufHeader {
  readonly version: number;
  readonly tensorCount: bigint;
  /** Scalar values by key; arrays are recorded as their element count (a number). */
  readonly metadata: Readonly<Record<string, GgufValue>>;
  /** The tensor infos that follow the metadata, when asked for (`{ tensors: true }`). */
  readonly tensors?: readonly GgufTensorInfo[];
}

export interface GgufTensorInfo {
  readonly name: string;
  /** Its shape, innermost dimension first. */
  readonly dims: readonly number[];
  /** ggml_type id (0 F32, 1 F16, 8 Q8_0, 12 Q4_K, …). */
  readonly type: number;
}

export interface GgufReadOptions {
  /** Also read the tensor infos after the metadata (names, shapes, types; never the weights). */
  readonly tensors?: boolean;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian uint32

/** Sizes of the fixed-width GGUF value types, by type id; 8 (string) and 9 (array) are variable. */
const fixedSize: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

const bad = (file: string, why: string): AppError =>
  new AppError('not_supported', `'${basename(file)}' is not a readable GGUF file: ${why}.`, {
    hint: 'The file may be truncated or not a GGUF model; download it again.',
  });

class Reader {
  private buffer = Buffer.alloc(0);
  private start = 0;
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly file: string,
  ) {}

  private async view(count: number): Promise<Buffer> {
    const offset = this.position - this.start;
    if (offset < 0 || offset + count > this.buffer.length) {
      const length = Math.min(Math.max(count, 256 * 1024), this.size - this.position);
      if (length < count) throw bad(this.file, 'the header is cut short');
      this.buffer = Buffer.alloc(length);
      await this.handle.read(this.buffer, 0, length, this.position);
      this.start = this.position;
    }
    const at = this.position - this.start;
    this.position += count;
    return this.buffer.subarray(at, at + count);
  }

  async u32(): Promise<number> {
    return (await this.view(4)).readUInt32LE(0);
  }

  async u64(): Promise<bigint> {
    return (await this.view(8)).readBigUInt64LE(0);
  }

  /** A length (uint64) that must fit in what is left of the file. */
  async length(): Promise<number> {
    const value = await this.u64();
    if (value > BigInt(this.size - this.position)) throw bad(this.file, 'a length runs past the end of the file');
    return Number(value);
  }

  async string(): Promise<string> {
    const length = await this.length();
    return length ? (await this.view(length)).toString('utf8') : '';
  }

  skip(count: number): void {
    if (this.position + count > this.size) throw bad(this.file, 'the header is cut short');
    this.position += count;
  }

  async scalar(type: number): Promise<GgufValue> {
    const b = await this.view(fixedSize[type]!);
    switch (type) {
      case 0: return b.readUInt8(0);
      case 1: return b.readInt8(0);
      case 2: return b.readUInt16LE(0);
      case 3: return b.readInt16LE(0);
      case 4: return b.readUInt32LE(0);
      case 5: return b.readInt32LE(0);
      case 6: return b.readFloatLE(0);
      case 7: return b.readUInt8(0) !== 0;
      case 10: return b.readBigUInt64LE(0);
      case 11: return b.readBigInt64LE(0);
      default: return b.readDoubleLE(0);
    }
  }
}

/** True when the first four bytes of `file` are the GGUF magic. */
export const isGguf = async (file: string): Promise<boolean> => {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buffer, 0, 4, 0);
    return bytesRead === 4 && buffer.readUInt32LE(0) === GGUF_MAGIC;
  } finally {
    await handle.close();
  }
};

/**
 * Reads the key/value metadata of a GGUF file's header (versions 2 and 3),
 * and with `{ tensors: true }` the tensor infos after it (still only the
 * header, streamed through the same window). Throws AppError('not_supported') when the file is not GGUF or is cut short.
 */
export const readGgufMetadata = async (file: string, options: GgufReadOptions = {}): Promise<GgufHeader> => {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const reader = new Reader(handle, size, file);
    if (size < 24 || (await reader.u32()) !== GGUF_MAGIC) throw bad(file, 'no GGUF magic');
    const version = await reader.u32();
    if (version !== 2 && version !== 3) throw bad(file, `unsupported GGUF version ${version}`);
    const tensorCount = await reader.u64();
    const kvCount = await reader.u64();
    const metadata: Record<string, GgufValue> = {};
    for (let i = 0n; i < kvCount; i++) {
      const key = await reader.string();
      const type = await reader.u32();
      if (type === 8) metadata[key] = await reader.string();
      else if (type === 9) metadata[key] = await skipArray(reader, file);
      else if (type in fixedSize) metadata[key] = await reader.scalar(type);
      else throw bad(file, `unknown value type ${type} for '${key}'`);
    }
    if (!options.tensors) return { version, tensorCount, metadata };
    // Each info takes at least 24 bytes (name length, n_dims, type, offset): a count the file cannot hold is a damaged header, not a loop of billions.
    if (tensorCount > BigInt(size - reader.position) / 24n) throw bad(file, `${tensorCount} tensors cannot fit in the file`);
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0n; i < tensorCount; i++) {
      const name = await reader.string();
      const nDims = await reader.u32();
      if (nDims > 8) throw bad(file, `tensor '${name}' has ${nDims} dimensions`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(Number(await reader.u64()));
      const type = await reader.u32();
      reader.skip(8); // its offset in the data section
      tensors.push({ name, dims, type });
    }
    return { version, tensorCount, metadata, tensors };
  } finally {
    await handle.close();
  }
};

/** Skips an array value (nested arrays included) and returns its element count. */
const skipArray = async (reader: Reader, file: string): Promise<number> => {
  const type = await reader.u32();
  const count = Number(await reader.u64());
  if (type === 8) {
    for (let i = 0; i < count; i++) reader.skip(await reader.length());
  } else if (type === 9) {
    for (let i = 0; i < count; i++) await skipArray(reader, file);
  } else if (type in fixedSize) {
    reader.skip(count * fixedSize[type]!);
  } else {
    throw bad(file, `unknown array element type ${type}`);
  }
  return count;
};

/** Architectures that are embedding (encoder-only) models rather than chat models. */
export const EMBEDDING_ARCHITECTURES: readonly string[] = [
  'bert',
  'nomic-bert',
  'nomic-bert-moe',
  'jina-bert-v2',
  'jina-bert-v3',
  'modern-bert',
  'neo-bert',
  't5encoder',
];

/**
 * 'embedding' when the header says so (an encoder-only architecture, or a
 * `<arch>.pooling_type` key as in Qwen3-Embedding), 'llm' otherwise.
 */
export const ggufKind = (header: GgufHeader): 'llm' | 'embedding' => {
  const arch = String(header.metadata['general.architecture'] ?? '');
  if (EMBEDDING_ARCHITECTURES.includes(arch)) return 'embedding';
  return `${arch}.pooling_type` in header.metadata ? 'embedding' : 'llm';
};
