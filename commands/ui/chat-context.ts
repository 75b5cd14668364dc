import type { Runtime } from '../../src/runtime/types.js';
import type { ChatMessage, ChatRequest, GenerationResult } from '../../src/types/chat.js';
import { isAppError } from '../../src/errors.js';

/**
 * Keeping a conversation inside the model's context, as Ollama and
 * llama.cpp's chat do: the oldest turns are dropped (the system prompt is
 * kept), and a reply with no max_tokens is given a budget instead of the
 * whole context.
 */

/** A reply's tokens when no max_tokens is set: 1024, or a quarter of the context when that is smaller. */
export const DEFAULT_REPLY_TOKENS = 1024;

export const replyBudget = (contextSize: number | undefined): number =>
  contextSize ? Math.max(1, Math.min(DEFAULT_REPLY_TOKENS, Math.floor(contextSize / 4))) : DEFAULT_REPLY_TOKENS;

/**
 * The context size a context_length_exceeded error names ("… holds 2048
 * tokens per request"): what a chat learns from a request that overflows
 * before it could ask the runtime (a model's size is known once it loads).
 */
export const contextSizeOf = (error: unknown): number | undefined => {
  if (!isAppError(error) || error.code !== 'context_length_exceeded') return undefined;
  const match = /holds (\d+) tokens/.exec(error.message);
  return match ? Number(match[1]) : undefined;
};

/**
 * Drops the oldest whole turn (a user message and the replies that follow
 * it) from the conversation, never the system prompt nor the last user
 * message. Returns how many messages went, 0 when nothing can go.
 */
export const dropOldestTurn = (messages: readonly ChatMessage[]): number => {
  const first = messages.findIndex((m) => m.role !== 'system');
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  if (first < 0 || first >= lastUser) return 0;
  let end = first + 1;
  while (end < lastUser && messages[end].role !== 'user') end++;
  return end - first;
};

const without = (messages: readonly ChatMessage[], count: number): ChatMessage[] => {
  const first = messages.findIndex((m) => m.role !== 'system');
  return [...messages.slice(0, first), ...messages.slice(first + count)];
};

export interface FittedReply {
  readonly result: GenerationResult;
  /** Conversation messages dropped from the front to make room (0 when it fitted). */
  readonly dropped: number;
  /** The model's context size, when it is known. */
  readonly contextSize?: number;
}

/**
 * Sends `request`, first dropping the oldest turns until the prompt and
 * the reply's budget fit `contextSize` (when known). A request that still
 * overflows teaches the context size (from the error) and is fitted and
 * sent again; it fails only when the last message alone does not fit.
 */
export const chatWithinContext = async (
  runtime: Pick<Runtime, 'chat' | 'countTokens'> & Partial<Pick<Runtime, 'ps'>>,
  request: ChatRequest,
  known?: number,
): Promise<FittedReply> => {
  let messages = [...request.messages];
  let contextSize = known;
  let dropped = 0;
  const drop = (): boolean => {
    const count = dropOldestTurn(messages);
    if (!count) return false;
    messages = without(messages, count);
    dropped += count;
    return true;
  };
  for (;;) {
    const maxTokens = request.maxTokens ?? replyBudget(contextSize);
    if (contextSize) {
      // Counting is cheap next to generating; a turn at a time keeps as much history as fits.
      while ((await runtime.countTokens({ ...request, messages, maxTokens })) + maxTokens > contextSize && drop());
    }
    try {
      const result = await runtime.chat({ ...request, messages, maxTokens });
      // Once the model is loaded, the runtime says its context size: later turns are fitted before they are sent.
      contextSize ??= (await runtime.ps?.().catch(() => []))?.find((m) => m.name === result.model)?.contextSize;
      return { result, dropped, contextSize };
    } catch (error) {
      if (request.signal?.aborted || !isAppError(error) || error.code !== 'context_length_exceeded') throw error;
      const learned = contextSizeOf(error);
      if (learned && learned !== contextSize) contextSize = learned;
      else if (!drop()) throw error;
    }
  }
};
