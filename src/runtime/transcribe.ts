import { availableParallelism } from 'node:os';
import type { AsrHandle, AsrResult, VadHandle } from '../engines/speech/asr-types.js';
import { AppError } from '../errors.js';
import type { TranscribeRequest, TranscribeResult, TranscriptSegment, TranscriptWord } from '../types/transcript.js';

/**
 * The transcription pipeline: audio streams in chunk by chunk; with VAD on,
 * each speech segment is decoded as soon as it closes; with VAD off, fixed
 * ~30 s windows are. A few decodes run at once (as cores allow) and segments
 * come out in order. Only the open segment and the decodes in flight are
 * held, so memory stays bounded however long the file is.
 */

/** What the pipeline reads: a decoded audio stream (src/audio/decode.ts's shape). */
export interface PipelineAudio {
  readonly sampleRate: number;
  /** Seconds, when the container says. */
  readonly duration?: number;
  /** Mono chunks; each must be a fresh array the pipeline may keep (a window-sized one is decoded without a copy). */
  chunks(): AsyncIterable<Float32Array>;
  close(): void | Promise<void>;
}

/** 'auto' uses VAD for audio longer than AUTO_VAD_SECONDS (or of unknown length) when a VAD is given. */
export type VadMode = 'on' | 'off' | 'auto';

/** Above this, audio is cut by the VAD (when one is available) instead of fixed windows. */
export const AUTO_VAD_SECONDS = 30;
/** The window when decoding without VAD: what whisper-style models take at once. */
export const WINDOW_SECONDS = 30;
/** One analysis frame of the recognizers' features (25 ms): shorter audio holds nothing to decode. */
export const MIN_AUDIO_SECONDS = 0.025;

export interface PipelineOptions {
  readonly asr: AsrHandle;
  /** The model's name, for the result. */
  readonly model: string;
  readonly vad?: VadHandle;
  readonly vadMode: VadMode;
  readonly open: () => Promise<PipelineAudio>;
  readonly request: Pick<TranscribeRequest, 'language' | 'task' | 'onSegment' | 'signal' | 'requireWords'>;
  /** The model's family, for the message when word times are required and it gives none. */
  readonly family?: string;
  /** The model's one language, when it has one: the result's language when neither the request nor the model says. */
  readonly modelLanguage?: string;
  /** Decodes in flight at once; default from the cores and the threads each decode uses. */
  readonly concurrency?: number;
  /** Threads one decode uses (config.threads), for the default concurrency. */
  readonly threads?: number;
  /** Time already spent (loading, queueing), added to totalMs. */
  readonly waitedMs?: number;
}

/** Joins tokens into words: a token starting with a space (or SentencePiece's ▁) begins one. */
const wordsOf = (result: AsrResult, offset: number, end: number): TranscriptWord[] | undefined => {
  if (!result.tokens?.length) return undefined;
  const words: { word: string; start: number }[] = [];
  for (const token of result.tokens) {
    const fresh = /^[\s▁]/.test(token.text) || words.length === 0;
    const text = token.text.replace(/▁/g, ' ');
    if (fresh) words.push({ word: text.trim(), start: offset + token.start });
    else words[words.length - 1]!.word += text;
  }
  return words
    .filter((w) => w.word)
    .map((w, i, all) => ({ word: w.word, start: round(w.start), end: round(Math.min(end, all[i + 1]?.start ?? end)) }));
};

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;

interface Piece {
  /** Where the decoded samples begin (token times count from here). */
  readonly offset: number;
  readonly start: number;
  readonly end: number;
  readonly decoded: Promise<AsrResult>;
}

/** Runs the pipeline and returns the whole transcript; segments also go to `onSegment` as they are ready. */
export const runTranscription = async (options: PipelineOptions): Promise<TranscribeResult> => {
  const started = performance.now();
  const { asr, request } = options;
  const signal = request.signal;
  signal?.throwIfAborted();
  const concurrency = Math.max(1, options.concurrency ?? Math.min(4, Math.floor(availableParallelism() / Math.max(1, options.threads ?? 1))));
  const audio = await options.open();
  const segments: TranscriptSegment[] = [];
  const pending: Piece[] = [];
  let language: string | undefined;
  let seen = 0;

  // A piece shorter than one feature frame (a tail of a few samples) has nothing to decode, and some engines fail on it.
  const decode = (samples: Float32Array, rate: number): Promise<AsrResult> =>
    samples.length < Math.ceil(rate * MIN_AUDIO_SECONDS) ? Promise.resolve({ text: '' }) : asr.transcribe(samples, rate, { language: request.language, task: request.task, signal });
  /** Emits the oldest piece once decoded. */
  const settleOne = async () => {
    const piece = pending.shift()!;
    const result = await piece.decoded;
    language ??= result.lang;
    if (!result.text) return;
    const words = wordsOf(result, piece.offset, piece.end);
    if (request.requireWords && !words) {
      const what = options.family ? `'${options.model}' (${options.family})` : `'${options.model}'`;
      throw new AppError('not_supported', `${what} gives no word times, so timestamp_granularities[]=word cannot be answered.`, {
        param: 'timestamp_granularities',
        hint: 'Ask for segment times only, or use a model that times its tokens (a transducer such as streaming-zipformer-en-20m).',
      });
    }
    const segment: TranscriptSegment = { id: segments.length, start: round(piece.start), end: round(piece.end), text: result.text, ...(words ? { words } : {}) };
    segments.push(segment);
    request.onSegment?.(segment);
  };
  const enqueue = async (piece: Piece) => {
    piece.decoded.catch(() => {}); // awaited in order by settleOne; keep an early rejection from going unhandled
    pending.push(piece);
    while (pending.length >= concurrency) await settleOne();
  };

  try {
    const useVad = options.vad && (options.vadMode === 'on' || (options.vadMode === 'auto' && (audio.duration === undefined || audio.duration > AUTO_VAD_SECONDS)));
    if (useVad) {
      const detector = options.vad!.open(audio.sampleRate);
      const rate = options.vad!.sampleRate;
      try {
        for await (const chunk of audio.chunks()) {
          signal?.throwIfAborted();
          seen += chunk.length;
          for (const s of await detector.accept(chunk)) await enqueue({ offset: s.samplesStart, start: s.start, end: s.end, decoded: decode(s.samples, rate) });
        }
        for (const s of await detector.flush()) await enqueue({ offset: s.samplesStart, start: s.start, end: s.end, decoded: decode(s.samples, rate) });
      } finally {
        detector.close();
      }
    } else {
      const rate = audio.sampleRate;
      const size = WINDOW_SECONDS * rate;
      let window: Float32Array | undefined;
      let filled = 0;
      const cut = async (samples: Float32Array) => {
        const start = (seen - samples.length) / rate;
        window = undefined;
        filled = 0;
        await enqueue({ offset: start, start, end: seen / rate, decoded: decode(samples, rate) });
      };
      for await (const chunk of audio.chunks()) {
        signal?.throwIfAborted();
        if (filled === 0 && chunk.length === size) {
          // A chunk that is exactly one window (the stream was opened with WINDOW_SECONDS chunks) is decoded as it is: no copy.
          seen += size;
          await cut(chunk);
          continue;
        }
        let offset = 0;
        while (offset < chunk.length) {
          const n = Math.min(chunk.length - offset, size - filled);
          window ??= new Float32Array(size);
          window.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          seen += n;
          if (filled === size) await cut(window);
        }
      }
      if (filled > 0) await cut(window!.subarray(0, filled));
    }
    while (pending.length) await settleOne();
  } finally {
    await audio.close();
  }
  signal?.throwIfAborted();
  if (seen === 0) throw new AppError('invalid_request', 'The audio holds no samples.', { param: 'file', hint: 'Send a recording with some sound in it.' });
  if (seen < Math.ceil(audio.sampleRate * MIN_AUDIO_SECONDS)) {
    throw new AppError('invalid_request', `The audio is ${seen} samples long (${((seen / audio.sampleRate) * 1000).toFixed(1)} ms); at least ${MIN_AUDIO_SECONDS * 1000} ms are needed.`, { param: 'file', hint: 'Send a longer recording.' });
  }

  const duration = seen / audio.sampleRate;
  const totalMs = performance.now() - started + (options.waitedMs ?? 0);
  const asked = request.language?.trim().toLowerCase();
  const answered = (asked && asked !== 'auto' ? asked : undefined) ?? language ?? options.modelLanguage;
  return {
    model: options.model,
    text: segments.map((s) => s.text).join(' '),
    ...(answered ? { language: answered } : {}),
    duration: round(duration),
    segments,
    timings: { totalMs: Math.round(totalMs), realTimeFactor: duration > 0 ? totalMs / 1000 / duration : 0 },
  };
};
