import { randomUUID } from 'node:crypto';
import type { FinishReason, Usage } from '../../types/chat.js';

/*
 * Pieces of OpenAI's wire format that several endpoints share: ids,
 * creation times, the stream terminator, token usage and finish reasons,
 * plus the DeepPartial type the readers take (a body from an upstream
 * server may leave fields out).
 */

/** Every field optional, all the way down: what a reader can count on from a server that is not murmur. */
export type DeepPartial<T> = T extends readonly (infer U)[] ? readonly DeepPartial<U>[] : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> | null } : T;

/** The `data:` payload that ends an OpenAI stream of chat or text completion chunks. */
export const STREAM_DONE = '[DONE]';

/** A fresh OpenAI-style id such as `chatcmpl-…`. */
export const newId = (prefix: string): string => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;

/** Unix seconds now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** What a completion's id, creation time and requested model are, shared by all of its chunks. */
export interface Envelope {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** Token usage of a chat or text completion. */
export interface UsageBody {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export const toUsageBody = (usage: Usage): UsageBody => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.totalTokens,
});

/** Usage of several choices of one prompt (`n`): the prompt counted once, every choice's completion. */
export const sumUsage = (results: readonly { readonly usage: Usage }[]): Usage => {
  if (results.length === 1) return results[0]!.usage;
  const promptTokens = results[0]?.usage.promptTokens ?? 0;
  const completionTokens = results.reduce((sum, r) => sum + r.usage.completionTokens, 0);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
};

/** Usage as the core counts it; `completionFallback` stands in when the server sent none (a stream without include_usage). */
export const fromUsageBody = (body: DeepPartial<UsageBody> | null | undefined, completionFallback = 0): Usage => {
  const prompt = body?.prompt_tokens ?? 0;
  const completion = body?.completion_tokens ?? completionFallback;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: body?.total_tokens ?? prompt + completion };
};

/** The core's finish reason for OpenAI's (`function_call`, the old name, is `tool_calls`; anything unknown is `stop`). */
export const fromFinishReason = (raw: string | null | undefined): FinishReason =>
  raw === 'length' ? 'length' : raw === 'tool_calls' || raw === 'function_call' ? 'tool_calls' : 'stop';
