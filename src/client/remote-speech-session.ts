import { fromErrorBody, isOpenAIErrorBody } from '../api/openai/errors.js';
import type { SessionAudioDelta, SessionAudioDone, SessionObject } from '../api/murmur/speech-sessions.js';
import { createS16leReader } from '../audio/pcm.js';
import { AppError } from '../errors.js';
import type { SpeechSession, SpeechSessionOptions, SpeechSummary } from '../runtime/speech-session.js';
import type { SpeechChunk, SpeechProgress } from '../types/speech.js';
import { readSseData } from './event-stream.js';
import type { Send } from './remote-speech.js';

/**
 * A speech session on a murmur daemon, through its HTTP door
 * (`/v1/audio/speech/sessions`): appends go out in order as small POSTs,
 * the audio comes back as pcm at the voice's own rate over SSE, so the
 * chunks are the ones a LocalRuntime session would make. The daemon splits
 * the text; nothing is batched here.
 */
export const openRemoteSpeech = async (send: Send, options: SpeechSessionOptions): Promise<SpeechSession> => {
  const created = (await (
    await send(
      'POST',
      '/v1/audio/speech/sessions',
      {
        ...(options.model ? { model: options.model } : {}),
        ...(options.voice ? { voice: options.voice } : {}),
        ...(options.speed !== undefined ? { speed: options.speed } : {}),
        response_format: 'pcm',
        sample_rate: 'native',
      },
      options.signal,
    )
  ).json()) as SessionObject;
  const path = `/v1/audio/speech/sessions/${encodeURIComponent(created.id)}`;
  const sampleRate = created.sample_rate ?? 24_000;
  const reading = new AbortController();
  let state: SpeechProgress['state'] = 'open';
  let characters = 0;
  let seconds = 0;
  let failure: unknown;
  let finished!: (summary: SpeechSummary) => void;
  let failed!: (error: unknown) => void;
  const done = new Promise<SpeechSummary>((resolve, reject) => ((finished = resolve), (failed = reject)));
  done.catch(() => undefined);
  const opened = performance.now();
  let firstAudioMs: number | undefined;

  // Requests go out one after another, so the daemon sees the text in order.
  let chain: Promise<unknown> = Promise.resolve();
  const later = (method: string, suffix: string, body?: unknown) => {
    chain = chain
      .then(async () => {
        if (failure !== undefined) return;
        const res = await send(method, `${path}${suffix}`, body);
        await res.body?.cancel().catch(() => undefined);
      })
      .catch((error: unknown) => {
        if (state !== 'cancelled') failure ??= error;
      });
  };

  const cancel = () => {
    if (state === 'cancelled' || state === 'done' || state === 'failed') return;
    state = 'cancelled';
    reading.abort();
    void send('DELETE', path).then((res) => res.body?.cancel(), () => undefined);
  };
  options.signal?.addEventListener('abort', cancel, { once: true });

  async function* chunks(): AsyncGenerator<SpeechChunk> {
    let samples = 0;
    try {
      const res = await send('GET', `${path}/audio?stream_format=sse`, undefined, reading.signal);
      const pcm = createS16leReader();
      for await (const data of readSseData(res.body!)) {
        const event = JSON.parse(data) as SessionAudioDelta | SessionAudioDone | object;
        if (isOpenAIErrorBody(event)) throw fromErrorBody(500, event);
        if ('type' in event && event.type === 'speech.audio.delta') {
          const audio = pcm.push(Buffer.from(event.audio, 'base64'));
          if (!audio.length) continue;
          firstAudioMs ??= performance.now() - opened;
          yield { samples: audio, sampleRate, text: event.text, offsetSamples: samples, offsetMs: event.offset_ms };
          samples += audio.length;
          seconds = samples / sampleRate;
        } else if ('type' in event && event.type === 'speech.audio.done') {
          break;
        }
      }
      await chain;
      if (failure !== undefined) throw failure;
      if (state !== 'cancelled') state = 'done';
      finished({ characters, samples, seconds, ...(firstAudioMs !== undefined ? { firstAudioMs } : {}), cancelled: state === 'cancelled' });
    } catch (error) {
      if (state === 'cancelled') {
        finished({ characters, samples, seconds, cancelled: true });
        return;
      }
      state = 'failed';
      failed(error);
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      // A reader that leaves early ends the session.
      if (state === 'open' || state === 'closing') cancel();
    }
  }

  return {
    model: created.model ?? undefined,
    voice: created.voice ?? undefined,
    sampleRate,
    progress: () => ({ state, characters, seconds }),
    append(text) {
      if (state === 'cancelled') return;
      if (state !== 'open') throw new AppError('session_conflict', 'The speech session is closed; it takes no more text.', { hint: 'Open a new session.' });
      if (!text) return;
      characters += text.length;
      later('POST', '/input', { text });
    },
    flush() {
      if (state === 'open') later('POST', '/input', { text: '', flush: true });
    },
    close() {
      if (state !== 'open') return;
      state = 'closing';
      later('POST', '/close');
    },
    cancel,
    done,
    [Symbol.asyncIterator]: chunks,
  };
};
