/** Text-to-speech types: requests, the audio they make, and voices. */

/** A piece of synthesized audio: mono float samples in [-1, 1]. */
export interface AudioChunk {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** The sentence (or text piece) these samples say. */
  readonly text: string;
}

export interface SpeakRequest {
  /** A tts model; the default voice model when absent. */
  readonly model?: string;
  readonly text: string;
  /** A voice name of the model (`murmur speak --voices`); its default when absent. */
  readonly voice?: string;
  /** 0.25–4.0; 1 is the model's natural pace. */
  readonly speed?: number;
  /**
   * Called with each sentence's audio as soon as it is synthesized, in order.
   * When given, the result holds no samples (they were delivered here), so a
   * long text streams in bounded memory.
   */
  readonly onAudio?: (chunk: AudioChunk) => void;
  readonly signal?: AbortSignal;
}

export interface SpeakResult {
  readonly model: string;
  readonly voice: string;
  readonly sampleRate: number;
  /** Every sample, concatenated; empty when the request streamed them through onAudio. */
  readonly samples: Float32Array;
  /** Samples of audio made in all (whether kept in `samples` or streamed). */
  readonly sampleCount: number;
  readonly characters: number;
  readonly timings: {
    /** From the call to the first audio chunk, in ms. */
    readonly firstAudioMs: number;
    readonly totalMs: number;
    /** Synthesis time / audio duration (below 1 is faster than real time). */
    readonly realTimeFactor: number;
  };
}

export interface VoiceInfo {
  readonly name: string;
  readonly id: number;
  readonly language?: string;
  readonly gender?: string;
}

export interface VoiceList {
  readonly model: string;
  readonly voices: readonly VoiceInfo[];
  readonly defaultVoice?: string;
}

/** A chunk of a speech session's audio, placed in the session's timeline. */
export interface SpeechChunk extends AudioChunk {
  /** Where the chunk starts in the session's audio, in samples (at `sampleRate`) and ms. */
  readonly offsetSamples: number;
  readonly offsetMs: number;
}

/** Where a speech session stands. */
export interface SpeechProgress {
  readonly state: 'open' | 'closing' | 'done' | 'cancelled' | 'failed';
  /** Characters taken in so far. */
  readonly characters: number;
  /** Seconds of audio made so far. */
  readonly seconds: number;
}
