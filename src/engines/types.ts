import type { ModelKind } from '../catalog/schema.js';
import type { InstalledModel } from '../store/types.js';
import type {
  ChatRequest,
  CompletionRequest,
  EmbedResult,
  GenerationResult,
} from '../runtime/types.js';

/**
 * The small interfaces every engine implements. The model manager only knows
 * EngineHandle (memory and dispose), so speech engines plug in beside the
 * LLM engine without it changing.
 */

/** A loaded model, whatever engine runs it. */
export interface EngineHandle {
  readonly kind: ModelKind;
  /** Bytes of memory held (weights plus contexts, RAM + VRAM), as the engine estimates it. */
  readonly memoryBytes: number;
  /** Frees everything the model holds. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface EngineLoadOptions {
  readonly signal?: AbortSignal;
}

/** Loads an installed model into an engine. */
export type EngineFactory<H extends EngineHandle = EngineHandle> = (
  model: InstalledModel,
  options?: EngineLoadOptions,
) => Promise<H>;

/** What an engine returns from a generation; the runtime adds the model's name. */
export type EngineGeneration = Omit<GenerationResult, 'model'>;

export type EngineChatRequest = Omit<ChatRequest, 'model'>;
export type EngineCompletionRequest = Omit<CompletionRequest, 'model'>;

/** A language (or embedding) model loaded into an LLM engine. */
export interface LlmHandle extends EngineHandle {
  /** Tokens one request can hold (prompt plus reply). */
  readonly contextSize: number;
  chat(request: EngineChatRequest): Promise<EngineGeneration>;
  complete(request: EngineCompletionRequest): Promise<EngineGeneration>;
  embed(input: readonly string[], signal?: AbortSignal): Promise<Omit<EmbedResult, 'model'>>;
}

export type LlmEngineFactory = EngineFactory<LlmHandle>;
