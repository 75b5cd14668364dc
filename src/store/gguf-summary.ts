import type { GgufHeader } from './gguf-metadata.js';

/** llama.cpp's `general.file_type` (enum llama_ftype) by the names Ollama and llama.cpp print. */
export const GGUF_FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS',
  24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
  36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4',
};

/** What `murmur show` (like `ollama show`) tells of a GGUF model, read from its header; absent facts stay undefined. */
export interface GgufSummary {
  readonly architecture?: string;
  /** `general.size_label`, e.g. `0.6B`, where the file has one. */
  readonly parameters?: string;
  /** e.g. `Q4_K_M`, from `general.file_type`. */
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
export const summarizeGguf = ({ metadata }: GgufHeader): GgufSummary => {
  const architecture = typeof metadata['general.architecture'] === 'string' ? metadata['general.architecture'] : undefined;
  const fileType = asNumber(metadata['general.file_type']);
  const sizeLabel = metadata['general.size_label'];
  return {
    architecture,
    parameters: typeof sizeLabel === 'string' && sizeLabel ? sizeLabel : undefined,
    quantization: fileType === undefined ? undefined : (GGUF_FILE_TYPES[fileType] ?? `unknown (file type ${fileType})`),
    contextLength: architecture ? asNumber(metadata[`${architecture}.context_length`]) : undefined,
    embeddingLength: architecture ? asNumber(metadata[`${architecture}.embedding_length`]) : undefined,
    chatTemplate: typeof metadata['tokenizer.chat_template'] === 'string' && metadata['tokenizer.chat_template'] !== '',
  };
};
