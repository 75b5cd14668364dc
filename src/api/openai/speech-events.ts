import type { SpeakResult } from '../../types/speech.js';

/*
 * The server-sent events of `POST /v1/audio/speech` with
 * `stream_format: "sse"`, both ways: `speech.audio.delta` (base64 audio)
 * and `speech.audio.done` (usage), as OpenAI defines them, with murmur's
 * additions: each delta's sentence `text`, and the result's model, voice,
 * sample rate, characters and timings on `done`. OpenAI clients ignore the
 * additions; RemoteRuntime rebuilds a SpeakResult from them.
 */

export interface SpeechAudioDelta {
  readonly type: 'speech.audio.delta';
  /** Base64 of the encoded audio (for pcm: s16le samples). */
  readonly audio: string;
  /** murmur's: the sentence this audio starts to say. */
  readonly text?: string;
}

export interface SpeechUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
}

export interface SpeechAudioDone {
  readonly type: 'speech.audio.done';
  readonly usage: SpeechUsage;
  // murmur's additions:
  readonly model?: string;
  readonly voice?: string;
  /** The rate of the audio the deltas carried (the encoder's, not necessarily the voice's). */
  readonly sample_rate?: number;
  readonly characters?: number;
  readonly timings?: { readonly first_audio_ms?: number; readonly total_ms?: number; readonly real_time_factor?: number };
}

/** OpenAI counts audio output in tokens; murmur reports 50 per second of audio, a comparable scale. */
const AUDIO_TOKENS_PER_SECOND = 50;

const usageOf = (result: SpeakResult): SpeechUsage => {
  const input = result.characters;
  const output = result.sampleRate > 0 ? Math.ceil((result.sampleCount / result.sampleRate) * AUDIO_TOKENS_PER_SECOND) : 0;
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
};

/** A delta for encoded audio bytes. */
export const toSpeechDelta = (bytes: Uint8Array, text?: string): SpeechAudioDelta => ({
  type: 'speech.audio.delta',
  audio: Buffer.from(bytes).toString('base64'),
  ...(text ? { text } : {}),
});

/** The closing event; `sampleRate` is the rate the deltas were encoded at. */
export const toSpeechDone = (result: SpeakResult, sampleRate: number): SpeechAudioDone => ({
  type: 'speech.audio.done',
  usage: usageOf(result),
  model: result.model,
  voice: result.voice,
  sample_rate: sampleRate,
  characters: result.characters,
  timings: { first_audio_ms: result.timings.firstAudioMs, total_ms: result.timings.totalMs, real_time_factor: result.timings.realTimeFactor },
});

/** A delta's audio bytes. */
export const fromSpeechDelta = (event: SpeechAudioDelta): { readonly audio: Uint8Array; readonly text: string } => ({
  audio: Buffer.from(event.audio, 'base64'),
  text: event.text ?? '',
});

/** True for a speech stream's event of `type`. */
export const isSpeechEvent = <T extends SpeechAudioDelta | SpeechAudioDone>(value: unknown, type: T['type']): value is T =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
