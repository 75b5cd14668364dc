import type { EngineHandle } from '../types.js';

/*
 * The speech-to-text and voice-activity engine interfaces, and typed
 * declarations of the sherpa-onnx-node parts they use (the package ships
 * none). Only src/engines/speech/ creates sherpa objects.
 */

export interface AsrOptions {
  /** A language code the model knows; absent means the model's default (or auto-detection). */
  readonly language?: string;
  readonly task?: 'transcribe' | 'translate';
  readonly signal?: AbortSignal;
}

export interface AsrToken {
  readonly text: string;
  /** Seconds from the start of the samples given. */
  readonly start: number;
}

export interface AsrResult {
  readonly text: string;
  /** Tokens with their start times, when the model reports times. */
  readonly tokens?: readonly AsrToken[];
  /** The language the model detected or was told, when it says. */
  readonly lang?: string;
}

/**
 * One utterance decoded as it arrives, by a streaming model (see
 * AsrHandle.openStream). Asynchronous, so a stream can live in an engine
 * process; calls are answered in the order made.
 */
export interface AsrStream {
  /** Feeds samples (mono, at the rate given to openStream) and resolves with the text recognized so far. */
  accept(samples: Float32Array): Promise<string>;
  /**
   * Ends the utterance: decodes what is left (with a little trailing
   * silence, so the last word is not cut) and resolves with the final
   * result, token times in seconds from the stream's first sample. The
   * stream is closed after it.
   */
  finish(): Promise<AsrResult>;
  /** Frees the stream (safe twice, and after finish); later calls resolve with nothing fed. */
  close(): void;
}

/** A speech-to-text model loaded into sherpa-onnx (an OfflineRecognizer, or an OnlineRecognizer for a streaming one). */
export interface AsrHandle extends EngineHandle {
  readonly kind: 'asr';
  /** The rate the model's features are computed at; any input rate is accepted (resampled). */
  readonly sampleRate: number;
  /** Languages it accepts for `language` (empty: it takes none, e.g. a one-language model without the option). */
  readonly languages: readonly string[];
  /** Whether it can translate (multilingual whisper). */
  readonly canTranslate: boolean;
  /** Whether the model decodes as audio arrives (a streaming transducer), so `openStream` works. */
  readonly streaming: boolean;
  /** Decodes one utterance (mono, any rate; best under ~30 s). */
  transcribe(samples: Float32Array, sampleRate: number, options?: AsrOptions): Promise<AsrResult>;
  /**
   * Opens a stream for one utterance, fed at `sampleRate` Hz (any rate;
   * resampled inside). Throws AppError('not_supported') unless `streaming`.
   */
  openStream(sampleRate: number): AsrStream;
}

/** A stretch of speech found by a VoiceDetector; times in seconds of the input. */
export interface SpeechSegment {
  readonly start: number;
  readonly end: number;
  /** The segment's samples at `VAD_SAMPLE_RATE`, with a little audio either side. */
  readonly samples: Float32Array;
  /** Where `samples` begin, in seconds (a little before `start`). */
  readonly samplesStart: number;
}

/**
 * One pass of voice-activity detection over a stream (stateful; make one per
 * file). Asynchronous, so a detector can live in an engine process.
 */
export interface VoiceDetector {
  /** Feeds samples at the rate given to `open` (resampled inside) and resolves with the segments that closed. */
  accept(samples: Float32Array): Promise<SpeechSegment[]>;
  /**
   * As accept, and says whether speech is under way after these samples
   * (and since when, in seconds of the stream, once it was first detected):
   * what turn detection needs to say "speech started" before it ends.
   */
  listen(samples: Float32Array): Promise<VoiceUpdate>;
  /** Ends the stream; resolves with the segments still open. */
  flush(): Promise<SpeechSegment[]>;
  /** Frees the native detector. */
  close(): void;
}

/** What a detector knows after some samples: the segments that closed, and whether one is open. */
export interface VoiceUpdate {
  readonly segments: SpeechSegment[];
  readonly speaking: boolean;
  /** When the open segment's speech was first detected, in seconds of the stream (while speaking). */
  readonly speechStart?: number;
}

/** How a detector cuts speech (vad.ts's VadSettings): what a session's turn detection may change. */
export interface VoiceDetectorSettings {
  /** Speech probability above which a window is speech (0–1). */
  readonly threshold: number;
  /** Seconds of silence that end a segment. */
  readonly minSilenceDuration: number;
  /** Shorter bursts are ignored, in seconds. */
  readonly minSpeechDuration: number;
  /** Longer speech is split, in seconds. */
  readonly maxSpeechDuration: number;
  /** Seconds of audio kept before and after each segment's samples. */
  readonly padding: number;
}

/** A VAD model (silero, ten-vad) loaded once; `open` makes a detector per stream. */
export interface VadHandle extends EngineHandle {
  readonly kind: 'vad';
  /** The rate segments come out at (16 kHz). */
  readonly sampleRate: number;
  open(inputSampleRate: number, settings?: Partial<VoiceDetectorSettings>): VoiceDetector;
}

/* ------------------------------------------------ sherpa-onnx-node parts */

export interface SherpaOfflineResult {
  readonly text: string;
  readonly lang?: string;
  readonly tokens?: readonly string[];
  readonly timestamps?: readonly number[];
}

export interface SherpaOfflineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}

export interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream;
  decodeAsync(stream: SherpaOfflineStream): Promise<SherpaOfflineResult>;
  setConfig(config: unknown): void;
  readonly config: unknown;
}

/** What OnlineRecognizer.getResult returns (streaming-asr.js parses the addon's JSON). */
export interface SherpaOnlineResult {
  readonly text: string;
  readonly tokens?: readonly string[];
  /** Seconds from the start of the stream, one per token. */
  readonly timestamps?: readonly number[];
}

export interface SherpaOnlineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
  /** No more audio will come: the features' last frames are computed. */
  inputFinished(): void;
}

/** sherpa-onnx-node's OnlineRecognizer (streaming-asr.js); decoding is synchronous. */
export interface SherpaOnlineRecognizer {
  createStream(): SherpaOnlineStream;
  /** Whether a whole chunk of features is waiting to be decoded. */
  isReady(stream: SherpaOnlineStream): boolean;
  /** Decodes one chunk. */
  decode(stream: SherpaOnlineStream): void;
  getResult(stream: SherpaOnlineStream): SherpaOnlineResult;
  reset(stream: SherpaOnlineStream): void;
}

export interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  /** Whether the detector is inside speech now. */
  isDetected(): boolean;
  front(enableExternalBuffer?: boolean): { start: number; samples: Float32Array };
  pop(): void;
  flush(): void;
  reset(): void;
}

export interface SherpaLinearResampler {
  resample(samples: Float32Array): Float32Array;
  flush(samples: Float32Array): Float32Array;
}

export interface SherpaSpeech {
  OfflineRecognizer: { createAsync(config: unknown): Promise<SherpaOfflineRecognizer> };
  OnlineRecognizer: new (config: unknown) => SherpaOnlineRecognizer;
  Vad: new (config: unknown, bufferSizeInSeconds: number) => SherpaVad;
  LinearResampler: new (inputRate: number, outputRate: number) => SherpaLinearResampler;
}
