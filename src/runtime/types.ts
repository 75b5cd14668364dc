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

export interface Runtime extends AsyncDisposable, SpeechRuntime {
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
  /** Models whose load is in flight now (for the daemon's /health); absent on runtimes that cannot tell. */
  loading?(): string[];
  pull(ref: string, options?: PullOptions): Promise<InstalledModel>;
  remove(name: string): Promise<void>;
}

/* ---------------------------------------------------------------- speech */

/** A piece of synthesized audio: mono float samples in [-1, 1]. */
export interface AudioChunk {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** The sentence (or text piece) these samples say. */
  readonly text: string;
}

export interface SpeakRequest {
  /** A tts model; the catalog's default voice model when absent. */
  readonly model?: string;
  readonly text: string;
  /** A voice name of the model (`murmur speak --voices`); its default when absent. */
  readonly voice?: string;
  /** 0.25–4.0; 1 is the model's natural pace. */
  readonly speed?: number;
  /** Called with each sentence's audio as soon as it is synthesized, in order. */
  readonly onAudio?: (chunk: AudioChunk) => void;
  readonly signal?: AbortSignal;
}

export interface SpeakResult {
  readonly model: string;
  readonly voice: string;
  readonly sampleRate: number;
  /** Every sample, concatenated (also delivered piecewise through onAudio). */
  readonly samples: Float32Array;
  readonly characters: number;
  readonly timings: {
    /** From the call to the first audio chunk, in ms. */
    readonly firstAudioMs: number;
    readonly totalMs: number;
    /** Synthesis time / audio duration (below 1 is faster than real time). */
    readonly realTimeFactor: number;
  };
}

export interface VoiceList {
  readonly model: string;
  readonly voices: readonly { readonly name: string; readonly id: number; readonly language?: string; readonly gender?: string }[];
  readonly defaultVoice?: string;
}

/** Audio to transcribe: a file on disk, its bytes, or a byte stream such as stdin (any container murmur can decode). */
export type AudioInput =
  | { readonly path: string }
  | { readonly bytes: Uint8Array; readonly filename?: string }
  | { readonly stream: AsyncIterable<Uint8Array>; readonly filename?: string };

export interface TranscriptWord {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

export interface TranscriptSegment {
  readonly id: number;
  /** Seconds from the start of the audio. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly words?: readonly TranscriptWord[];
}

export interface TranscribeRequest {
  /** An asr model; the catalog's default transcriber when absent. */
  readonly model?: string;
  readonly input: AudioInput;
  /** A language code the model knows (whisper, sense-voice); auto-detected when absent. */
  readonly language?: string;
  /** Whisper can translate into English. */
  readonly task?: 'transcribe' | 'translate';
  /** Cut long audio into speech segments first (default: on). A model name picks the VAD model. */
  readonly vad?: boolean | string;
  readonly prompt?: string;
  /** Called with each segment as soon as it is decoded, in order. */
  readonly onSegment?: (segment: TranscriptSegment) => void;
  readonly signal?: AbortSignal;
}

export interface TranscribeResult {
  readonly model: string;
  readonly text: string;
  readonly language?: string;
  /** Seconds of audio. */
  readonly duration: number;
  readonly segments: readonly TranscriptSegment[];
  readonly timings: { readonly totalMs: number; readonly realTimeFactor: number };
}

/** The speech half of the Runtime; LocalRuntime and RemoteRuntime implement it alongside the text half. */
export interface SpeechRuntime {
  speak(request: SpeakRequest): Promise<SpeakResult>;
  voices(model?: string): Promise<VoiceList[]>;
  transcribe(request: TranscribeRequest): Promise<TranscribeResult>;
}
