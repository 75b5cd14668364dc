import { z } from 'zod';
import { encodedRate } from '../../audio/encode.js';
import type { AudioFormat } from '../../audio/formats.js';
import { outputRateFor, speechFormatOf } from '../openai/speech.js';
import { AppError } from '../../errors.js';
import type { SpeechProgress } from '../../types/speech.js';

/*
 * The WebSocket speech stream (`/v1/audio/speech/stream`), both ways: the
 * query that opens it, the JSON messages a client sends, and the events it
 * gets back, named in the style of OpenAI's Realtime API. A socket carries
 * several contexts, each with its own voice and queue, so a client can
 * prepare the next turn while one plays.
 */

/** The context a message without `context_id` is about. */
export const DEFAULT_CONTEXT = 'default';
/** Subprotocol prefix that carries the key from a browser, which cannot set headers on a WebSocket. */
export const KEY_PROTOCOL_PREFIX = 'murmur-key.';

const contextId = z.string().min(1).max(64);

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('input_text.append'),
    text: z.string(),
    context_id: contextId.optional(),
    // A new context may take its own voice, model and pace; they are ignored once it exists.
    voice: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    speed: z.number().optional(),
  }),
  z.object({ type: z.literal('input_text.flush'), context_id: contextId.optional() }),
  z.object({ type: z.literal('context.close'), context_id: contextId.optional() }),
  z.object({ type: z.literal('context.cancel'), context_id: contextId.optional() }),
  z.object({ type: z.literal('session.close') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

const messageTypes = clientMessageSchema.options.map((o) => o.shape.type.value);

/** Parses one text frame; AppError('invalid_request') naming what is wrong (the socket stays open). */
export const fromClientMessage = (data: string): ClientMessage => {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    throw new AppError('invalid_request', 'The message is not JSON.', { hint: 'Send JSON text frames such as {"type":"input_text.append","text":"Hello."}.' });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('invalid_request', 'A message must be a JSON object with a "type".', { param: 'type' });
  }
  const type = (raw as { type?: unknown }).type;
  if (type === undefined) throw new AppError('invalid_request', `The message has no "type"; known: ${messageTypes.join(', ')}.`, { param: 'type' });
  if (typeof type !== 'string' || !messageTypes.includes(type as never)) {
    throw new AppError('invalid_request', `Unknown message type ${JSON.stringify(type ?? null)}; known: ${messageTypes.join(', ')}.`, { param: 'type' });
  }
  const parsed = clientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('invalid_request', `Invalid '${issue.path.join('.') || 'message'}' in ${type}: ${issue.message}.`, { param: String(issue.path[0] ?? '') || undefined });
  }
  return parsed.data;
};

export interface StreamPlan {
  readonly model?: string;
  readonly voice?: string;
  readonly format: AudioFormat;
  /** Audio in binary frames (each after its JSON `audio.delta`, which then has no `audio`). */
  readonly binary: boolean;
  readonly outputRate?: number;
}

/** The socket's settings from its URL query (`model`, `voice`, `response_format`, `sample_rate`, `binary`). */
export const fromStreamQuery = (query: (name: string) => string | undefined): StreamPlan => {
  const format = speechFormatOf(query('response_format') || 'pcm');
  const rawRate = query('sample_rate');
  const rate = rawRate === undefined || rawRate === 'native' ? rawRate : Number(rawRate);
  if (typeof rate === 'number' && !(Number.isInteger(rate) && rate >= 8000 && rate <= 48_000)) {
    throw new AppError('invalid_request', `Invalid sample_rate '${rawRate}': 8000 to 48000 Hz, or native.`, { param: 'sample_rate' });
  }
  const outputRate = outputRateFor(format, rate);
  const model = query('model') || undefined;
  const voice = query('voice') || undefined;
  return { ...(model ? { model } : {}), ...(voice ? { voice } : {}), format, binary: query('binary') === 'true', ...(outputRate ? { outputRate } : {}) };
};

export interface AudioDeltaEvent {
  readonly type: 'audio.delta';
  readonly context_id: string;
  readonly text: string;
  readonly offset_ms: number;
  /** The rate of the encoded audio, in Hz. */
  readonly sample_rate: number;
  /** Base64 of the encoded audio; absent when it follows as a binary frame. */
  readonly audio?: string;
}

export const toAudioDelta = (contextId: string, bytes: Uint8Array, text: string, offsetMs: number, sampleRate: number, binary: boolean): AudioDeltaEvent => ({
  type: 'audio.delta',
  context_id: contextId,
  text,
  offset_ms: offsetMs,
  sample_rate: sampleRate,
  ...(binary ? {} : { audio: Buffer.from(bytes).toString('base64') }),
});

export const toContextDone = (contextId: string, progress: SpeechProgress) => {
  const output = Math.ceil(progress.seconds * 50);
  return {
    type: 'context.done' as const,
    context_id: contextId,
    cancelled: progress.state === 'cancelled',
    usage: { input_tokens: progress.characters, output_tokens: output, total_tokens: progress.characters + output },
    seconds: Math.round(progress.seconds * 1000) / 1000,
  };
};

/** The first event: what the socket speaks with (the default model and voice, and the rate its audio comes at). */
export const toStreamCreated = (plan: StreamPlan, voice: { readonly model?: string; readonly voice?: string; readonly sampleRate?: number }) => ({
  type: 'session.created' as const,
  model: voice.model ?? plan.model ?? null,
  voice: voice.voice ?? plan.voice ?? null,
  response_format: plan.format,
  sample_rate: voice.sampleRate ? encodedRate(plan.format, voice.sampleRate, plan.outputRate) : (plan.outputRate ?? null),
  binary: plan.binary,
});

export const toErrorEvent = (error: AppError | Error, contextId?: string) => ({
  type: 'error' as const,
  code: error instanceof AppError ? error.code : 'internal',
  message: error instanceof AppError ? error.message : 'Internal error.',
  ...(error instanceof AppError && error.param ? { param: error.param } : {}),
  ...(contextId ? { context_id: contextId } : {}),
});
