import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/*
 * A tiny protobuf writer that crafts ONNX ModelProto files for tests: an
 * ir_version, an opaque "graph" field of any size and metadata_props. The
 * graph is filler bytes (not a runnable model); recognition only reads the
 * top-level fields and the metadata.
 */

/** Encodes a non-negative integer as a protobuf base-128 varint (64-bit safe). */
export const varint = (value: number | bigint): Buffer => {
  let v = BigInt(value);
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
};

const tag = (field: number, wire: number): Buffer => varint((field << 3) | wire);

/** A length-delimited field: tag, length, bytes. */
export const bytesField = (field: number, data: Buffer): Buffer =>
  Buffer.concat([tag(field, 2), varint(data.length), data]);

const entry = (key: string, value: string): Buffer =>
  bytesField(14, Buffer.concat([bytesField(1, Buffer.from(key)), bytesField(2, Buffer.from(value))]));

export interface OnnxSpec {
  /** metadata_props, in order. */
  readonly metadata?: Readonly<Record<string, string | number>>;
  /** Bytes of filler graph (field 7); default 16. */
  readonly graphBytes?: number;
  /** Put the metadata before the graph instead of after it (as the onnx package does not). */
  readonly metadataFirst?: boolean;
  readonly irVersion?: number;
}

/** Writes an ONNX-shaped protobuf to `path`, streaming a large graph field in chunks. */
export const writeOnnx = async (path: string, spec: OnnxSpec = {}): Promise<string> => {
  await mkdir(dirname(path), { recursive: true });
  const graphBytes = spec.graphBytes ?? 16;
  const head = Buffer.concat([
    tag(1, 0),
    varint(spec.irVersion ?? 8),
    bytesField(2, Buffer.from('murmur-test')),
    // opset_import {domain = "", version = 13}
    bytesField(8, Buffer.concat([bytesField(1, Buffer.alloc(0)), tag(2, 0), varint(13)])),
  ]);
  const meta = Buffer.concat(Object.entries(spec.metadata ?? {}).map(([k, v]) => entry(k, String(v))));
  const handle = await open(path, 'w');
  try {
    await handle.write(head);
    if (spec.metadataFirst) await handle.write(meta);
    await handle.write(Buffer.concat([tag(7, 2), varint(graphBytes)]));
    const chunk = Buffer.alloc(Math.min(graphBytes, 1 << 20), 0x5a);
    for (let left = graphBytes; left > 0; left -= chunk.length) {
      await handle.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
    }
    if (!spec.metadataFirst) await handle.write(meta);
  } finally {
    await handle.close();
  }
  return path;
};
