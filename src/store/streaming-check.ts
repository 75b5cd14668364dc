import { join } from 'node:path';
import { AppError } from '../errors.js';
import { readOnnxSummary, type OnnxSummary } from './onnx-metadata.js';
import { withArticle } from '../text/article.js';

/*
 * What sherpa-onnx's OnlineRecognizer reads from a streaming transducer
 * before it can run one, checked before the model is installed (and again
 * at load): a key it cannot find makes it _Exit(-1) (exit code 255), and an
 * encoder without a known model_type leaves it a null model (a segfault),
 * so a model missing either is refused with its name instead. From
 * sherpa-onnx/csrc/online-transducer-model.cc (the dispatch on model_type)
 * and online-{zipformer,zipformer2,lstm,conformer,ebranchformer}-transducer-model.cc
 * (each InitEncoder's and InitDecoder's SHERPA_ONNX_READ_META_DATA*).
 */

/** Encoder keys per model_type: lists are comma-separated integers, the rest one integer. */
const ENCODER_KEYS: Readonly<Record<string, { readonly lists: readonly string[]; readonly numbers: readonly string[] }>> = {
  zipformer: { lists: ['encoder_dims', 'attention_dims', 'num_encoder_layers', 'cnn_module_kernels', 'left_context_len'], numbers: ['T', 'decode_chunk_len'] },
  zipformer2: {
    lists: ['encoder_dims', 'query_head_dims', 'value_head_dims', 'num_heads', 'num_encoder_layers', 'cnn_module_kernels', 'left_context_len'],
    numbers: ['T', 'decode_chunk_len'],
  },
  lstm: { lists: [], numbers: ['num_encoder_layers', 'T', 'decode_chunk_len', 'rnn_hidden_size', 'd_model'] },
  conformer: { lists: [], numbers: ['num_encoder_layers', 'T', 'decode_chunk_len', 'left_context', 'encoder_dim', 'pad_length', 'cnn_module_kernel'] },
  ebranchformer: {
    lists: [],
    numbers: ['decode_chunk_len', 'T', 'num_hidden_layers', 'hidden_size', 'intermediate_size', 'csgu_kernel_size', 'merge_conv_kernel', 'left_context_len', 'num_heads', 'head_dim'],
  },
};
const DECODER_KEYS = ['vocab_size', 'context_size'];

export const STREAMING_MODEL_TYPES: readonly string[] = Object.keys(ENCODER_KEYS);

const invalid = (file: string, detail: string) =>
  new AppError('model_invalid', `The model's ${file} ${detail}, so sherpa-onnx cannot run it as a streaming transducer.`, {
    hint: 'The download may be corrupt or the folder holds another kind of model; pull the model again from its source.',
    param: 'model',
  });

const read = async (dir: string, file: string): Promise<OnnxSummary> => {
  try {
    return await readOnnxSummary(join(dir, file));
  } catch (error) {
    if (error instanceof AppError) throw invalid(file, `is not a readable ONNX model (${error.message.replace(/^'[^']*' is not a readable ONNX model: /, '').replace(/\.$/, '')})`);
    throw error;
  }
};

const isNumber = (value: string | undefined): boolean => value !== undefined && /^\s*\d+\s*$/.test(value);
const isList = (value: string | undefined): boolean => value !== undefined && /^\s*\d+\s*(,\s*\d+\s*)*,?\s*$/.test(value);

const checkKeys = (file: string, meta: Readonly<Record<string, string>>, lists: readonly string[], numbers: readonly string[], what: string) => {
  const missing = [...lists, ...numbers].filter((key) => !meta[key]);
  if (missing.length) throw invalid(file, `lacks the metadata ${missing.join(', ')} that ${withArticle(what)} needs`);
  const bad = [...lists.filter((key) => !isList(meta[key])), ...numbers.filter((key) => !isNumber(meta[key]))];
  if (bad.length) throw invalid(file, `has metadata that is not a whole number (${bad.map((key) => `${key}=${JSON.stringify(meta[key]!.slice(0, 40))}`).join(', ')})`);
};

/**
 * Checks a streaming transducer's encoder and decoder (paths relative to
 * `dir`) against what sherpa-onnx reads from them. `modelType` is the
 * catalog's modelType option, which sherpa-onnx takes instead of the
 * encoder's own. A decoder with more than one output is a NeMo export,
 * which sherpa-onnx runs by another path (not checked here). Throws
 * AppError('model_invalid') naming the file and what it lacks.
 */
export const checkStreamingTransducer = async (dir: string, files: Readonly<Record<string, string>>, modelType?: string): Promise<void> => {
  for (const role of ['encoder', 'decoder', 'joiner', 'tokens']) {
    if (!files[role]) throw new AppError('model_invalid', `The streaming transducer has no ${role} file.`, { param: 'model', hint: 'Pull the model again from its source.' });
  }
  const decoder = await read(dir, files.decoder!);
  if (decoder.outputs.length > 1) return;
  const encoder = await read(dir, files.encoder!);
  const type = modelType && ENCODER_KEYS[modelType] ? modelType : encoder.metadata.model_type;
  if (!type) throw invalid(files.encoder!, 'has no model_type in its metadata');
  const keys = ENCODER_KEYS[type];
  if (!keys) throw invalid(files.encoder!, `is a '${type}' model (sherpa-onnx runs ${STREAMING_MODEL_TYPES.join(', ')})`);
  checkKeys(files.encoder!, encoder.metadata, keys.lists, keys.numbers, `${type} encoder`);
  checkKeys(files.decoder!, decoder.metadata, [], DECODER_KEYS, 'transducer decoder');
  if (Number(decoder.metadata.context_size) < 1) throw invalid(files.decoder!, 'has context_size 0');
};
