/**
 * Chat and text-generation types: what a conversation, a sampling request
 * and a generation's result are, whatever door they came through (CLI,
 * OpenAI, future dialects) and whatever engine answers them.
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as a JSON text, as OpenAI sends them. */
  readonly arguments: string;
}

export interface ChatMessage {
  readonly role: Role;
  readonly content: string;
  /** Calls the assistant made (role 'assistant'). */
  readonly toolCalls?: readonly ToolCall[];
  /** The call this message answers (role 'tool'). */
  readonly toolCallId?: string;
}

export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** Refuse arguments schemas with keywords the grammar cannot enforce (OpenAI's strict function calling). */
  readonly strict?: boolean;
}

export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  /** `strict`: refuse a schema whose keywords cannot all be enforced, rather than enforce what can be and check the rest after. */
  | { readonly type: 'json_schema'; readonly schema: Readonly<Record<string, unknown>>; readonly name?: string; readonly strict?: boolean };

/**
 * What absent sampling options mean in the core, and so for the CLI: greedy
 * decoding, and top-p 0.95 once a temperature is set. The OpenAI door fills
 * in OpenAI's own defaults (temperature 1, top_p 1) before a request reaches
 * the core; RemoteRuntime sends these explicitly so a daemon does the same.
 */
export const CORE_SAMPLING_DEFAULTS = { temperature: 0, topP: 0.95 } as const;

export interface SamplingOptions {
  /** 0 picks the likeliest token each time; absent: CORE_SAMPLING_DEFAULTS. */
  readonly temperature?: number;
  readonly topP?: number;
  /** Draws from the k likeliest tokens only (0: from all of them); absent: 40, node-llama-cpp's default. */
  readonly topK?: number;
  /** Absent: a fresh random seed per generation. */
  readonly seed?: number;
  /**
   * Tokens one request may hold, prompt and reply (Ollama's num_ctx): less
   * than the model was loaded with narrows it; more cannot widen it.
   */
  readonly contextTokens?: number;
  /** Tokens to generate at most; undefined means until the context is full or the model stops. */
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
  /** OpenAI's presence_penalty (-2 to 2): subtracted from the logit of every token already generated. */
  readonly presencePenalty?: number;
  /** OpenAI's frequency_penalty (-2 to 2): subtracted from a token's logit once per time it was generated. */
  readonly frequencyPenalty?: number;
  /** OpenAI's logit_bias: token id (as a decimal string) → -100 to 100, added to that token's logit; -100 bans it. */
  readonly logitBias?: Readonly<Record<string, number>>;
  /** Report each generated token's log probability, with this many likeliest alternatives (0–20). */
  readonly logprobs?: number;
}

/** One token's text and bytes with its log probability (natural log). */
export interface TokenChoice {
  readonly token: string;
  readonly logprob: number;
  /** The UTF-8 bytes of `token`. */
  readonly bytes: readonly number[];
}

/**
 * A generated token with the likeliest tokens at its place (most likely
 * first). Probabilities are those of the distribution the token was drawn
 * from: the model's, after logit_bias and penalties, then (at a temperature
 * above 0) top-k (40 unless the request says), top_p and temperature.
 */
export interface TokenLogprob extends TokenChoice {
  readonly top: readonly TokenChoice[];
}

export interface GenerationCallbacks {
  /** Called with each piece of text as it is generated, and its tokens' log probabilities when they were asked for. */
  readonly onToken?: (text: string, logprobs?: readonly TokenLogprob[]) => void;
  /** Called with each piece of a thinking model's thought, which is not part of the text. */
  readonly onThought?: (text: string) => void;
  readonly signal?: AbortSignal;
}

export interface ChatRequest extends SamplingOptions, GenerationCallbacks {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly responseFormat?: ResponseFormat;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: 'auto' | 'none' | 'required' | { readonly name: string };
  /**
   * Whether a model with a thinking mode (Qwen3, DeepSeek R1…) thinks before
   * it answers: absent leaves it to the model, false skips the thought (a
   * budget of 0 thought tokens), true asks for one and is refused by a model
   * that has no thinking mode.
   */
  readonly think?: boolean;
  /** At most this many tokens of thought before the answer (Anthropic's budget_tokens); absent: no bound but max_tokens. */
  readonly thoughtTokens?: number;
}

export interface CompletionRequest extends SamplingOptions, GenerationCallbacks {
  readonly model: string;
  readonly prompt: string;
  /** Text that comes after the completion: the model fills in the middle, where it has the tokens for it. */
  readonly suffix?: string;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface GenerationTimings {
  /** From the call to the first generated token, in ms. */
  readonly firstTokenMs: number;
  readonly totalMs: number;
  /** Completion tokens per second of generation (after the first token). */
  readonly tokensPerSecond: number;
}

export interface GenerationResult {
  /** The model that answered (its store name). */
  readonly model: string;
  readonly text: string;
  /** What a thinking model thought before it answered; absent when it did not think. */
  readonly reasoning?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason: FinishReason;
  /** The stop sequence (one of the request's `stop`) that ended the text, when one did; absent where the runtime cannot tell. */
  readonly stopSequence?: string;
  readonly usage: Usage;
  readonly timings: GenerationTimings;
  /** Each token of `text` with its log probability, when the request asked for them. */
  readonly logprobs?: readonly TokenLogprob[];
}

/** A text to embed, or its token ids. */
export type EmbedInput = string | readonly number[];

/** Vectors come back L2-normalized (unit length), as OpenAI's and Ollama's /api/embed do. */
export interface EmbedRequest {
  readonly model: string;
  readonly input: readonly EmbedInput[];
  /** Cut an input longer than the model embeds to its first tokens, rather than refuse it (Ollama's default). */
  readonly truncate?: boolean;
  /** Keep the first this many dimensions, normalized again (OpenAI's and Ollama's `dimensions`, for Matryoshka-trained models). */
  readonly dimensions?: number;
  readonly signal?: AbortSignal;
}

export interface EmbedResult {
  readonly model: string;
  readonly embeddings: readonly (readonly number[])[];
  readonly usage: { readonly promptTokens: number; readonly totalTokens: number };
}
