/**
 * What a model is, as the runtime's doors see it: its kind, engine and
 * family, what a listing says of it, and what a loaded one holds. The
 * store's manifest (src/store/types.ts) has more (files, layout, where it
 * lives); a remote runtime knows only what its server says.
 */

/** What a model does. */
export const modelKinds = ['llm', 'embedding', 'tts', 'asr', 'vad'] as const;
export type ModelKind = (typeof modelKinds)[number];

/** Which native package runs it. */
export const engineNames = ['llama-cpp', 'sherpa-onnx'] as const;
export type EngineName = (typeof engineNames)[number];

/**
 * The model family inside an engine: which sherpa-onnx config block it needs
 * (vits, kokoro, whisper, …) or `gguf` for node-llama-cpp.
 */
export const families = [
  'gguf',
  'vits',
  'kokoro',
  'kitten',
  'matcha',
  'whisper',
  'moonshine',
  'moonshine-v2',
  'sense-voice',
  'paraformer',
  'transducer',
  'nemo-transducer',
  'nemo-ctc',
  'zipformer-ctc',
  'streaming-transducer',
  'tdnn',
  'silero-vad',
  'ten-vad',
] as const;
export type Family = (typeof families)[number];

/** A named speaker of a tts model. */
export interface ModelVoice {
  readonly name: string;
  readonly id: number;
  readonly language?: string;
  readonly gender?: 'female' | 'male';
}

/**
 * A model in a listing (`murmur list`, `/v1/models`, `/api/models`). Only
 * the name and kind are always known; a plain OpenAI-compatible server says
 * little more, so the rest is optional rather than made up.
 */
export interface ModelInfo {
  readonly name: string;
  readonly kind: ModelKind;
  readonly engine?: EngineName;
  readonly family?: Family;
  /** Where it came from: a catalog name, an hf: URI, a URL or a local path. */
  readonly source?: string;
  readonly description?: string;
  readonly license?: string;
  readonly languages?: readonly string[];
  /** Bytes on disk, when known. */
  readonly size?: number;
  readonly sampleRate?: number;
  readonly voices?: readonly ModelVoice[];
  readonly defaultVoice?: string;
  /** ISO 8601, when known. */
  readonly pulledAt?: string;
  /**
   * Set when the daemon refuses the model because it crashed its engine too
   * many times in a row: why, until it is pulled again or the daemon restarts.
   */
  readonly broken?: string;
  /** The upstreams a routed model runs on (comma-separated replicas); absent for a model served here. */
  readonly upstream?: string;
}

export interface LoadOptions {
  /** ms; -1 keeps it loaded forever, 0 unloads it after the next request. Defaults to config.keepAliveMs. */
  readonly keepAliveMs?: number;
  readonly signal?: AbortSignal;
}

export interface LoadedModel {
  readonly name: string;
  readonly kind: ModelKind;
  /** Bytes of memory the model holds (RAM + VRAM), as the engine last reported it. */
  readonly memoryBytes: number;
  /** Of memoryBytes, those on a GPU; absent when none are. */
  readonly vramBytes?: number;
  /** Requests running now. */
  readonly inFlight: number;
  /** The engine process serving it, when it runs in one of its own (MURMUR_ISOLATION=process). */
  readonly pid?: number;
  /** Requests waiting for a free slot. */
  readonly queued: number;
  /** Tokens one request can hold (prompt and reply), for a language model. */
  readonly contextSize?: number;
  readonly loadedAt: Date;
  /** When it will be unloaded if unused; null when kept forever. */
  readonly expiresAt: Date | null;
  /** The upstream it was loaded on, for a routed model (routing-runtime.ts); an OpenAI upstream loads its models itself, and this says only where it runs. */
  readonly upstream?: string;
  /** False where the upstream says nothing of what it holds (an OpenAI server): memory and expiry are unknown. */
  readonly known?: boolean;
}

/** An engine that died under a model (the daemon logs it and counts a restart). */
export interface EngineCrash {
  readonly model: string;
  /** What happened: an exit code or signal, or why it was killed. */
  readonly reason: string;
  /** Crashes in a row so far (a request served in between resets it). */
  readonly inARow: number;
  /** Whether the model is now refused until it is pulled again or the daemon restarts. */
  readonly broken: boolean;
}

/** How a runtime's engines have fared since it started. */
export interface EngineHealth {
  /** Engine crashes (each followed by a fresh load) by model. */
  readonly restarts: ReadonlyMap<string, number>;
  /** Models refused as broken, with the last crash's reason. */
  readonly broken: ReadonlyMap<string, string>;
}
