import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';

/*
 * Reads ONNX `ModelProto.metadata_props` (field 14: repeated
 * StringStringEntryProto {key = 1, value = 2}) without loading the model.
 *
 * Why hand-written: protobufjs (or onnx's own tooling) decodes from one
 * in-memory buffer and needs the schema, while the graph (field 7) of a
 * speech model can be hundreds of MB. Here we walk the top-level fields of the
 * file with a file handle and SEEK past every large field, reading only the
 * few bytes of the tags and the metadata entries themselves.
 */

/** ModelProto field numbers go up to ~25 today; anything far beyond is not an ONNX file. */
const MAX_FIELD = 100;
/** A metadata entry larger than this is not plausible (and would be read into memory). */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

const notOnnx = (file: string, why: string): AppError =>
  new AppError('not_supported', `'${basename(file)}' is not a readable ONNX model: ${why}.`, {
    hint: 'The file may be truncated or not an ONNX model; download it again.',
  });

/** A cursor over a file handle that reads small windows and can skip without reading. */
class Cursor {
  private buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    public position = 0,
  ) {}

  private async ensure(count: number): Promise<boolean> {
    const offset = this.position - this.start;
    if (offset >= 0 && offset + count <= this.buffer.length) return true;
    const length = Math.min(Math.max(count, 64 * 1024), this.size - this.position);
    if (length < count) return false;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, this.position);
    this.buffer = buffer.subarray(0, bytesRead);
    this.start = this.position;
    return bytesRead >= count;
  }

  /** Reads a base-128 varint (up to 10 bytes, 64 bits) as a bigint, or undefined at EOF / when malformed. */
  async varint(): Promise<bigint | undefined> {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (!(await this.ensure(1))) return undefined;
      const byte = this.buffer[this.position - this.start]!;
      this.position++;
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    return undefined;
  }

  async bytes(count: number): Promise<Buffer | undefined> {
    if (!(await this.ensure(count))) return undefined;
    const offset = this.position - this.start;
    this.position += count;
    return this.buffer.subarray(offset, offset + count);
  }
}

/**
 * The length-delimited fields of a small message, by field number, as text:
 * a StringStringEntryProto (key = 1, value = 2) or a ValueInfoProto (name =
 * 1; its type, field 2, comes out as bytes nobody reads). Undefined when a
 * field is of another wire type or runs past the end.
 */
const textFields = (data: Buffer): Map<number, string> | undefined => {
  const fields = new Map<number, string>();
  let i = 0;
  while (i < data.length) {
    let tag = 0;
    let shift = 0;
    let byte: number;
    do {
      if (i >= data.length) return undefined;
      byte = data[i++]!;
      tag += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    if ((tag & 7) !== 2) return undefined;
    let length = 0;
    shift = 0;
    do {
      if (i >= data.length) return undefined;
      byte = data[i++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    if (i + length > data.length) return undefined;
    const text = data.toString('utf8', i, i + length);
    i += length;
    fields.set(tag >>> 3, text);
  }
  return fields;
};

export interface OnnxSummary {
  readonly metadata: Record<string, string>;
  /** The graph's input names (GraphProto field 11), when asked for. */
  readonly inputs: string[];
  /** The graph's output names (GraphProto field 12), when asked for. */
  readonly outputs: string[];
}

/**
 * Walks an ONNX file's top-level fields: metadata_props (field 14) are read,
 * and with `inputs` the graph (field 7) is walked too for its inputs (field
 * 11); every other field, the nodes and weights included, is skipped by
 * seeking. Throws AppError('not_supported') when the file is not a
 * well-formed ONNX protobuf (truncated, garbage, empty).
 */
const walkOnnx = async (file: string, inputs: boolean): Promise<OnnxSummary> => {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) throw notOnnx(file, 'it is empty');
    const cursor = new Cursor(handle, size);
    const summary: OnnxSummary = { metadata: {}, inputs: [], outputs: [] };
    let sawIrVersion = false;
    /** The fields in [cursor.position, end) of the model (`graph` false) or of its graph. */
    const walk = async (end: number, graph: boolean): Promise<void> => {
      while (cursor.position < end) {
        const tag = await cursor.varint();
        if (tag === undefined) throw notOnnx(file, `bad field tag at byte ${cursor.position}`);
        const field = Number(tag >> 3n);
        const wire = Number(tag & 7n);
        if (field < 1 || field > MAX_FIELD) throw notOnnx(file, `unexpected field ${field} at byte ${cursor.position}`);
        if (wire === 0) {
          if ((await cursor.varint()) === undefined) throw notOnnx(file, 'truncated number');
          if (!graph && field === 1) sawIrVersion = true;
        } else if (wire === 1 || wire === 5) {
          const skip = wire === 1 ? 8 : 4;
          if (cursor.position + skip > end) throw notOnnx(file, 'truncated');
          cursor.position += skip;
        } else if (wire === 2) {
          const length = await cursor.varint();
          // Lengths are 64-bit varints; any real one fits in a Number (and in the file).
          if (length === undefined || length > BigInt(end - cursor.position)) throw notOnnx(file, `field ${field} runs past the end of ${graph ? 'the graph' : 'the file'} (truncated?)`);
          const count = Number(length);
          if (!graph && field === 14 && count <= MAX_ENTRY_BYTES) {
            const data = await cursor.bytes(count);
            const entry = data && textFields(data);
            if (!entry) throw notOnnx(file, 'malformed metadata entry');
            summary.metadata[entry.get(1) ?? ''] = entry.get(2) ?? '';
          } else if (!graph && field === 7 && inputs) {
            await walk(cursor.position + count, true);
          } else if (graph && (field === 11 || field === 12) && count <= MAX_ENTRY_BYTES) {
            const data = await cursor.bytes(count);
            const name = data && textFields(data)?.get(1);
            if (name === undefined) throw notOnnx(file, `malformed graph ${field === 11 ? 'input' : 'output'}`);
            (field === 11 ? summary.inputs : summary.outputs).push(name);
          } else {
            cursor.position += count;
          }
        } else {
          throw notOnnx(file, `unsupported wire type ${wire} at byte ${cursor.position}`);
        }
      }
    };
    await walk(size, false);
    if (!sawIrVersion) throw notOnnx(file, 'no ir_version field');
    return summary;
  } finally {
    await handle.close();
  }
};

/**
 * Reads the metadata_props of an ONNX model file as a plain key → value
 * record (empty when the model has none), without loading the model.
 */
export const readOnnxMetadata = async (file: string): Promise<Record<string, string>> => (await walkOnnx(file, false)).metadata;

/** The names of an ONNX model's graph inputs, read the same way (a large model costs a few reads). */
export const readOnnxInputs = async (file: string): Promise<string[]> => (await walkOnnx(file, true)).inputs;

/** An ONNX model's metadata and its graph's input and output names, read the same way. */
export const readOnnxSummary = (file: string): Promise<OnnxSummary> => walkOnnx(file, true);
