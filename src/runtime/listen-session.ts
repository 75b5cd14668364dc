import type { AsrResult, AsrStream, SpeechSegment, VoiceDetector, VoiceDetectorSettings } from '../engines/speech/asr-types.js';
import { concatFloat32 } from '../audio/pcm.js';
import { createResampler, type Resampler } from '../audio/resample.js';
import { AppError } from '../errors.js';
import { createEventQueue } from './event-queue.js';

/**
 * A listening session: audio goes in as it is captured (frames at any
 * rate), turns come out. With turn detection (OpenAI's server_vad: a VAD
 * with a threshold, a prefix padding and a silence that ends a turn) the
 * session says when speech starts and stops and transcribes each turn as it
 * ends; without it (`turnDetection: null`) audio gathers until commit().
 * Times count from the session's first sample, in ms, as the Realtime API
 * counts them. Engine-agnostic: it is given a voice detector and a decode
 * function (the runtime leases the models).
 */

/** OpenAI's server_vad parameters. */
export interface TurnDetection {
  /** Speech probability above which audio is speech, 0–1; default 0.5. */
  readonly threshold?: number;
  /** Audio kept before the detected start of speech, in ms; default 300. */
  readonly prefixPaddingMs?: number;
  /** Silence that ends a turn, in ms; default 500. */
  readonly silenceDurationMs?: number;
}

export const DEFAULT_TURN_DETECTION: Required<TurnDetection> = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };

export type ListenEvent =
  | { readonly type: 'speech_started'; readonly turn: number; readonly audioStartMs: number }
  | { readonly type: 'speech_stopped'; readonly turn: number; readonly audioEndMs: number }
  /** The turn's audio is final and being transcribed. */
  | { readonly type: 'committed'; readonly turn: number; readonly audioStartMs: number; readonly audioEndMs: number }
  | {
      readonly type: 'transcript';
      readonly turn: number;
      readonly text: string;
      readonly language?: string;
      /** From the commit to the transcript, in ms. */
      readonly transcribeMs: number;
    }
  /** A streaming recognizer's text so far, while the turn is spoken: `delta` is what is new (the text may be revised: then `delta` is all of it). */
  | { readonly type: 'transcript_delta'; readonly turn: number; readonly delta: string; readonly text: string }
  | { readonly type: 'transcript_failed'; readonly turn: number; readonly error: Error }
  /** clear() dropped the audio not yet committed. */
  | { readonly type: 'cleared' };

/** What Runtime.openListen takes. */
export interface ListenOptions {
  /** The speech-to-text model (default MURMUR_ASR_MODEL, else the catalog's). */
  readonly model?: string;
  /** The VAD model for turn detection (default: the installed default VAD). */
  readonly vad?: string;
  /** OpenAI's server_vad parameters; null turns detection off (turns end on commit()). */
  readonly turnDetection?: TurnDetection | null;
  /** The spoken language, for models that take one. */
  readonly language?: string;
  readonly signal?: AbortSignal;
}

export interface ListenSession extends AsyncIterable<ListenEvent> {
  /** The speech-to-text model transcribing the turns. */
  readonly model: string;
  /** The VAD model detecting turns; absent without turn detection. */
  readonly vad?: string;
  /** Adds captured audio (mono float samples in [-1, 1] at `sampleRate`, 1,000–384,000 Hz). */
  push(samples: Float32Array, sampleRate: number): void;
  /**
   * Ends the turn now: without turn detection, the audio gathered since the
   * last commit; with it, the speech under way. AppError('invalid_request')
   * when there is less than 100 ms of audio to commit.
   */
  commit(): void;
  /** Drops the audio not yet committed. */
  clear(): void;
  /** Resolves once the audio pushed so far has been through turn detection (the transcripts of its turns may still be under way). */
  idle(): Promise<void>;
  /** Ends the session once the turns in hand are transcribed; the events end after them. */
  close(): Promise<void>;
}

export interface ListenSessionDeps {
  readonly model: string;
  readonly vad?: string;
  /** Opens a detector on 16 kHz input with these settings; absent: no turn detection. */
  readonly openDetector?: (settings: Partial<VoiceDetectorSettings>) => VoiceDetector;
  /** The rate the detector and the recognizer take (16 kHz). */
  readonly sampleRate: number;
  readonly turnDetection?: TurnDetection | null;
  /** Decodes one turn's samples at `sampleRate`. */
  readonly transcribe: (samples: Float32Array, signal: AbortSignal) => Promise<AsrResult>;
  /** A streaming recognizer's stream at `sampleRate`, for transcript deltas while a turn is spoken; absent: each turn is decoded whole. */
  readonly openStream?: () => AsrStream;
  readonly signal?: AbortSignal;
  /** Called once the session is over (the runtime releases its leases). */
  readonly onEnd?: () => void;
}

/** Less than this is nothing to transcribe (OpenAI refuses to commit under 100 ms too). */
const MIN_COMMIT_MS = 100;
/** The longest a turn may run before it is cut (and the longest manual buffer): a recognizer's window, with room. */
const MAX_TURN_SECONDS = 30;

export const createListenSession = (deps: ListenSessionDeps): ListenSession => {
  const rate = deps.sampleRate;
  const detection = deps.turnDetection === null ? undefined : { ...DEFAULT_TURN_DETECTION, ...deps.turnDetection };
  if (detection && !(detection.threshold >= 0 && detection.threshold <= 1)) throw new AppError('invalid_request', `turn_detection.threshold must be from 0 to 1, not ${detection.threshold}.`, { param: 'turn_detection.threshold' });
  if (detection && !(detection.silenceDurationMs >= 0)) throw new AppError('invalid_request', 'turn_detection.silence_duration_ms must be 0 or more.', { param: 'turn_detection.silence_duration_ms' });
  if (detection && !(detection.prefixPaddingMs >= 0)) throw new AppError('invalid_request', 'turn_detection.prefix_padding_ms must be 0 or more.', { param: 'turn_detection.prefix_padding_ms' });
  if (detection && !deps.openDetector) throw new AppError('internal', 'Turn detection needs a voice detector.');
  const detector =
    detection &&
    deps.openDetector!({
      threshold: detection.threshold,
      minSilenceDuration: Math.max(0.05, detection.silenceDurationMs / 1000),
      padding: detection.prefixPaddingMs / 1000,
      maxSpeechDuration: MAX_TURN_SECONDS - 1,
    });

  const stop = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, stop.signal]) : stop.signal;

  /* Events, read by one iterator. */
  const events = createEventQueue<ListenEvent>();
  let ended = false;
  let failure: Error | undefined;
  const emit = (event: ListenEvent) => events.push(event);

  /* The timeline: samples at `rate` since the session began. */
  let total = 0;
  const ms = (samples: number) => Math.round((samples / rate) * 1000);
  let resampler: Resampler | undefined;
  let inputRate: number | undefined;
  /** Without turn detection: what gathered since the last commit, and where it began. */
  let manual: Float32Array[] = [];
  let manualStart = 0;
  let manualLength = 0;

  /* Turns: numbered as speech starts (or on a manual commit); transcripts go out in order. */
  let turns = 0;
  let speaking: { turn: number; audioStartMs: number } | undefined;
  let transcripts: Promise<void> = Promise.resolve();
  let work: Promise<void> = Promise.resolve();

  /*
   * Streaming: the turn under way is fed to the recognizer as it is heard
   * (from its prefix padding on, kept in `recent`), its partial text goes
   * out as deltas, and its end finishes the stream instead of a decode.
   */
  let live: { turn: number; stream: AsrStream; text: string } | undefined;
  const recent: Float32Array[] = [];
  let recentLength = 0;
  const remember = (samples: Float32Array) => {
    recent.push(samples);
    recentLength += samples.length;
    while (recentLength - recent[0]!.length > rate) recentLength -= recent.shift()!.length;
  };
  /** The last `samples` samples heard (at most a second). */
  const lastHeard = (samples: number) => {
    const all = concatFloat32(recent);
    return all.subarray(Math.max(0, all.length - samples));
  };
  const feed = async (samples: Float32Array) => {
    if (!live || !samples.length) return;
    const current = live;
    const text = await current.stream.accept(samples);
    if (text === current.text) return;
    const delta = text.startsWith(current.text) ? text.slice(current.text.length) : text;
    current.text = text;
    emit({ type: 'transcript_delta', turn: current.turn, delta, text });
  };
  const openLive = async (turn: number, prefix: Float32Array) => {
    live = { turn, stream: deps.openStream!(), text: '' };
    await feed(prefix);
  };
  /** The turn's transcript from its stream (finished now) rather than a decode. */
  const finishLive = (turn: number) => {
    const current = live!;
    live = undefined;
    deliver(turn, current.stream.finish());
  };

  /** Sends a turn's transcript (or its failure) once it is in, after the turns before it. */
  const deliver = (turn: number, result: Promise<AsrResult>) => {
    const committedAt = performance.now();
    result.catch(() => undefined);
    transcripts = transcripts.then(async () => {
      try {
        const { text, lang } = await result;
        emit({ type: 'transcript', turn, text, ...(lang ? { language: lang } : {}), transcribeMs: Math.round(performance.now() - committedAt) });
      } catch (error) {
        if (!signal.aborted) emit({ type: 'transcript_failed', turn, error: error as Error });
      }
    });
  };

  const transcribeTurn = (turn: number, samples: Float32Array) => deliver(turn, deps.transcribe(samples, signal));

  /** A segment the detector closed: the end of a turn. */
  const segmentDone = (segment: SpeechSegment) => {
    const turn = speaking?.turn ?? ++turns;
    const audioStartMs = Math.max(0, Math.round(segment.start * 1000) - detection!.prefixPaddingMs);
    if (!speaking) emit({ type: 'speech_started', turn, audioStartMs });
    speaking = undefined;
    const audioEndMs = Math.min(ms(total), Math.round(segment.end * 1000) + detection!.silenceDurationMs);
    emit({ type: 'speech_stopped', turn, audioEndMs });
    emit({ type: 'committed', turn, audioStartMs, audioEndMs });
    if (live?.turn === turn) finishLive(turn);
    else transcribeTurn(turn, segment.samples);
  };

  /** Runs detector work in order, after what came before; a failure ends the session. */
  const then = (task: () => Promise<void>) => {
    work = work.then(async () => {
      if (failure || signal.aborted) return;
      try {
        await task();
      } catch (error) {
        failure ??= error as Error;
        events.fail(failure);
      }
    });
  };

  const session: ListenSession = {
    model: deps.model,
    ...(deps.vad ? { vad: deps.vad } : {}),
    push(samples, sampleRate) {
      if (ended) throw new AppError('invalid_request', 'The listening session is closed.');
      if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
        throw new AppError('invalid_request', `A sample rate must be from 1,000 to 384,000 Hz, not ${sampleRate}.`, { param: 'sample_rate' });
      }
      if (inputRate !== sampleRate) {
        // A new rate starts a new resampler; what the old one held back is kept.
        const rest = resampler?.flush();
        inputRate = sampleRate;
        resampler = createResampler(sampleRate, rate);
        if (rest?.length) accept(rest);
      }
      accept(resampler!.push(samples));
    },
    commit() {
      if (ended) throw new AppError('invalid_request', 'The listening session is closed.');
      if (!detection) {
        if (ms(manualLength) < MIN_COMMIT_MS) {
          throw new AppError('invalid_request', `There is ${ms(manualLength)} ms of audio to commit; at least ${MIN_COMMIT_MS} ms is needed.`, {
            hint: 'Append more audio before committing.',
            param: 'input_audio_buffer',
          });
        }
        const turn = ++turns;
        const audioStartMs = ms(manualStart);
        const audioEndMs = ms(manualStart + manualLength);
        const samples = concatFloat32(manual);
        manual = [];
        manualStart += manualLength;
        manualLength = 0;
        emit({ type: 'committed', turn, audioStartMs, audioEndMs });
        if (live) {
          // The stream has heard all of it (fed in order before this commit).
          then(async () => finishLive(turn));
        } else transcribeTurn(turn, samples);
        return;
      }
      if (!speaking) {
        throw new AppError('invalid_request', 'There is no speech to commit: the voice detector hears none under way.', {
          hint: 'With turn detection on, turns commit themselves when speech stops; commit() ends one early.',
          param: 'input_audio_buffer',
        });
      }
      then(async () => {
        for (const segment of await detector!.flush()) segmentDone(segment);
      });
    },
    idle: () => work,
    clear() {
      manual = [];
      manualStart += manualLength;
      manualLength = 0;
      if (!detection && live) {
        live.stream.close();
        live = undefined;
      }
      emit({ type: 'cleared' });
    },
    async close() {
      if (ended) return;
      ended = true;
      await work;
      await transcripts;
      live?.stream.close();
      live = undefined;
      detector?.close();
      stop.abort();
      events.end();
      deps.onEnd?.();
    },
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  };

  /** Audio at `rate`, on the session's timeline. */
  const accept = (samples: Float32Array) => {
    if (!samples.length) return;
    const at = total;
    total += samples.length;
    if (!detection) {
      if (deps.openStream) {
        then(async () => {
          // The turn this audio will be, once committed (without detection only commits make turns).
          if (!live) await openLive(turns + 1, new Float32Array(0));
          await feed(samples);
        });
      }
      manual.push(samples);
      manualLength += samples.length;
      // Bounded: past the longest turn, the oldest audio goes.
      while (manualLength > MAX_TURN_SECONDS * rate * 2 && manual.length > 1) {
        const dropped = manual.shift()!;
        manualLength -= dropped.length;
        manualStart += dropped.length;
      }
      return;
    }
    then(async () => {
      if (deps.openStream) remember(samples);
      const update = await detector!.listen(samples);
      // The speech under way hears this chunk before its end (a segment closed by it) finishes its stream.
      if (live && (speaking || update.segments.length)) await feed(samples);
      for (const segment of update.segments) segmentDone(segment);
      if (update.speaking && !speaking) {
        const detectedMs = update.speechStart !== undefined ? Math.round(update.speechStart * 1000) : ms(at);
        speaking = { turn: ++turns, audioStartMs: Math.max(0, detectedMs - detection.prefixPaddingMs) };
        emit({ type: 'speech_started', turn: speaking.turn, audioStartMs: speaking.audioStartMs });
        // From the turn's start (its prefix padding included) to now.
        if (deps.openStream) await openLive(speaking.turn, lastHeard(total - Math.round((speaking.audioStartMs / 1000) * rate)));
      }
    });
  };

  deps.signal?.addEventListener(
    'abort',
    () => {
      events.fail(deps.signal!.reason instanceof Error ? deps.signal!.reason : new AppError('aborted', 'The listening session was cancelled.'));
      void session.close();
    },
    { once: true },
  );
  return session;
};
