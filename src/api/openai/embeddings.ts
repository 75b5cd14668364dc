import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { EmbedInput, EmbedRequest, EmbedResult } from '../../types/chat.js';
import type { DeepPartial } from './wire.js';

/*
 * `POST /v1/embeddings`, both ways: the request schema and its core
 * EmbedRequest, the request body for one (RemoteRuntime), and the `list` of
 * embeddings (float or base64 vectors) written and read.
 */

const tokenIds = z.array(z.number().int().nonnegative()).min(1, { message: 'a token array must not be empty' });

export const embeddingSchema = z.object({
  model: z.string().min(1),
  // A text, texts, one text's token ids, or several texts' token ids, as OpenAI takes them.
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048), tokenIds, z.array(tokenIds).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
});
/** A validated embeddings request. */
export type EmbeddingsRequest = z.infer<typeof embeddingSchema>;

/**
 * The core EmbedRequest (without a signal) for a validated body: one string
 * (or one array of token ids) becomes a list of one; empty strings are
 * refused. Token ids are checked against the model's vocabulary by the engine.
 */
export const fromEmbeddingsRequest = (body: EmbeddingsRequest): EmbedRequest => {
  const raw = body.input;
  const input: EmbedInput[] = typeof raw === 'string' ? [raw] : typeof raw[0] === 'number' ? [raw as number[]] : (raw as string[] | number[][]);
  if (input.some((item) => item.length === 0)) {
    throw new AppError('invalid_request', "Invalid value for 'input': strings must not be empty.", { param: 'input' });
  }
  return { model: body.model, input, ...(body.dimensions ? { dimensions: body.dimensions } : {}) };
};

/** The request body for a core EmbedRequest; vectors are asked for as floats. Texts and token arrays cannot be mixed in one body. */
export const toEmbeddingsRequest = (request: EmbedRequest): z.input<typeof embeddingSchema> => {
  const texts = request.input.filter((item): item is string => typeof item === 'string');
  const dimensions = request.dimensions ? { dimensions: request.dimensions } : {};
  if (texts.length === request.input.length) return { model: request.model, input: texts, encoding_format: 'float', ...dimensions };
  if (!texts.length) return { model: request.model, input: request.input.map((tokens) => [...(tokens as readonly number[])]), encoding_format: 'float', ...dimensions };
  throw new AppError('invalid_request', 'One embeddings request takes texts or token arrays, not both.', { param: 'input' });
};

export interface EmbeddingsList {
  readonly object: 'list';
  readonly data: readonly { readonly object: 'embedding'; readonly index: number; readonly embedding: readonly number[] | string }[];
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"`. */
export const embeddingToBase64 = (vector: readonly number[]): string => {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
};

/** A base64 vector back as numbers. */
const embeddingFromBase64 = (text: string): number[] => {
  const bytes = Buffer.from(text, 'base64');
  return Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
};

/**
 * The embeddings `list` for a result, in the body's encoding. A request for
 * `dimensions` the model does not make is refused (murmur does not truncate).
 */
export const toEmbeddingsList = (result: EmbedResult, body: EmbeddingsRequest): EmbeddingsList => {
  const made = result.embeddings[0]?.length;
  if (body.dimensions && made && body.dimensions !== made) {
    throw new AppError('not_supported', `'${body.model}' makes ${made}-dimensional embeddings; it cannot make ${body.dimensions}.`, { param: 'dimensions' });
  }
  const format = body.encoding_format ?? 'float';
  return {
    object: 'list',
    data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? embeddingToBase64(vector) : vector })),
    model: result.model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
  };
};

/** A `list` of embeddings as a core result, vectors in input order. */
export const fromEmbeddingsList = (body: DeepPartial<EmbeddingsList>, fallbackModel: string): EmbedResult => ({
  model: body.model ?? fallbackModel,
  embeddings: [...(body.data ?? [])]
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
    .map((d) => (typeof d.embedding === 'string' ? embeddingFromBase64(d.embedding) : [...(d.embedding ?? [])])),
  usage: { promptTokens: body.usage?.prompt_tokens ?? 0, totalTokens: body.usage?.total_tokens ?? 0 },
});
