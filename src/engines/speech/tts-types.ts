import type { EngineHandle } from '../types.js';

/**
 * The text-to-speech engine's interface, and typed declarations for the
 * parts of sherpa-onnx-node it uses (the package ships no types; these
 * follow its types.js and non-streaming-tts.js as of 1.13.8).
 */

/** One voice of a loaded TTS model. */
export interface TtsVoice {
  /** The name users pass to --voice (from the manifest, else `speaker-N`). */
  readonly name: string;
  /** The speaker id inside the model. */
  readonly id: number;
  readonly language?: string;
  readonly gender?: 'female' | 'male';
}

export interface SynthesizeOptions {
  /** Speaker id (see TtsHandle.voices); default 0. */
  readonly sid?: number;
  /** 1 is the model's natural pace; larger is faster. */
  readonly speed?: number;
  readonly signal?: AbortSignal;
}

/** A loaded TTS model. */
export interface TtsHandle extends EngineHandle {
  readonly kind: 'tts';
  /** Output sample rate in Hz. */
  readonly sampleRate: number;
  /** Every voice the model has, in speaker-id order where known. */
  readonly voices: readonly TtsVoice[];
  /** The voice used when none is asked for. */
  readonly defaultVoice: string;
  /** How many speakers the model holds (sherpa-onnx's numSpeakers): any id below it is a voice, named or not. */
  readonly speakerCount?: number;
  /**
   * Synthesizes `text` to mono float samples at `sampleRate`, off the event
   * loop. Text the voice cannot say yields an empty array, not an error.
   */
  synthesize(text: string, options?: SynthesizeOptions): Promise<Float32Array>;
}

/* ------------------------------------------------ sherpa-onnx-node (partial) */

export interface SherpaVitsConfig {
  model: string;
  tokens: string;
  lexicon?: string;
  dataDir?: string;
  noiseScale?: number;
  noiseScaleW?: number;
  lengthScale?: number;
}

export interface SherpaMatchaConfig {
  acousticModel: string;
  vocoder: string;
  tokens: string;
  lexicon?: string;
  dataDir?: string;
  noiseScale?: number;
  lengthScale?: number;
}

export interface SherpaKokoroConfig {
  model: string;
  voices: string;
  tokens: string;
  dataDir?: string;
  lexicon?: string;
  lang?: string;
  lengthScale?: number;
}

export interface SherpaKittenConfig {
  model: string;
  voices: string;
  tokens: string;
  dataDir?: string;
  lengthScale?: number;
}

export interface SherpaOfflineTtsConfig {
  model: {
    vits?: SherpaVitsConfig;
    matcha?: SherpaMatchaConfig;
    kokoro?: SherpaKokoroConfig;
    kitten?: SherpaKittenConfig;
    numThreads?: number;
    debug?: boolean | number;
    provider?: string;
  };
  /** Comma-separated FST files for text normalization (numbers, dates, phone numbers). */
  ruleFsts?: string;
  ruleFars?: string;
  /** Sentences sherpa-onnx synthesizes per batch; murmur splits sentences itself. */
  maxNumSentences?: number;
  silenceScale?: number;
}

export interface SherpaGeneratedAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

export interface SherpaTtsRequest {
  text: string;
  sid: number;
  speed: number;
  enableExternalBuffer?: boolean;
  /** Called with audio as it is produced; returning 0 or false stops generation. */
  onProgress?: (info: { samples: Float32Array; progress: number }) => number | boolean | void;
}

export interface SherpaOfflineTts {
  readonly numSpeakers: number;
  readonly sampleRate: number;
  /** Synchronous; crashes the process (SIGSEGV) on text that maps to no tokens, so murmur never calls it. */
  generate(request: SherpaTtsRequest): SherpaGeneratedAudio;
  /** Runs on a libuv worker thread; rejects with 'TTS generation produced no audio' on unsayable text. */
  generateAsync(request: SherpaTtsRequest): Promise<SherpaGeneratedAudio>;
}

export interface SherpaTtsModule {
  OfflineTts: {
    new (config: SherpaOfflineTtsConfig): SherpaOfflineTts;
    createAsync?(config: SherpaOfflineTtsConfig): Promise<SherpaOfflineTts>;
  };
}
