import { concatFloat32, createS16leReader } from '../audio/pcm.js';
import { AppError } from '../errors.js';
import { fromErrorBody } from '../server/errors.js';
import type { SpeakRequest, SpeakResult } from '../types/speech.js';
import { readSseData } from './event-stream.js';

/** How RemoteRuntime sends a request (and turns an error status into an AppError). */
export type Send = (method: string, path: string, body?: unknown, signal?: AbortSignal) => Promise<Response>;

interface DeltaEvent {
  readonly type: 'speech.audio.delta';
  readonly audio: string;
  readonly text?: string;
}

interface DoneEvent {
  readonly type: 'speech.audio.done';
  readonly model?: string;
  readonly voice?: string;
  readonly sample_rate?: number;
  readonly characters?: number;
  readonly timings?: { first_audio_ms?: number; total_ms?: number; real_time_factor?: number };
}

/**
 * Speaks through a daemon's `POST /v1/audio/speech` with 16-bit PCM over
 * SSE: each `speech.audio.delta` is one sentence's audio (murmur adds its
 * text), delivered through onAudio as it arrives; `speech.audio.done`
 * carries murmur's result fields. Against a plain OpenAI-compatible server
 * the sample rate comes from the X-Sample-Rate header, else OpenAI's 24 kHz.
 */
export const remoteSpeak = async (send: Send, request: SpeakRequest): Promise<SpeakResult> => {
  const started = performance.now();
  const body = {
    ...(request.model ? { model: request.model } : {}),
    input: request.text,
    ...(request.voice ? { voice: request.voice } : {}),
    ...(request.speed !== undefined ? { speed: request.speed } : {}),
    response_format: 'pcm',
    stream_format: 'sse',
  };
  const res = await send('POST', '/v1/audio/speech', body, request.signal);
  let sampleRate = Number(res.headers.get('X-Sample-Rate')) || 24_000;
  const parts: Float32Array[] = [];
  let firstAudioMs: number | undefined;
  let made = 0;
  let done: DoneEvent | undefined;
  const pcm = createS16leReader();
  for await (const data of readSseData(res.body!)) {
    if (data === '[DONE]') break;
    const event = JSON.parse(data) as DeltaEvent | DoneEvent | { error?: unknown };
    if ('error' in event && event.error) throw fromErrorBody(500, event);
    if ('type' in event && event.type === 'speech.audio.delta') {
      const samples = pcm.push(Buffer.from(event.audio, 'base64'));
      if (!samples.length) continue;
      firstAudioMs ??= performance.now() - started;
      made += samples.length;
      if (!request.onAudio) parts.push(samples);
      request.onAudio?.({ samples, sampleRate, text: event.text ?? '' });
    } else if ('type' in event && event.type === 'speech.audio.done') {
      done = event;
      if (event.sample_rate) sampleRate = event.sample_rate;
    }
  }
  if (!done) throw new AppError('internal', 'The daemon ended the speech stream without finishing it.');
  const samples = concatFloat32(parts);
  const totalMs = performance.now() - started;
  const seconds = made / sampleRate;
  return {
    model: done.model ?? request.model ?? '',
    voice: done.voice ?? request.voice ?? '',
    sampleRate,
    samples,
    sampleCount: made,
    characters: done.characters ?? request.text.length,
    timings: {
      firstAudioMs: firstAudioMs ?? totalMs,
      totalMs,
      realTimeFactor: seconds > 0 ? totalMs / 1000 / seconds : 0,
    },
  };
};
