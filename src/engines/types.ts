import type { ModelKind } from '../types/models.js';
import type { InstalledModel } from '../store/types.js';
import type { ChatRequest, CompletionRequest, EmbedInput, EmbedResult, GenerationResult } from '../types/chat.js';

/**
 * The small interfaces every engine implements. The model manager only knows
 * EngineHandle (memory and dispose), so speech engines plug in beside the
 * LLM engine without it changing.
 */

/** What an engine measures of a loaded model now. */
export interface EngineStats {
  /** Bytes of memory held (weights plus contexts, RAM + VRAM), as the engine estimates it. */
  readonly memoryBytes: number;
  /** Of memoryBytes, those on a GPU (absent or 0 on the CPU). */
  readonly vramBytes?: number;
}

/**
 * A loaded model, whatever engine runs it and wherever (this process or a
 * child). Requests and results crossing it are plain data, so a handle can
 * be a proxy to another process: the only functions are streaming
 * callbacks, and signals stand for cancel messages.
 */
export interface EngineHandle {
  readonly kind: ModelKind;
  /** The engine process's id, when the model runs in one of its own. */
  readonly pid?: number;
  /** Asks the engine what it holds now (a child process answers over its channel). */
  stats(): Promise<EngineStats>;
  /**
   * Settles with the reason when the engine dies under the handle (its
   * process exited); absent or never settling for an engine in this
   * process. The model manager then evicts the model and fails its calls
   * with AppError('engine_crashed').
   */
  readonly died?: Promise<Error>;
  /** Frees everything the model holds. Safe to call twice, and after a death. */
  dispose(): Promise<void>;
}

export interface EngineLoadOptions {
  readonly signal?: AbortSignal;
}

/** Picks the engine factory that runs an installed model (src/engines/registry.ts by default). */
export type EngineResolver = (model: InstalledModel) => EngineFactory;

/** Loads an installed model into an engine. */
export type EngineFactory<H extends EngineHandle = EngineHandle> = (
  model: InstalledModel,
  options?: EngineLoadOptions,
) => Promise<H>;

/** What an engine returns from a generation; the runtime adds the model's name. */
export type EngineGeneration = Omit<GenerationResult, 'model'>;

export type EngineChatRequest = Omit<ChatRequest, 'model'>;
export type EngineCompletionRequest = Omit<CompletionRequest, 'model'>;

export interface EmbedOptions {
  /** Cut an input past the model's length to its first tokens instead of refusing it. */
  readonly truncate?: boolean;
}

/** A language (or embedding) model loaded into an LLM engine. */
export interface LlmHandle extends EngineHandle {
  /** Tokens one request can hold (prompt plus reply). */
  readonly contextSize: number;
  chat(request: EngineChatRequest): Promise<EngineGeneration>;
  complete(request: EngineCompletionRequest): Promise<EngineGeneration>;
  /** The tokens a chat request's prompt takes, rendered as a generation would. */
  countTokens(request: EngineChatRequest): Promise<number>;
  /** Embeds texts, or token ids (checked against the vocabulary). */
  embed(input: readonly EmbedInput[], signal?: AbortSignal, options?: EmbedOptions): Promise<Omit<EmbedResult, 'model'>>;
}

export type LlmEngineFactory = EngineFactory<LlmHandle>;
