import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeOnnxGraph, type Node, type Tensor, type ValueInfo } from './onnx-graph.js';

/*
 * A synthetic streaming zipformer transducer (icefall's zipformer v1, the
 * kind of sherpa-onnx-streaming-zipformer-en-20M) that sherpa-onnx's
 * OnlineRecognizer loads and runs, for tests without the real model. It
 * "hears" tone bursts: each burst of loud audio emits the next word of
 * ONE TWO THREE FOUR FIVE, and silence (or faint room tone) emits nothing.
 *
 * What sherpa-onnx requires (online-zipformer-transducer-model.cc,
 * online-recognizer-transducer-impl.h, online-transducer-greedy-search-decoder.cc):
 *
 * - encoder metadata model_type=zipformer and the lists encoder_dims,
 *   attention_dims, num_encoder_layers, cnn_module_kernels,
 *   left_context_len (one entry per encoder stack; one stack here), and
 *   T (frames per chunk, 39) and decode_chunk_len (frames the chunk
 *   advances, 32). A key that is missing makes sherpa-onnx _Exit(-1).
 * - encoder inputs: x [N, T, 80] fbank frames, then the 7 state tensors per
 *   stack in sherpa's order (cached_len int64 [layers, N]; cached_avg
 *   [layers, N, dim]; cached_key [layers, left, N, att]; cached_val and
 *   cached_val2 [layers, left, N, att/2]; cached_conv1 and cached_conv2
 *   [layers, N, dim, kernel-1]); outputs: encoder_out [N, T', E] then the 7
 *   next states in the same order. sherpa times tokens at 40 ms per output
 *   frame (subsampling 4), so T' = decode_chunk_len / 4 = 8.
 * - decoder metadata vocab_size and context_size; input y int64
 *   [N, context_size] (the last tokens, blank 0 at the start), one output
 *   decoder_out [N, D].
 * - joiner inputs encoder_out [N, E] (one frame) and decoder_out [N, D];
 *   output logit [N, vocab_size]. Greedy search takes the argmax of each
 *   frame: blank (0) emits nothing, another id emits that token, and the
 *   decoder runs again on the new context.
 *
 * The graphs:
 *
 * - encoder: the first 32 frames of x, in 8 groups of 4; a group is loud
 *   when its largest log-mel value is above 0 (digital silence is log(eps)
 *   ≈ -15.9, room tone at 0.002 about -6, a 0.3-amplitude tone about +7).
 *   encoder_out[t] = 1 on a rising edge (loud now, quiet the group before,
 *   else 0), E = 1. The last group's loudness is carried to the next chunk
 *   in cached_avg (its first element); the other states pass through.
 * - decoder: one-hot of the last context token (D = vocab_size).
 * - joiner: logit = (onehot · NEXT) × encoder_out + [0.5, 0, …], where
 *   NEXT maps token k to k + 1 (and the last word to nothing): on an edge
 *   the next word scores 1 and beats blank's 0.5; elsewhere blank wins.
 *
 * So tone bursts separated by silence transcribe as "ONE", "ONE TWO", …
 * with each word timed at its burst's onset (to within a 40 ms frame).
 */

export const WORDS = ['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE'] as const;

const T = 39;
const CHUNK = 32;
const FRAMES = CHUNK / 4;
const FEATURES = 80;
const DIM = 4;
const ATT = 4;
const LEFT = 4;
const KERNEL = 3;
const VOCAB = WORDS.length + 1;

const i64 = (name: string, dims: number[], values: number[]): Tensor => ({ name, type: 'int64', dims, values });
const f32 = (name: string, dims: number[], values: number[]): Tensor => ({ name, type: 'float', dims, values });

const encoderStates: ValueInfo[] = [
  { name: 'cached_len_0', type: 'int64', shape: [1, 'N'] },
  { name: 'cached_avg_0', type: 'float', shape: [1, 'N', DIM] },
  { name: 'cached_key_0', type: 'float', shape: [1, LEFT, 'N', ATT] },
  { name: 'cached_val_0', type: 'float', shape: [1, LEFT, 'N', ATT / 2] },
  { name: 'cached_val2_0', type: 'float', shape: [1, LEFT, 'N', ATT / 2] },
  { name: 'cached_conv1_0', type: 'float', shape: [1, 'N', DIM, KERNEL - 1] },
  { name: 'cached_conv2_0', type: 'float', shape: [1, 'N', DIM, KERNEL - 1] },
];

const encoderNodes: Node[] = [
  // x [N, 39, 80] → the chunk's 32 frames → [N, 8, 320] → loudest per group [N, 8].
  { op: 'Slice', inputs: ['x', 'zero', 'chunk', 'one'], outputs: ['xs'] },
  { op: 'Reshape', inputs: ['xs', 'groups'], outputs: ['xg'] },
  { op: 'ReduceMax', inputs: ['xg'], outputs: ['peak'], attributes: { axes: [2], keepdims: 0 } },
  { op: 'Greater', inputs: ['peak', 'threshold'], outputs: ['loud_b'] },
  { op: 'Cast', inputs: ['loud_b'], outputs: ['loud'], attributes: { to: 1 } },
  // The group before each: the previous chunk's last (cached_avg_0[0, :, 0]), then this chunk's first 7.
  { op: 'Slice', inputs: ['cached_avg_0', 'zero', 'one', 'two'], outputs: ['carried3'] },
  { op: 'Squeeze', inputs: ['carried3', 'zero'], outputs: ['carried'] },
  { op: 'Slice', inputs: ['loud', 'zero', 'seven', 'one'], outputs: ['loud_head'] },
  { op: 'Concat', inputs: ['carried', 'loud_head'], outputs: ['before'], attributes: { axis: 1 } },
  { op: 'Sub', inputs: ['onef', 'before'], outputs: ['quiet_before'] },
  { op: 'Mul', inputs: ['loud', 'quiet_before'], outputs: ['edge'] },
  { op: 'Unsqueeze', inputs: ['edge', 'two'], outputs: ['encoder_out'] },
  // The last group's loudness, kept for the next chunk: [N, 1] → [1, N, DIM].
  { op: 'Slice', inputs: ['loud', 'seven', 'eight', 'one'], outputs: ['loud_tail'] },
  { op: 'Unsqueeze', inputs: ['loud_tail', 'zero'], outputs: ['tail3'] },
  { op: 'Tile', inputs: ['tail3', 'avg_repeats'], outputs: ['new_cached_avg_0'] },
  ...encoderStates.filter((s) => s.name !== 'cached_avg_0').map((s): Node => ({ op: 'Identity', inputs: [s.name], outputs: [`new_${s.name}`] })),
];

const encoderInitializers: Tensor[] = [
  i64('zero', [1], [0]),
  i64('one', [1], [1]),
  i64('two', [1], [2]),
  i64('seven', [1], [FRAMES - 1]),
  i64('eight', [1], [FRAMES]),
  i64('chunk', [1], [CHUNK]),
  i64('groups', [3], [0, FRAMES, 4 * FEATURES]),
  i64('avg_repeats', [3], [1, 1, DIM]),
  f32('threshold', [], [0]),
  f32('onef', [], [1]),
];

/** tokens.txt: blank, then the words as SentencePiece pieces (▁ starts a word). */
export const streamingTokens = (): string => ['<blk> 0', ...WORDS.map((w, i) => `▁${w} ${i + 1}`)].join('\n') + '\n';

export interface StreamingModelFiles {
  readonly dir: string;
  readonly encoder: string;
  readonly decoder: string;
  readonly joiner: string;
  readonly tokens: string;
}

export interface StreamingModelOptions {
  /** Also write `*.int8.onnx` copies, as the release ships both. */
  readonly int8?: boolean;
  /** Metadata changes for the encoder or decoder: a value replaces the key's, null removes it. */
  readonly encoderMetadata?: Readonly<Record<string, string | number | null>>;
  readonly decoderMetadata?: Readonly<Record<string, string | number | null>>;
  /** tokens.txt's text instead of the real one. */
  readonly tokens?: string;
}

const edit = (base: Record<string, string | number>, changes: Readonly<Record<string, string | number | null>> = {}) => {
  const out = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
};

/**
 * Writes the synthetic model to `dir` under the real release's names
 * (encoder-epoch-99-avg-1.onnx, …, tokens.txt).
 */
export const writeStreamingTransducer = async (dir: string, options: StreamingModelOptions = {}): Promise<StreamingModelFiles> => {
  const { int8 = false } = options;
  await mkdir(dir, { recursive: true });
  const encoder = {
    metadata: edit({
      model_type: 'zipformer',
      version: '1',
      model_author: 'murmur-test',
      comment: 'synthetic streaming zipformer',
      decode_chunk_len: CHUNK,
      T,
      num_encoder_layers: '1',
      encoder_dims: String(DIM),
      attention_dims: String(ATT),
      cnn_module_kernels: String(KERNEL),
      left_context_len: String(LEFT),
    }, options.encoderMetadata),
    nodes: encoderNodes,
    initializers: encoderInitializers,
    inputs: [{ name: 'x', type: 'float', shape: ['N', T, FEATURES] }, ...encoderStates] as ValueInfo[],
    outputs: [{ name: 'encoder_out', type: 'float', shape: ['N', FRAMES, 1] }, ...encoderStates.map((s) => ({ ...s, name: `new_${s.name}` }))] as ValueInfo[],
  };
  const decoder = {
    metadata: edit({ vocab_size: VOCAB, context_size: 2 }, options.decoderMetadata),
    nodes: [
      { op: 'Gather', inputs: ['y', 'last'], outputs: ['y_last'], attributes: { axis: 1 } },
      { op: 'Equal', inputs: ['y_last', 'ids'], outputs: ['hot'] },
      { op: 'Cast', inputs: ['hot'], outputs: ['decoder_out'], attributes: { to: 1 } },
    ] as Node[],
    initializers: [i64('last', [1], [1]), i64('ids', [VOCAB], [...Array(VOCAB).keys()])],
    inputs: [{ name: 'y', type: 'int64', shape: ['N', 2] }] as ValueInfo[],
    outputs: [{ name: 'decoder_out', type: 'float', shape: ['N', VOCAB] }] as ValueInfo[],
  };
  const next = Array.from({ length: VOCAB * VOCAB }, (_, i) => (Math.floor(i / VOCAB) + 1 === i % VOCAB ? 1 : 0));
  const joiner = {
    nodes: [
      { op: 'MatMul', inputs: ['decoder_out', 'next'], outputs: ['next_word'] },
      { op: 'Mul', inputs: ['next_word', 'encoder_out'], outputs: ['gated'] },
      { op: 'Add', inputs: ['gated', 'blank_bias'], outputs: ['logit'] },
    ] as Node[],
    initializers: [f32('next', [VOCAB, VOCAB], next), f32('blank_bias', [VOCAB], [0.5, ...Array(VOCAB - 1).fill(0)])],
    inputs: [
      { name: 'encoder_out', type: 'float', shape: ['N', 1] },
      { name: 'decoder_out', type: 'float', shape: ['N', VOCAB] },
    ] as ValueInfo[],
    outputs: [{ name: 'logit', type: 'float', shape: ['N', VOCAB] }] as ValueInfo[],
  };
  const files: StreamingModelFiles = {
    dir,
    encoder: join(dir, 'encoder-epoch-99-avg-1.onnx'),
    decoder: join(dir, 'decoder-epoch-99-avg-1.onnx'),
    joiner: join(dir, 'joiner-epoch-99-avg-1.onnx'),
    tokens: join(dir, 'tokens.txt'),
  };
  for (const suffix of int8 ? ['.onnx', '.int8.onnx'] : ['.onnx']) {
    await writeOnnxGraph(files.encoder.replace(/\.onnx$/, suffix), encoder);
    await writeOnnxGraph(files.decoder.replace(/\.onnx$/, suffix), decoder);
    await writeOnnxGraph(files.joiner.replace(/\.onnx$/, suffix), joiner);
  }
  await writeFile(files.tokens, options.tokens ?? streamingTokens());
  return files;
};

/** `seconds` of a 440 Hz tone at `amplitude`, at `rate`. */
export const tone = (seconds: number, rate = 16_000, amplitude = 0.3): Float32Array =>
  Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => amplitude * Math.sin((2 * Math.PI * 440 * i) / rate));

/** Concatenates pieces of audio. */
export const concat = (...parts: Float32Array[]): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
