import { abortReason, AppError } from '../errors.js';
import { createSentenceSplitter, splitFirstClause } from '../text/sentences.js';
import type { SpeechChunk, SpeechProgress } from '../types/speech.js';

/**
 * An incremental speech session: text goes in as it arrives (tokens of a
 * streamed reply, lines of a pipe), audio comes out piece by piece as it is
 * made. The session splits the text into sentences itself, synthesizes
 * them one after another (so audio never overtakes text) and hands them out
 * as an async iterable. A consumer that stops reading pauses synthesis once
 * `maxBuffered` chunks wait (bounded memory). Whatever door it is behind
 * (CLI stdin, `chat --speak`, an HTTP or WebSocket session, the voice loop)
 * only translates to these calls.
 */

/** How long a session waits for more text before it speaks a sentence that seems finished at the end of what it has. */
export const SETTLE_MS = 250;

/** The most characters one append may carry. */
export const MAX_APPEND_CHARACTERS = 16_384;
/** The most characters a session takes in all (it streams in bounded memory; this bounds its lifetime's work). */
export const MAX_SESSION_CHARACTERS = 1_000_000;

export interface SpeechSessionOptions {
  /** A tts model; the default voice model when absent. */
  readonly model?: string;
  /** A voice of the model; MURMUR_VOICE or the model's default when absent. */
  readonly voice?: string;
  /** 0.25–4.0. */
  readonly speed?: number;
  /** Ends the session as cancel() does. */
  readonly signal?: AbortSignal;
}

export type { SpeechChunk, SpeechProgress } from '../types/speech.js';

export interface SpeechSummary {
  /** Characters taken in and spoken (or skipped as unsayable). */
  readonly characters: number;
  /** Samples made in all. */
  readonly samples: number;
  /** Seconds of audio made. */
  readonly seconds: number;
  /** From the session's opening to its first audio, in ms (undefined when none was made). */
  readonly firstAudioMs?: number;
  readonly cancelled: boolean;
}

export interface SpeechSession extends AsyncIterable<SpeechChunk> {
  /** The model and voice speaking, when the runtime knows them at open (a remote one learns them later). */
  readonly model?: string;
  readonly voice?: string;
  /** The voice's sample rate, when known at open. */
  readonly sampleRate?: number;
  /** Where it stands now. */
  progress(): SpeechProgress;
  /** Adds text; each sentence it completes is queued for synthesis. Ignored once cancelled; an error once closed. */
  append(text: string): void;
  /** Queues what is buffered now, even mid-sentence. */
  flush(): void;
  /** No more text: what is queued is spoken, then the iterable ends. */
  close(): void;
  /** Stops now, mid-sentence too; the iterable ends (without an error). */
  cancel(): void;
  /** Settles when the session has ended: its summary, or the synthesis error. */
  readonly done: Promise<SpeechSummary>;
}

/** What a session needs from its runtime: one piece of text to audio. */
export type SessionSynthesizer = (text: string, signal: AbortSignal) => Promise<{ samples: Float32Array; sampleRate: number }>;

export interface CreateSpeechSessionOptions {
  readonly synthesize: SessionSynthesizer;
  readonly model?: string;
  readonly voice?: string;
  readonly sampleRate?: number;
  readonly signal?: AbortSignal;
  /** Chunks made but not yet read before synthesis pauses (default 4). */
  readonly maxBuffered?: number;
  /** Called once when the session has ended, however (releases the model's lease). */
  readonly onEnd?: () => void | Promise<void>;
}

/** Creates a SpeechSession over a synthesizer (LocalRuntime: a leased engine handle; RemoteRuntime: the daemon). */
export const createSpeechSession = (options: CreateSpeechSessionOptions): SpeechSession => {
  const opened = performance.now();
  const maxBuffered = Math.max(1, options.maxBuffered ?? 4);
  const splitter = createSentenceSplitter();
  const stop = new AbortController();
  const ready: string[] = [];
  const out: SpeechChunk[] = [];
  let closed = false;
  let cancelled = false;
  let finished = false;
  let failure: unknown;
  let characters = 0;
  let received = 0;
  let samples = 0;
  let seconds = 0;
  let firstAudioMs: number | undefined;
  /** Wakes the synthesis loop (text arrived, a chunk was read, the session closed). */
  let wakeWorker: (() => void) | undefined;
  /** Wakes the reader (a chunk was made, the session ended). */
  let wakeReader: (() => void) | undefined;
  const poke = () => {
    wakeWorker?.();
    wakeReader?.();
  };

  /** Nothing queued yet: a long first sentence may go at its first clause (see splitFirstClause), so the first audio comes sooner. */
  let first = true;
  const queue = (sentences: readonly string[]) => {
    const pieces = first && sentences.length ? splitFirstClause(sentences) : sentences;
    if (pieces.length) first = false;
    for (const s of pieces) if (s.trim()) ready.push(s.trim());
    poke();
  };
  /**
   * A finished sentence at the very end of the text so far waits for the
   * next word to show it is over ("Dr." is not); when no more text comes
   * for SETTLE_MS it is spoken anyway, so a reply that pauses after "Sure."
   * is not left silent.
   */
  let settleTimer: NodeJS.Timeout | undefined;
  const take = (sentences: readonly string[]) => {
    clearTimeout(settleTimer);
    if (!sentences.length && first) {
      const clause = splitter.takeClause();
      if (clause) return queue([clause]);
    }
    queue(sentences);
    settleTimer = setTimeout(() => {
      if (!closed && !cancelled) queue(splitter.settle());
    }, SETTLE_MS);
    settleTimer.unref();
  };

  const onAbort = () => session.cancel();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) cancelled = true;

  const sleep = () => new Promise<void>((resolve) => (wakeWorker = resolve)).finally(() => (wakeWorker = undefined));

  const work = async (): Promise<SpeechSummary> => {
    try {
      for (;;) {
        if (cancelled) break;
        if (out.length >= maxBuffered || (!ready.length && !closed)) {
          await sleep();
          continue;
        }
        if (!ready.length) break; // closed and everything said
        // One sentence at a time, as speak() does: the first audio waits for one sentence only, and the audio is the same whichever door asked.
        const text = ready.shift()!;
        characters += text.length;
        const audio = await options.synthesize(text, stop.signal);
        if (cancelled) break;
        if (!audio.samples.length) continue; // nothing sayable in it
        firstAudioMs ??= performance.now() - opened;
        out.push({
          samples: audio.samples,
          sampleRate: audio.sampleRate,
          text,
          offsetSamples: samples,
          offsetMs: Math.round(seconds * 1000),
        });
        samples += audio.samples.length;
        seconds += audio.samples.length / audio.sampleRate;
        wakeReader?.();
      }
    } catch (error) {
      if (!cancelled) failure = error;
    } finally {
      finished = true;
      clearTimeout(settleTimer);
      options.signal?.removeEventListener('abort', onAbort);
      wakeReader?.();
      await options.onEnd?.();
    }
    if (failure !== undefined) throw failure;
    return { characters, samples, seconds, ...(firstAudioMs !== undefined ? { firstAudioMs } : {}), cancelled };
  };

  const done = work();
  // Kept from going unhandled: the reader (or whoever awaits done) sees the failure.
  done.catch(() => undefined);

  const session: SpeechSession = {
    model: options.model,
    voice: options.voice,
    sampleRate: options.sampleRate,
    progress: () => ({
      state: failure !== undefined ? 'failed' : cancelled ? 'cancelled' : finished ? 'done' : closed ? 'closing' : 'open',
      characters: received,
      seconds,
    }),
    append(text) {
      if (cancelled) return; // stopped: late text is dropped
      if (closed) throw new AppError('session_conflict', 'The speech session is closed; it takes no more text.', { hint: 'Open a new session.' });
      if (text.length > MAX_APPEND_CHARACTERS) {
        throw new AppError('invalid_request', `One append may carry ${MAX_APPEND_CHARACTERS} characters; this one has ${text.length}.`, { param: 'text', hint: 'Send the text in smaller pieces.' });
      }
      if (received + text.length > MAX_SESSION_CHARACTERS) {
        throw new AppError('invalid_request', `A speech session takes ${MAX_SESSION_CHARACTERS} characters in all; this append would pass that.`, { param: 'text', hint: 'Close this session and open another.' });
      }
      received += text.length;
      take(splitter.push(text));
    },
    flush() {
      if (closed || cancelled) return;
      queue(splitter.flush());
    },
    close() {
      if (closed) return;
      if (!cancelled) queue(splitter.flush());
      closed = true;
      poke();
    },
    cancel() {
      if (cancelled || finished) return;
      cancelled = true;
      closed = true;
      ready.length = 0;
      out.length = 0;
      stop.abort(options.signal?.aborted ? abortReason(options.signal) : new DOMException('The speech session was cancelled.', 'AbortError'));
      poke();
    },
    done,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (out.length) {
            const chunk = out.shift()!;
            wakeWorker?.();
            yield chunk;
            continue;
          }
          if (finished) break;
          await new Promise<void>((resolve) => (wakeReader = resolve));
          wakeReader = undefined;
        }
        await done;
      } finally {
        // A reader that leaves early ends the session.
        if (!finished) session.cancel();
      }
    },
  };
  return session;
};
