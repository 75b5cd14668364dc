/** Speech-to-text types: audio in, transcripts out. */

/**
 * Audio to transcribe: a file on disk, its bytes, or a byte stream such as
 * stdin (any container murmur can decode). `filename` names the audio in
 * messages (an upload stored under a temporary name keeps the client's).
 */
export type AudioInput =
  | { readonly path: string; readonly filename?: string }
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
  /** An asr model; the default transcriber when absent. */
  readonly model?: string;
  readonly input: AudioInput;
  /** A language code the model knows (whisper, sense-voice); auto-detected when absent. */
  readonly language?: string;
  /** Whisper can translate into English. */
  readonly task?: 'transcribe' | 'translate';
  /** Cut long audio into speech segments first (default: on). A model name picks the VAD model. */
  readonly vad?: boolean | string;
  readonly prompt?: string;
  /**
   * Word times are required (OpenAI's `timestamp_granularities[]=word`): a
   * model that gives none for speech it transcribed is refused
   * (AppError('not_supported')) instead of answering without them.
   */
  readonly requireWords?: boolean;
  /** Called with each segment as soon as it is decoded, in order. */
  readonly onSegment?: (segment: TranscriptSegment) => void;
  readonly signal?: AbortSignal;
}

export interface TranscribeResult {
  readonly model: string;
  readonly text: string;
  /** The language asked for, else the one the model detected, else the model's own when it has one. */
  readonly language?: string;
  /** Seconds of audio. */
  readonly duration: number;
  readonly segments: readonly TranscriptSegment[];
  readonly timings: { readonly totalMs: number; readonly realTimeFactor: number };
}
