import type { FinishReason, GenerationResult, TokenLogprob } from '../../types/chat.js';
import { fromChatLogprobs, toChatLogprobs, type ChatLogprobsBody } from './logprobs.js';
import { fromToolCallBodies, toToolCallBodies, type ToolCallBody, type ToolCallDelta } from './tool-calls.js';
import { fromFinishReason, fromUsageBody, sumUsage, toUsageBody, type DeepPartial, type Envelope, type UsageBody } from './wire.js';

/*
 * The answers of `POST /v1/chat/completions`, both ways: a `chat.completion`
 * and the `chat.completion.chunk`s of a stream as the server writes them,
 * and a whole completion read back into a core result (RemoteRuntime; the
 * stream reader is in generation-stream.ts).
 */

export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    /** reasoning_content: a thinking model's thought, where llama-server, vLLM and DeepSeek put it. */
    readonly message: { readonly role: 'assistant'; readonly content: string | null; readonly reasoning_content?: string; readonly refusal: null; readonly tool_calls?: readonly ToolCallBody[] };
    readonly logprobs: ChatLogprobsBody | null;
    readonly finish_reason: string | null;
  }[];
  readonly usage: UsageBody;
  readonly system_fingerprint: string | null;
}

export interface ChatDelta {
  readonly role?: 'assistant';
  readonly content?: string | null;
  readonly reasoning_content?: string;
  readonly tool_calls?: readonly ToolCallDelta[];
}

export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string | null;
  readonly choices: readonly { readonly index: number; readonly delta: ChatDelta; readonly logprobs: ChatLogprobsBody | null; readonly finish_reason: string | null }[];
  /** Present (null) on every chunk when usage is asked for; the last chunk, without choices, carries it. */
  readonly usage?: UsageBody | null;
}

/** One choice of a `chat.completion`; `logprobs` when the result has them (they were asked for). */
const toChatChoice = (result: GenerationResult, index: number): ChatCompletion['choices'][number] => {
  const calls = result.toolCalls?.length ? result.toolCalls : undefined;
  return {
    index,
    message: {
      role: 'assistant',
      content: calls && !result.text ? null : result.text,
      ...(result.reasoning ? { reasoning_content: result.reasoning } : {}),
      refusal: null,
      ...(calls ? { tool_calls: toToolCallBodies(calls) } : {}),
    },
    logprobs: result.logprobs ? toChatLogprobs(result.logprobs) : null,
    finish_reason: result.finishReason,
  };
};

/** A non-streamed `chat.completion`: one choice per result (`n`), usage over all of them. */
export const toChatCompletion = (envelope: Envelope, results: GenerationResult | readonly GenerationResult[]): ChatCompletion => {
  const all: readonly GenerationResult[] = Array.isArray(results) ? results : [results as GenerationResult];
  return {
    id: envelope.id,
    object: 'chat.completion',
    created: envelope.created,
    model: all[0]?.model || envelope.model,
    choices: all.map(toChatChoice),
    usage: toUsageBody(sumUsage(all)),
    system_fingerprint: null,
  };
};

/** Which choice a chunk belongs to (`n`), and its tokens' log probabilities when they were asked for. */
export interface ChunkChoice {
  readonly index?: number;
  readonly logprobs?: readonly TokenLogprob[];
}

/** One `chat.completion.chunk`; `usage` is null on every chunk but the last when usage is asked for. */
export const toChatChunk = (envelope: Envelope, delta: ChatDelta, finishReason: FinishReason | null, includeUsage: boolean, choice: ChunkChoice = {}): ChatCompletionChunk => ({
  id: envelope.id,
  object: 'chat.completion.chunk',
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [{ index: choice.index ?? 0, delta, logprobs: choice.logprobs ? toChatLogprobs(choice.logprobs) : null, finish_reason: finishReason }],
  ...(includeUsage ? { usage: null } : {}),
});

/** A whole chat completion as a core result, less the timings the caller measures; `fallbackModel` names a model the body does not. */
export const fromChatCompletion = (body: DeepPartial<ChatCompletion>, fallbackModel: string): Omit<GenerationResult, 'timings'> => {
  const choice = body.choices?.[0];
  const logprobs = fromChatLogprobs(choice?.logprobs);
  return {
    model: body.model ?? fallbackModel,
    text: choice?.message?.content ?? '',
    ...(choice?.message?.reasoning_content ? { reasoning: choice.message.reasoning_content } : {}),
    toolCalls: fromToolCallBodies(choice?.message?.tool_calls),
    finishReason: fromFinishReason(choice?.finish_reason),
    usage: fromUsageBody(body.usage),
    ...(logprobs ? { logprobs } : {}),
  };
};
