import { AppError, isAbortError } from '../errors.js';
import type { ChatMessage, GenerationResult } from '../types/chat.js';
import type { SpeechChunk } from '../types/speech.js';
import type { ListenEvent, ListenOptions, ListenSession } from './listen-session.js';
import type { SpeechSession, SpeechSessionOptions } from './speech-session.js';

/**
 * A spoken conversation: listen → chat → speech, with turn-taking and
 * barge-in (the core of the Realtime API and `murmur talk`; no HTTP here).
 * Each transcribed turn becomes a user message and, unless told otherwise,
 * starts a response: the chat model's reply streams token by token into a
 * speech session, so its first sentence is spoken while the rest is still
 * being written. Speech that starts while a response is under way cancels
 * it at once (generation and synthesis both stop), and the history keeps
 * only what was spoken before that: the text of the audio chunks sent.
 */

export type ResponseStatus = 'completed' | 'cancelled' | 'failed';
/** Why a response was cancelled: the person spoke over it, or the client asked. */
export type CancelReason = 'turn_detected' | 'client_cancelled';

/** How long each stage of one response took, in ms. */
export interface ResponseTimings {
  /** From the end of the turn (its commit) to its transcript, when the response answers speech. */
  readonly transcribeMs?: number;
  /** From the response's start to the first token. */
  readonly firstTokenMs?: number;
  /** From the response's start to its first audio. */
  readonly firstAudioMs?: number;
  /** From the response's start to its end. */
  readonly totalMs: number;
}

export type ConversationEvent =
  | ListenEvent
  | { readonly type: 'response_started'; readonly response: number }
  | { readonly type: 'text_delta'; readonly response: number; readonly text: string }
  | { readonly type: 'audio'; readonly response: number; readonly chunk: SpeechChunk }
  | {
      readonly type: 'response_done';
      readonly response: number;
      readonly status: ResponseStatus;
      readonly reason?: CancelReason;
      /** What the model wrote (all of it, even when cancelled). */
      readonly text: string;
      /** What the history keeps: all of it, or what was spoken before a cancel. */
      readonly kept: string;
      readonly usage?: GenerationResult['usage'];
      readonly timings: ResponseTimings;
      readonly error?: Error;
    }
  /** truncate() cut a reply's history entry down to what was heard. */
  | { readonly type: 'truncated'; readonly response: number; readonly audioEndMs: number; readonly kept: string };

/** What Runtime.openConversation takes. */
export interface ConversationOptions {
  /** The chat model (default MURMUR_CHAT_MODEL, else the catalog's). */
  readonly model?: string;
  /** Listening: the speech-to-text model, the VAD, turn detection (see ListenOptions); `listen: false` for text in only. */
  readonly listen?: false | Omit<ListenOptions, 'signal'>;
  /** Speaking: the tts model, voice and speed (see SpeechSessionOptions); `speak: false` for text out only. */
  readonly speak?: false | Omit<SpeechSessionOptions, 'signal'>;
  readonly instructions?: string;
  /** Tokens a reply may have at most. */
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly createResponse?: boolean;
  readonly interruptResponse?: boolean;
  readonly signal?: AbortSignal;
}

export interface ConversationDeps {
  /** Where speech comes in; absent for a text-only conversation. */
  readonly listen?: ListenSession;
  /** Streams a reply to the history so far. */
  readonly chat: (messages: readonly ChatMessage[], onToken: (text: string) => void, signal: AbortSignal) => Promise<GenerationResult>;
  /** Opens a speech session for one reply; absent: replies are text only. */
  readonly openSpeech?: (signal: AbortSignal) => Promise<SpeechSession>;
  /** The system message. */
  readonly instructions?: string;
  /** A transcribed turn starts a response (default true). */
  readonly createResponse?: boolean;
  /** Speech that starts during a response cancels it (default true). */
  readonly interruptResponse?: boolean;
  readonly signal?: AbortSignal;
}

export interface Conversation extends AsyncIterable<ConversationEvent> {
  /** The listening session audio goes into (absent for text in only). */
  readonly listen?: ListenSession;
  /** The messages so far (the system message first, when there is one). */
  history(): readonly ChatMessage[];
  /** Adds a user message; starts a response when `respond` (default: createResponse). */
  say(text: string, respond?: boolean): void;
  /** Starts a response to the history; queued behind one being cancelled or under way. */
  respond(): void;
  /** Cancels the response under way, if any. */
  cancel(reason?: CancelReason): void;
  /**
   * The listener heard a reply only up to `audioEndMs` of its audio (a
   * client that stopped playback): its history entry keeps the text of the
   * sentences that began before it. AppError('invalid_request') for an
   * unknown response or a time past the audio sent.
   */
  truncate(response: number, audioEndMs: number): void;
  /** Ends the conversation: the response under way is cancelled, the listening session closed. */
  close(): Promise<void>;
}

export const createConversation = (deps: ConversationDeps): Conversation => {
  const messages: ChatMessage[] = deps.instructions ? [{ role: 'system', content: deps.instructions }] : [];
  const createResponse = deps.createResponse ?? true;
  const interrupt = deps.interruptResponse ?? true;

  const events: ConversationEvent[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const emit = (event: ConversationEvent) => {
    events.push(event);
    wake?.();
  };

  /* Responses run one at a time; a respond() during one waits for it to end. */
  let responses = 0;
  let active: { id: number; controller: AbortController; reason?: CancelReason } | undefined;
  let chain: Promise<void> = Promise.resolve();
  /** When the last turn was committed, and how long its transcript took. */
  let lastTranscribeMs: number | undefined;
  /** Each finished reply's audio (where each sentence begins, and its text) and its history entry. */
  const replies = new Map<number, { chunks: { offsetMs: number; text: string }[]; sentMs: number; message?: ChatMessage }>();

  const run = async (id: number, transcribeMs: number | undefined) => {
    const controller = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
    // The reply takes its place after the messages it answers, even if a turn that interrupted it is added first.
    const at = messages.length;
    const current = { id, controller } as { id: number; controller: AbortController; reason?: CancelReason };
    active = current;
    const started = performance.now();
    let firstTokenMs: number | undefined;
    let firstAudioMs: number | undefined;
    let text = '';
    let spoken = '';
    emit({ type: 'response_started', response: id });
    let speech: SpeechSession | undefined;
    const audio: { chunks: { offsetMs: number; text: string }[]; sentMs: number; message?: ChatMessage } = { chunks: [], sentMs: 0 };
    replies.set(id, audio);
    let result: GenerationResult | undefined;
    let failure: Error | undefined;
    try {
      speech = deps.openSpeech ? await deps.openSpeech(signal) : undefined;
      const playing = speech
        ? (async () => {
            for await (const chunk of speech!) {
              if (current.reason) break;
              firstAudioMs ??= Math.round(performance.now() - started);
              // Chunks are sentences (their text trimmed): spoken, they run on with a space between.
              if (chunk.text) spoken = spoken ? `${spoken} ${chunk.text}` : chunk.text;
              audio.chunks.push({ offsetMs: chunk.offsetMs, text: chunk.text });
              audio.sentMs = chunk.offsetMs + (chunk.samples.length / chunk.sampleRate) * 1000;
              emit({ type: 'audio', response: id, chunk });
            }
          })()
        : Promise.resolve();
      playing.catch(() => undefined);
      try {
        result = await deps.chat(
          [...messages],
          (token) => {
            if (current.reason) return;
            firstTokenMs ??= Math.round(performance.now() - started);
            text += token;
            emit({ type: 'text_delta', response: id, text: token });
            speech?.append(token);
          },
          signal,
        );
        speech?.close();
      } catch (error) {
        speech?.cancel();
        throw error;
      }
      await playing;
      await speech?.done;
    } catch (error) {
      if (!current.reason && !isAbortError(error)) failure = error as Error;
      speech?.cancel();
    } finally {
      if (active === current) active = undefined;
    }
    const cancelled = current.reason !== undefined || (deps.signal?.aborted ?? false);
    // Heard is what was spoken; a text-only reply was all "heard" as far as it was written.
    const kept = cancelled ? (speech ? spoken : text) : failure ? '' : text;
    if (kept.trim()) {
      audio.message = { role: 'assistant', content: cancelled ? kept.trim() : kept };
      messages.splice(at, 0, audio.message);
    }
    emit({
      type: 'response_done',
      response: id,
      status: failure ? 'failed' : cancelled ? 'cancelled' : 'completed',
      ...(current.reason ? { reason: current.reason } : cancelled ? { reason: 'client_cancelled' as const } : {}),
      text,
      kept,
      ...(result ? { usage: result.usage } : {}),
      timings: { ...(transcribeMs !== undefined ? { transcribeMs } : {}), ...(firstTokenMs !== undefined ? { firstTokenMs } : {}), ...(firstAudioMs !== undefined ? { firstAudioMs } : {}), totalMs: Math.round(performance.now() - started) },
      ...(failure ? { error: failure } : {}),
    });
  };

  const conversation: Conversation = {
    ...(deps.listen ? { listen: deps.listen } : {}),
    history: () => [...messages],
    say(text, respond = createResponse) {
      if (closed) throw new AppError('invalid_request', 'The conversation is closed.');
      messages.push({ role: 'user', content: text });
      if (respond) conversation.respond();
    },
    respond() {
      if (closed) throw new AppError('invalid_request', 'The conversation is closed.');
      const id = ++responses;
      const transcribeMs = lastTranscribeMs;
      lastTranscribeMs = undefined;
      chain = chain.then(() => (closed ? undefined : run(id, transcribeMs)));
    },
    cancel(reason = 'client_cancelled') {
      if (!active || active.reason) return;
      active.reason = reason;
      active.controller.abort(new DOMException('The response was cancelled.', 'AbortError'));
    },
    truncate(response, audioEndMs) {
      const reply = replies.get(response);
      if (!reply) throw new AppError('invalid_request', `There is no reply ${response} to truncate.`, { param: 'item_id' });
      if (!(audioEndMs >= 0) || audioEndMs > Math.ceil(reply.sentMs)) {
        throw new AppError('invalid_request', `audio_end_ms ${audioEndMs} is past the ${Math.round(reply.sentMs)} ms of audio sent for reply ${response}.`, { param: 'audio_end_ms' });
      }
      const kept = reply.chunks
        .filter((c) => c.offsetMs < audioEndMs)
        .map((c) => c.text)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      const at = reply.message ? messages.indexOf(reply.message) : -1;
      if (at >= 0) {
        if (kept) messages[at] = reply.message = { role: 'assistant', content: kept };
        else (messages.splice(at, 1), (reply.message = undefined));
      }
      emit({ type: 'truncated', response, audioEndMs, kept });
    },
    async close() {
      if (closed) return;
      conversation.cancel();
      closed = true;
      await deps.listen?.close();
      await listening;
      await chain;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (events.length) yield events.shift()!;
        if (closed && !active) {
          await chain;
          if (!events.length) return;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };

  /** The listening side: its events go out as they are, and drive the turns. */
  const listening = deps.listen
    ? (async () => {
        try {
          for await (const event of deps.listen!) {
            emit(event);
            if (event.type === 'speech_started' && interrupt) conversation.cancel('turn_detected');
            if (event.type === 'transcript' && event.text.trim() && !closed) {
              lastTranscribeMs = event.transcribeMs;
              conversation.say(event.text);
            }
          }
        } catch (error) {
          if (!isAbortError(error)) emit({ type: 'transcript_failed', turn: 0, error: error as Error });
        }
      })()
    : Promise.resolve();

  deps.signal?.addEventListener('abort', () => void conversation.close(), { once: true });
  return conversation;
};
