import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bytesField, varint } from './onnx-builder.js';

/*
 * Writes small *runnable* ONNX models for tests (onnx-builder.ts writes
 * only the top-level fields, with a filler graph): nodes, initializers and
 * typed inputs and outputs, encoded by hand from onnx.proto3 (ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto). Only
 * what the synthetic models here need: float, int64 and bool tensors, int,
 * float and ints attributes, opset 13.
 */

/** TensorProto.DataType values. */
export const DType = { float: 1, int64: 7, bool: 9 } as const;
export type DTypeName = keyof typeof DType;

const tag = (field: number, wire: number): Buffer => varint((field << 3) | wire);
const str = (field: number, text: string): Buffer => bytesField(field, Buffer.from(text));
const int = (field: number, value: number | bigint): Buffer => Buffer.concat([tag(field, 0), varint(BigInt.asUintN(64, BigInt(value)))]);
const float32 = (field: number, value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return Buffer.concat([tag(field, 5), b]);
};

/** A constant tensor (an initializer, or a Constant node's value). */
export interface Tensor {
  readonly name: string;
  readonly type: DTypeName;
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

const tensorProto = (t: Tensor): Buffer => {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.values.length) throw new Error(`tensor ${t.name}: ${t.values.length} values for dims [${t.dims.join(', ')}]`);
  let raw: Buffer;
  if (t.type === 'float') {
    raw = Buffer.alloc(count * 4);
    t.values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  } else if (t.type === 'int64') {
    raw = Buffer.alloc(count * 8);
    t.values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
  } else {
    raw = Buffer.from(t.values.map((v) => (v ? 1 : 0)));
  }
  return Buffer.concat([...t.dims.map((d) => int(1, d)), int(2, DType[t.type]), str(8, t.name), bytesField(9, raw)]);
};

export type Attribute = number | readonly number[] | { readonly float: number };

const attributeProto = (name: string, value: Attribute): Buffer => {
  // AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7).
  if (typeof value === 'number') return Buffer.concat([str(1, name), int(3, value), int(20, 2)]);
  if ('float' in value) return Buffer.concat([str(1, name), float32(2, value.float), int(20, 1)]);
  return Buffer.concat([str(1, name), ...(value as readonly number[]).map((v) => int(8, v)), int(20, 7)]);
};

export interface Node {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, Attribute>>;
}

const nodeProto = (node: Node, index: number): Buffer =>
  Buffer.concat([
    ...node.inputs.map((i) => str(1, i)),
    ...node.outputs.map((o) => str(2, o)),
    str(3, `${node.op}_${index}`),
    str(4, node.op),
    ...Object.entries(node.attributes ?? {}).map(([k, v]) => bytesField(5, attributeProto(k, v))),
  ]);

/** A graph input or output: its element type and shape (a string is a symbolic dim; no shape: any rank). */
export interface ValueInfo {
  readonly name: string;
  readonly type: DTypeName;
  readonly shape?: readonly (number | string)[];
}

const valueInfoProto = (v: ValueInfo): Buffer => {
  // TensorShapeProto.Dimension: dim_value 1, dim_param 2.
  const dims = (v.shape ?? []).map((d) => bytesField(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = Buffer.concat([int(1, DType[v.type]), ...(v.shape ? [bytesField(2, Buffer.concat(dims))] : [])]);
  return Buffer.concat([str(1, v.name), bytesField(2, bytesField(1, tensorType))]);
};

export interface Graph {
  readonly nodes: readonly Node[];
  readonly initializers?: readonly Tensor[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly metadata?: Readonly<Record<string, string | number>>;
}

/** The bytes of an ONNX model (ir_version 8, opset 13) running `graph`. */
export const encodeOnnxGraph = (graph: Graph): Buffer => {
  const graphProto = Buffer.concat([
    ...graph.nodes.map((n, i) => bytesField(1, nodeProto(n, i))),
    str(2, 'murmur-test'),
    ...(graph.initializers ?? []).map((t) => bytesField(5, tensorProto(t))),
    ...graph.inputs.map((v) => bytesField(11, valueInfoProto(v))),
    ...graph.outputs.map((v) => bytesField(12, valueInfoProto(v))),
  ]);
  return Buffer.concat([
    int(1, 8),
    str(2, 'murmur-test'),
    bytesField(7, graphProto),
    bytesField(8, Buffer.concat([str(1, ''), int(2, 13)])),
    ...Object.entries(graph.metadata ?? {}).map(([k, v]) => bytesField(14, Buffer.concat([str(1, k), str(2, String(v))]))),
  ]);
};

/** Writes `graph` as an ONNX file at `path` (folders made as needed). */
export const writeOnnxGraph = async (path: string, graph: Graph): Promise<string> => {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeOnnxGraph(graph));
  return path;
};
