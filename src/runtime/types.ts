import type { Config } from '../config.js';
import type { ModelKind } from '../catalog/schema.js';
import type { InstalledModel, PullOptions } from '../store/types.js';

/**
 * The Runtime: what both doors (commands/ and server/) are written against.
 * LocalRuntime runs the engines in this process; RemoteRuntime speaks to a
 * murmur daemon (or any OpenAI-compatible server) over HTTP. Every call takes
 * an AbortSignal; streaming is through callbacks (onToken).
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

export interface GenerationResult {
  /** The model that answered (its store name). */
  readonly model: string;
  readonly text: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timings: {
    /** From the call to the first generated token, in ms. */
    readonly firstTokenMs: number;
    readonly totalMs: number;
    /** Completion tokens per second of generation (after the first token). */
    readonly tokensPerSecond: number;
  };
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

export interface LoadOptions {
  /** ms; -1 keeps it loaded forever, 0 unloads it after the next request. Defaults to config.keepAliveMs. */
  readonly keepAliveMs?: number;
  readonly signal?: AbortSignal;
}

export interface LoadedModel {
  readonly name: string;
  readonly kind: ModelKind;
  /** Bytes of memory the model holds (RAM + VRAM), as the engine reports it. */
  readonly memoryBytes: number;
  /** Requests running now. */
  readonly inFlight: number;
  /** Requests waiting for a free slot. */
  readonly queued: number;
  readonly loadedAt: Date;
  /** When it will be unloaded if unused; null when kept forever. */
  readonly expiresAt: Date | null;
}

export interface Runtime extends AsyncDisposable {
  readonly config: Config;
  /** Models installed in the store. */
  listModels(): Promise<InstalledModel[]>;
  getModel(name: string): Promise<InstalledModel>;
  chat(request: ChatRequest): Promise<GenerationResult>;
  complete(request: CompletionRequest): Promise<GenerationResult>;
  embed(request: EmbedRequest): Promise<EmbedResult>;
  load(name: string, options?: LoadOptions): Promise<LoadedModel>;
  /** Unloads the named models (all when `names` is 'all'); returns the names unloaded. */
  unload(names: readonly string[] | 'all'): Promise<string[]>;
  ps(): Promise<LoadedModel[]>;
  pull(ref: string, options?: PullOptions): Promise<InstalledModel>;
  remove(name: string): Promise<void>;
}
