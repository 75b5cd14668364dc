import { z } from 'zod';
import type { AudioFormat } from '../../audio/formats.js';
import { outputRateFor, speechFormatOf } from '../openai/speech.js';
import { AppError } from '../../errors.js';
import type { SpeechProgress } from '../../types/speech.js';

/*
 * murmur's speech sessions over HTTP (`/v1/audio/speech/sessions`), both
 * ways: the create and input bodies, the session object, and the events of
 * its audio stream with `stream_format=sse`. Names follow OpenAI's speech
 * API (`response_format`, `speech.audio.delta`), as satellites written for
 * it expect.
 */

export const createSessionSchema = z.object({
  model: z.string().min(1).nullish(),
  voice: z.string().min(1).nullish(),
  speed: z.number().nullish(),
  response_format: z.string().nullish(),
  /** murmur's, as on /v1/audio/speech: a rate in Hz, or 'native'. Default: 24000 for pcm, the voice's own otherwise. */
  sample_rate: z.union([z.literal('native'), z.number().int().min(8000).max(48_000)]).nullish(),
});
export type CreateSessionBody = z.infer<typeof createSessionSchema>;

export const sessionInputSchema = z.object({
  text: z.string().optional(),
  /** Speak what is buffered now, even mid-sentence. */
  flush: z.boolean().nullish(),
});
export type SessionInputBody = z.infer<typeof sessionInputSchema>;

/** What a route needs from a create body. */
export interface SessionPlan {
  readonly model?: string;
  readonly voice?: string;
  readonly speed?: number;
  readonly format: AudioFormat;
  /** The rate to encode at; undefined is the voice's own. */
  readonly outputRate?: number;
}

/** The session's plan; its audio keeps to the rules of /v1/audio/speech (pcm at 24 kHz unless `sample_rate` says otherwise). */
export const fromCreateSession = (body: CreateSessionBody): SessionPlan => {
  const format = speechFormatOf(body.response_format);
  const outputRate = outputRateFor(format, body.sample_rate);
  return {
    ...(body.model ? { model: body.model } : {}),
    ...(body.voice ? { voice: body.voice } : {}),
    ...(body.speed !== null && body.speed !== undefined ? { speed: body.speed } : {}),
    format,
    ...(outputRate ? { outputRate } : {}),
  };
};

/** An input body as the text to append and whether to flush; an empty append that flushes nothing is refused. */
export const fromSessionInput = (body: SessionInputBody): { readonly text: string; readonly flush: boolean } => {
  if (!body.text && !body.flush) {
    throw new AppError('invalid_request', "The append is empty: 'text' has no characters and 'flush' is not set.", { param: 'text', hint: 'Send some text, or {"flush": true} to speak what is buffered.' });
  }
  return { text: body.text ?? '', flush: body.flush === true };
};

export interface SessionObject {
  readonly id: string;
  readonly object: 'speech.session';
  readonly model: string | null;
  readonly voice: string | null;
  readonly sample_rate: number | null;
  readonly response_format: AudioFormat;
  /** Unix seconds: when it expires if it stays idle (no input and no reader). */
  readonly expires_at: number;
  readonly state: SpeechProgress['state'];
  /** Characters taken in. */
  readonly characters: number;
  /** Seconds of audio made. */
  readonly seconds: number;
}

export interface SessionFacts {
  readonly id: string;
  readonly model?: string;
  readonly voice?: string;
  readonly sampleRate?: number;
  readonly format: AudioFormat;
  readonly expiresAt: Date;
  readonly progress: SpeechProgress;
}

export const toSessionObject = (facts: SessionFacts): SessionObject => ({
  id: facts.id,
  object: 'speech.session',
  model: facts.model ?? null,
  voice: facts.voice ?? null,
  sample_rate: facts.sampleRate ?? null,
  response_format: facts.format,
  expires_at: Math.floor(facts.expiresAt.getTime() / 1000),
  state: facts.progress.state,
  characters: facts.progress.characters,
  seconds: Math.round(facts.progress.seconds * 1000) / 1000,
});

/** One chunk of a session's audio as an SSE event: the encoded bytes, the text they say and where they start. */
export interface SessionAudioDelta {
  readonly type: 'speech.audio.delta';
  readonly audio: string;
  readonly text: string;
  readonly offset_ms: number;
}

export interface SessionAudioDone {
  readonly type: 'speech.audio.done';
  /** True when the session was cancelled (DELETE) rather than finished. */
  readonly cancelled: boolean;
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number; readonly total_tokens: number };
  readonly characters: number;
  readonly seconds: number;
}

export const toSessionDelta = (bytes: Uint8Array, text: string, offsetMs: number): SessionAudioDelta => ({
  type: 'speech.audio.delta',
  audio: Buffer.from(bytes).toString('base64'),
  text,
  offset_ms: offsetMs,
});

/** 50 audio tokens a second, as murmur counts /v1/audio/speech. */
export const toSessionDone = (progress: SpeechProgress): SessionAudioDone => {
  const output = Math.ceil(progress.seconds * 50);
  return {
    type: 'speech.audio.done',
    cancelled: progress.state === 'cancelled',
    usage: { input_tokens: progress.characters, output_tokens: output, total_tokens: progress.characters + output },
    characters: progress.characters,
    seconds: Math.round(progress.seconds * 1000) / 1000,
  };
};
