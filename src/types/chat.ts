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
}

export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly schema: Readonly<Record<string, unknown>>; readonly name?: string };

export interface SamplingOptions {
  readonly temperature?: number;
  readonly topP?: number;
  readonly seed?: number;
  /** Tokens to generate at most; undefined means until the context is full or the model stops. */
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
}

export interface GenerationCallbacks {
  /** Called with each piece of text as it is generated. */
  readonly onToken?: (text: string) => void;
  readonly signal?: AbortSignal;
}

export interface ChatRequest extends SamplingOptions, GenerationCallbacks {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly responseFormat?: ResponseFormat;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: 'auto' | 'none' | 'required' | { readonly name: string };
}

export interface CompletionRequest extends SamplingOptions, GenerationCallbacks {
  readonly model: string;
  readonly prompt: string;
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
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timings: GenerationTimings;
}

export interface EmbedRequest {
  readonly model: string;
  readonly input: readonly string[];
  readonly signal?: AbortSignal;
}

export interface EmbedResult {
  readonly model: string;
  readonly embeddings: readonly (readonly number[])[];
  readonly usage: { readonly promptTokens: number; readonly totalTokens: number };
}
