import type { GenerationResult, TokenLogprob, Usage } from '../../types/chat.js';
import type { ChatCompletionChunk } from './chat-response.js';
import type { TextCompletion } from './completions.js';
import { fromChatLogprobs, fromCompletionLogprobs } from './logprobs.js';
import { createToolCallJoiner } from './tool-calls.js';
import { fromFinishReason, fromUsageBody, toUsageBody, type DeepPartial, type Envelope, type UsageBody } from './wire.js';

/*
 * Streams of chat and text completions, both ways: the usage chunk that
 * ends a stream asked for with `stream_options.include_usage`, and a reader
 * that joins a stream's chunks back into a core result.
 */

/** Which OpenAI response a generation comes back as. */
export type GenerationKind = 'chat' | 'completion';

export interface UsageChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk' | 'text_completion';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: null;
  readonly choices: readonly never[];
  readonly usage: UsageBody;
}

/** The last chunk of a stream asked for with `stream_options.include_usage`: no choices, the usage. */
export const toUsageChunk = (envelope: Envelope, object: UsageChunk['object'], usage: Usage): UsageChunk => ({
  id: envelope.id,
  object,
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [],
  usage: toUsageBody(usage),
});

export interface GenerationStreamReader {
  /** Takes one chunk (a parsed `data:` payload other than [DONE]); returns its text, empty when it has none. */
  push(chunk: DeepPartial<ChatCompletionChunk | TextCompletion>): string;
  /** The log probabilities of the last chunk pushed, when it carried any. */
  readonly lastLogprobs: readonly TokenLogprob[] | undefined;
  /** The thought (reasoning_content) the last chunk pushed carried; empty when none. */
  readonly lastThought: string;
  /** The result so far, less the timings the caller measures. Without a usage chunk, completion tokens are the pieces counted. */
  result(): Omit<GenerationResult, 'timings'>;
}

/** A reader of one chat or text completion stream; `fallbackModel` names the model until a chunk does. */
export const createGenerationStreamReader = (kind: GenerationKind, fallbackModel: string): GenerationStreamReader => {
  let text = '';
  let model = fallbackModel;
  let finish: string | null | undefined;
  let usage: DeepPartial<UsageBody> | null | undefined;
  let pieces = 0;
  let logprobs: TokenLogprob[] | undefined;
  let last: TokenLogprob[] | undefined;
  let reasoning = '';
  let lastThought = '';
  const calls = createToolCallJoiner();
  return {
    get lastLogprobs() {
      return last;
    },
    get lastThought() {
      return lastThought;
    },
    push(chunk) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = chunk.usage;
      last = undefined;
      lastThought = '';
      const choice = chunk.choices?.[0] as DeepPartial<ChatCompletionChunk['choices'][number]> & DeepPartial<TextCompletion['choices'][number]> | undefined;
      if (!choice) return '';
      const some = kind === 'chat' ? fromChatLogprobs((choice as DeepPartial<ChatCompletionChunk['choices'][number]>).logprobs) : fromCompletionLogprobs((choice as DeepPartial<TextCompletion['choices'][number]>).logprobs);
      if (some) {
        last = some;
        (logprobs ??= []).push(...some);
      }
      lastThought = (kind === 'chat' ? choice.delta?.reasoning_content : undefined) ?? '';
      reasoning += lastThought;
      const piece = (kind === 'chat' ? choice.delta?.content : choice.text) ?? '';
      if (piece) {
        pieces += 1;
        text += piece;
      }
      calls.push(choice.delta?.tool_calls);
      if (choice.finish_reason) finish = choice.finish_reason;
      return piece;
    },
    result: () => ({
      model,
      text,
      ...(reasoning ? { reasoning } : {}),
      toolCalls: calls.calls(),
      finishReason: fromFinishReason(finish),
      usage: fromUsageBody(usage, pieces),
      ...(logprobs ? { logprobs } : {}),
    }),
  };
};
