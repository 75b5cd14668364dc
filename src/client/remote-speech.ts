import { fromErrorBody, isOpenAIErrorBody } from '../api/openai/errors.js';
import { OPENAI_PCM_RATE, SAMPLE_RATE_HEADER, toSpeechRequest } from '../api/openai/speech.js';
import { fromSpeechDelta, isSpeechEvent, type SpeechAudioDelta, type SpeechAudioDone } from '../api/openai/speech-events.js';
import { STREAM_DONE } from '../api/openai/wire.js';
import { concatFloat32, createS16leReader } from '../audio/pcm.js';
import { AppError } from '../errors.js';
import type { SpeakRequest, SpeakResult } from '../types/speech.js';
import { readSseData } from './event-stream.js';

/** How RemoteRuntime sends a request (and turns an error status into an AppError). */
export type Send = (method: string, path: string, body?: unknown, signal?: AbortSignal) => Promise<Response>;

/**
 * Speaks through a daemon's `POST /v1/audio/speech` with 16-bit PCM over
 * SSE at the voice's own rate (murmur's `sample_rate: "native"`, so the
 * samples are the ones LocalRuntime would make): each `speech.audio.delta`
 * is one sentence's audio (murmur adds its text), delivered through onAudio
 * as it arrives; `speech.audio.done` carries murmur's result fields. The
 * rate is read from the X-Sample-Rate header (and the done event), else
 * OpenAI's pcm rate, 24 kHz.
 */
export const remoteSpeak = async (send: Send, request: SpeakRequest): Promise<SpeakResult> => {
  const started = performance.now();
  const res = await send('POST', '/v1/audio/speech', toSpeechRequest(request, { format: 'pcm', stream: 'sse', sampleRate: 'native' }), request.signal);
  let sampleRate = Number(res.headers.get(SAMPLE_RATE_HEADER)) || OPENAI_PCM_RATE;
  const parts: Float32Array[] = [];
  let firstAudioMs: number | undefined;
  let made = 0;
  let done: SpeechAudioDone | undefined;
  const pcm = createS16leReader();
  for await (const data of readSseData(res.body!)) {
    if (data === STREAM_DONE) break;
    const event = JSON.parse(data) as unknown;
    if (isOpenAIErrorBody(event)) throw fromErrorBody(500, event);
    if (isSpeechEvent<SpeechAudioDelta>(event, 'speech.audio.delta')) {
      const { audio, text } = fromSpeechDelta(event);
      const samples = pcm.push(audio);
      if (!samples.length) continue;
      firstAudioMs ??= performance.now() - started;
      made += samples.length;
      if (!request.onAudio) parts.push(samples);
      request.onAudio?.({ samples, sampleRate, text });
    } else if (isSpeechEvent<SpeechAudioDone>(event, 'speech.audio.done')) {
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
