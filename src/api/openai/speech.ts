import { z } from 'zod';
import { AUDIO_FORMATS, isAudioFormat, type AudioFormat } from '../../audio/formats.js';
import { AppError } from '../../errors.js';
import type { SpeakRequest } from '../../types/speech.js';

/*
 * The body of `POST /v1/audio/speech`, both ways: the schema and what a
 * route needs from it (the core request, the audio format, the stream
 * format and the rate to encode at), and the body for a core SpeakRequest
 * (RemoteRuntime). The events of an SSE answer are in speech-events.ts.
 */

/** OpenAI's `pcm`: 16-bit little-endian mono at 24 kHz, whatever rate the voice speaks at. */
export const OPENAI_PCM_RATE = 24_000;

/** The response header naming the rate of the audio in the body (murmur's; raw pcm says nothing of its own rate). */
export const SAMPLE_RATE_HEADER = 'X-Sample-Rate';

export const speechSchema = z.object({
  // OpenAI requires it; murmur falls back to its default voice model.
  model: z.string().min(1).nullish(),
  input: z.string(),
  voice: z.union([z.string(), z.object({ id: z.string() })]).nullish(),
  response_format: z.string().nullish(),
  speed: z.number().nullish(),
  instructions: z.string().nullish(),
  stream_format: z.enum(['audio', 'sse']).nullish(),
  /**
   * murmur's: the rate to encode at, in Hz, or 'native' for the voice's own
   * rate. Default: 24000 for pcm (as OpenAI's), 'native' for the others
   * (mp3 and opus then take a rate of theirs near it; see EncoderOptions).
   */
  sample_rate: z.union([z.literal('native'), z.number().int().min(8000).max(48_000)]).nullish(),
});
/** A validated speech request. */
export type SpeechRequest = z.infer<typeof speechSchema>;

/** What a speech route does, read from a validated body. */
export interface SpeechPlan {
  /** The core request, without its callbacks and signal. */
  readonly request: Omit<SpeakRequest, 'onAudio' | 'signal'>;
  readonly format: AudioFormat;
  /** Server-sent events (`speech.audio.delta` / `.done`) instead of a raw audio body. */
  readonly sse: boolean;
  /** The rate to encode at (EncoderOptions.outputRate); undefined is the voice's own. */
  readonly outputRate?: number;
}

/** A `response_format` (default mp3); AppError('invalid_request') naming the formats otherwise. */
export const speechFormatOf = (raw: string | null | undefined): AudioFormat => {
  const format = raw ?? 'mp3';
  if (isAudioFormat(format)) return format;
  throw new AppError('invalid_request', `Unsupported response_format '${format}'; murmur encodes ${AUDIO_FORMATS.join(', ')}.`, { param: 'response_format' });
};

/** A route's plan for a validated speech request. */
export const fromSpeechRequest = (body: SpeechRequest): SpeechPlan => {
  const format = speechFormatOf(body.response_format);
  const voice = typeof body.voice === 'object' && body.voice ? body.voice.id : (body.voice ?? undefined);
  const outputRate = outputRateFor(format, body.sample_rate);
  return {
    request: { model: body.model ?? undefined, text: body.input, voice, speed: body.speed ?? undefined },
    format,
    sse: body.stream_format === 'sse',
    ...(outputRate ? { outputRate } : {}),
  };
};

/** The rate to encode at for murmur's `sample_rate` (absent: 24 kHz for pcm, as OpenAI's; the voice's own for the rest); undefined is the voice's own. */
export const outputRateFor = (format: AudioFormat, sampleRate: number | 'native' | null | undefined): number | undefined => {
  const rate = sampleRate ?? (format === 'pcm' ? OPENAI_PCM_RATE : 'native');
  return rate === 'native' ? undefined : rate;
};

export interface SpeechBodyOptions {
  readonly format: AudioFormat;
  readonly stream?: 'audio' | 'sse';
  /** murmur's `sample_rate`; absent leaves the server's default. */
  readonly sampleRate?: number | 'native';
}

/** The request body for a core SpeakRequest. */
export const toSpeechRequest = (request: SpeakRequest, options: SpeechBodyOptions): z.input<typeof speechSchema> => ({
  ...(request.model ? { model: request.model } : {}),
  input: request.text,
  ...(request.voice ? { voice: request.voice } : {}),
  ...(request.speed !== undefined ? { speed: request.speed } : {}),
  response_format: options.format,
  ...(options.stream ? { stream_format: options.stream } : {}),
  ...(options.sampleRate !== undefined ? { sample_rate: options.sampleRate } : {}),
});
