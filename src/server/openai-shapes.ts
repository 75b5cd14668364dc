import { randomUUID } from 'node:crypto';
import type { EmbedResult, FinishReason, GenerationResult, ToolCall, Usage } from '../types/chat.js';

/**
 * The OpenAI response objects murmur sends: chat completions and their
 * stream chunks, text completions, embeddings and model entries.
 */

/** A fresh OpenAI-style id such as `chatcmpl-…`. */
export const newId = (prefix: string): string => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;

/** Unix seconds now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export const usageBody = (usage: Usage) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.totalTokens,
});

const toolCallsBody = (calls: readonly ToolCall[]) =>
  calls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } }));

export interface Envelope {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** A non-streamed `chat.completion`. */
export const chatCompletionBody = (envelope: Envelope, result: GenerationResult) => {
  const calls = result.toolCalls?.length ? result.toolCalls : undefined;
  return {
    id: envelope.id,
    object: 'chat.completion' as const,
    created: envelope.created,
    model: result.model || envelope.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: calls && !result.text ? null : result.text,
          refusal: null,
          ...(calls ? { tool_calls: toolCallsBody(calls) } : {}),
        },
        logprobs: null,
        finish_reason: result.finishReason,
      },
    ],
    usage: usageBody(result.usage),
    system_fingerprint: null,
  };
};

type Delta = { role?: 'assistant'; content?: string; tool_calls?: unknown[] };

/** One `chat.completion.chunk`; `usage` is null on every chunk but the last when usage is asked for. */
export const chatChunk = (envelope: Envelope, delta: Delta, finishReason: FinishReason | null, includeUsage: boolean) => ({
  id: envelope.id,
  object: 'chat.completion.chunk' as const,
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  ...(includeUsage ? { usage: null } : {}),
});

/** The tool calls of a result as one chunk's delta. */
export const toolCallsDelta = (calls: readonly ToolCall[]): Delta => ({
  tool_calls: toolCallsBody(calls).map((call, index) => ({ index, ...call })),
});

/** The last chunk of a stream asked for with `stream_options.include_usage`: no choices, the usage. */
export const usageChunk = (envelope: Envelope, object: 'chat.completion.chunk' | 'text_completion', usage: Usage) => ({
  id: envelope.id,
  object,
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [],
  usage: usageBody(usage),
});

/** A `text_completion`, whole (with usage) or as a stream chunk (`usage` omitted). */
export const completionBody = (envelope: Envelope, text: string, finishReason: FinishReason | null, usage?: Usage, includeUsage = false) => ({
  id: envelope.id,
  object: 'text_completion' as const,
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  ...(usage ? { usage: usageBody(usage) } : includeUsage ? { usage: null } : {}),
});

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"`. */
export const embeddingToBase64 = (vector: readonly number[]): string => {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
};

/** An embeddings `list`. */
export const embeddingsBody = (result: EmbedResult, format: 'float' | 'base64') => ({
  object: 'list' as const,
  data: result.embeddings.map((vector, index) => ({
    object: 'embedding' as const,
    index,
    embedding: format === 'base64' ? embeddingToBase64(vector) : vector,
  })),
  model: result.model,
  usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
});

/** A `model` entry of `/v1/models`. */
export const modelEntry = (model: { name: string; pulledAt?: string; kind?: string }) => ({
  id: model.name,
  object: 'model' as const,
  created: Math.floor((Date.parse(model.pulledAt ?? '') || 0) / 1000),
  owned_by: 'murmur',
  ...(model.kind ? { kind: model.kind } : {}),
});
