import type { GgufHeader } from './gguf-metadata.js';

/** llama.cpp's `general.file_type` (enum llama_ftype) by the names Ollama and llama.cpp print. */
export const GGUF_FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS',
  24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
  36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4',
};

/** ggml_type ids by name, for the most common tensor type of a file without `general.file_type`. */
export const GGML_TYPES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K',
  14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

/** A parameter count as Ollama prints it: `751.63M`, `1.54B`, `292.35K`. */
export const formatParameters = (count: number): string => {
  if (count >= 1e9) return `${(count / 1e9).toFixed(2)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(2)}K`;
  return String(count);
};

/** The type most of the tensors' elements are stored in (by parameter count). */
const commonType = (tensors: NonNullable<GgufHeader['tensors']>): string | undefined => {
  const byType = new Map<number, number>();
  for (const t of tensors) byType.set(t.type, (byType.get(t.type) ?? 0) + t.dims.reduce((a, b) => a * b, 1));
  const [type] = [...byType].sort((a, b) => b[1] - a[1])[0] ?? [];
  return type === undefined ? undefined : (GGML_TYPES[type] ?? `unknown (tensor type ${type})`);
};

/** What `murmur show` (like `ollama show`) tells of a GGUF model, read from its header; absent facts stay undefined. */
export interface GgufSummary {
  readonly architecture?: string;
  /** `general.size_label`, e.g. `0.6B`; else counted from the tensor infos (when read), e.g. `292.35K`. */
  readonly parameters?: string;
  /** e.g. `Q4_K_M`, from `general.file_type`; else the most common tensor type (when read), e.g. `F32`. */
  readonly quantization?: string;
  /** Tokens the model was trained for (`<arch>.context_length`). */
  readonly contextLength?: number;
  /** The width of its embeddings (`<arch>.embedding_length`). */
  readonly embeddingLength?: number;
  /**
   * Whether the file carries a chat template (`tokenizer.chat_template`, Jinja).
   * Which chat wrapper node-llama-cpp picks for it is only known once loaded.
   */
  readonly chatTemplate: boolean;
}

const asNumber = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;

/** The facts of a GGUF header worth showing a person (pure; read the header with readGgufMetadata). */
export const summarizeGguf = ({ metadata, tensors }: GgufHeader): GgufSummary => {
  const architecture = typeof metadata['general.architecture'] === 'string' ? metadata['general.architecture'] : undefined;
  const fileType = asNumber(metadata['general.file_type']);
  const sizeLabel = metadata['general.size_label'];
  return {
    architecture,
    parameters: typeof sizeLabel === 'string' && sizeLabel
      ? sizeLabel
      : tensors?.length ? formatParameters(tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0)) : undefined,
    quantization: fileType !== undefined ? (GGUF_FILE_TYPES[fileType] ?? `unknown (file type ${fileType})`) : tensors?.length ? commonType(tensors) : undefined,
    contextLength: architecture ? asNumber(metadata[`${architecture}.context_length`]) : undefined,
    embeddingLength: architecture ? asNumber(metadata[`${architecture}.embedding_length`]) : undefined,
    chatTemplate: typeof metadata['tokenizer.chat_template'] === 'string' && metadata['tokenizer.chat_template'] !== '',
  };
};
