import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { EmbedRequest, EmbedResult } from '../../types/chat.js';
import type { DeepPartial } from './wire.js';

/*
 * `POST /v1/embeddings`, both ways: the request schema and its core
 * EmbedRequest, the request body for one (RemoteRuntime), and the `list` of
 * embeddings (float or base64 vectors) written and read.
 */

export const embeddingSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
});
/** A validated embeddings request. */
export type EmbeddingsRequest = z.infer<typeof embeddingSchema>;

/** The core EmbedRequest (without a signal) for a validated body: one string becomes a list of one; empty strings are refused. */
export const fromEmbeddingsRequest = (body: EmbeddingsRequest): EmbedRequest => {
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (input.some((text) => text.length === 0)) {
    throw new AppError('invalid_request', "Invalid value for 'input': strings must not be empty.", { param: 'input' });
  }
  return { model: body.model, input };
};

/** The request body for a core EmbedRequest; vectors are asked for as floats. */
export const toEmbeddingsRequest = (request: EmbedRequest): z.input<typeof embeddingSchema> => ({ model: request.model, input: [...request.input], encoding_format: 'float' });

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
