/** Audio formats murmur writes (OpenAI's `response_format` values for speech). */
export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'opus' | 'pcm';

export interface EncoderOptions {
  /** Rate of the samples that will be pushed, in Hz. */
  sampleRate: number;
  /**
   * Rate to encode at, when it should differ from the input (the daemon asks
   * for 24000 on pcm, as OpenAI defines it). Codecs with a fixed set of
   * rates pick one they support: mp3 the lowest at or above it, opus it
   * when it is an Opus rate, else 48000.
   */
  outputRate?: number;
  /** Target bitrate in bits/s for mp3 and opus (defaults: 64 kb/s mp3, 32 kb/s opus). */
  bitrate?: number;
}

/**
 * A streaming mono encoder. Bytes come out chunk by chunk as audio is
 * pushed, so an HTTP route can send them as they come; concatenating every
 * push() and the end() gives a complete file.
 */
export interface AudioEncoder {
  readonly format: AudioFormat;
  readonly contentType: string;
  /** Rate of the encoded audio in Hz; may differ from the input (opus → 48000, pcm → outputRate). */
  readonly sampleRate: number;
  /** Encodes float samples in [-1, 1]; returns the bytes ready now (may be empty). */
  push(samples: Float32Array): Uint8Array;
  /** Finishes the stream and returns the remaining bytes; frees the codec. */
  end(): Uint8Array;
  /** Frees the codec without finishing (a client went away). Safe after end(). */
  dispose(): void;
}
