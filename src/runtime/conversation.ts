import { randomBytes } from 'node:crypto';
import { AppError, isAbortError } from '../errors.js';
import { createEventQueue } from './event-queue.js';
import type { ChatMessage, ChatRequest, GenerationResult, ToolCall, ToolDefinition } from '../types/chat.js';
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

export type ResponseStatus = 'completed' | 'cancelled' | 'incomplete' | 'failed';
/** Why a response did not complete: the person spoke over it, the client cancelled it, or it ran out of tokens. */
export type ResponseReason = 'turn_detected' | 'client_cancelled' | 'max_output_tokens';
/** Why a response was cancelled. */
export type CancelReason = Exclude<ResponseReason, 'max_output_tokens'>;

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

/** One entry of the history: a message and the id it is known by (the Realtime API's item id). */
export interface ConversationItem {
  readonly id: string;
  readonly message: ChatMessage;
}

/** How responses are made; set at open, changed with update(), overridden per response. */
export interface ResponseSettings {
  /** The chat model (checked by whoever changes it; the one the conversation opened with when absent). */
  readonly model?: string;
  /** The system message. */
  readonly instructions?: string;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ChatRequest['toolChoice'];
  /** Tokens a reply may have at most. */
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  /** Speak the reply: a voice (see SpeechSessionOptions), or false for text only. */
  readonly speak?: false | Omit<SpeechSessionOptions, 'signal'>;
}

export interface ConversationSettings extends ResponseSettings {
  /** A transcribed turn starts a response (default true). */
  readonly createResponse?: boolean;
  /** Speech that starts during a response cancels it (default true). */
  readonly interruptResponse?: boolean;
}

/** Listening events, with the id of the user item each turn becomes (from its commit on). */
export type ConversationListenEvent = ListenEvent & { readonly itemId?: string };

export type ConversationEvent =
  | ConversationListenEvent
  /** An item entered the history (a reply's when it is done, with `response`); after `previousItemId`, or first. */
  | { readonly type: 'item_added'; readonly item: ConversationItem; readonly previousItemId: string | null; readonly response?: number }
  | { readonly type: 'item_deleted'; readonly itemId: string }
  | { readonly type: 'response_started'; readonly response: number; readonly itemId: string }
  | { readonly type: 'text_delta'; readonly response: number; readonly text: string }
  | { readonly type: 'audio'; readonly response: number; readonly chunk: SpeechChunk }
  /** The reply calls a tool: its arguments are whole (the call is also in the reply's history entry). */
  | { readonly type: 'tool_call'; readonly response: number; readonly itemId: string; readonly call: ToolCall }
  | {
      readonly type: 'response_done';
      readonly response: number;
      /** The reply's item (in the history only when something of it was kept). */
      readonly itemId: string;
      readonly status: ResponseStatus;
      readonly reason?: ResponseReason;
      /** What the model wrote (all of it, even when cancelled). */
      readonly text: string;
      /** What the history keeps: all of it, or what was spoken before a cancel. */
      readonly kept: string;
      /** Whether the reply was spoken (it had a voice). */
      readonly spoken: boolean;
      readonly toolCalls?: readonly ToolCall[];
      readonly usage?: GenerationResult['usage'];
      readonly timings: ResponseTimings;
      readonly error?: Error;
    }
  /** Something the conversation was asked to do was refused (a daemon's error event); the conversation goes on. */
  | { readonly type: 'error'; readonly error: Error }
  /** truncate() cut a reply's history entry down to what was heard. */
  | { readonly type: 'truncated'; readonly response: number; readonly itemId: string; readonly audioEndMs: number; readonly kept: string };

/** What Runtime.openConversation takes. */
export interface ConversationOptions extends ConversationSettings {
  /** The chat model (default MURMUR_CHAT_MODEL, else the catalog's). */
  readonly model?: string;
  /** Listening: the speech-to-text model, the VAD, turn detection (see ListenOptions); `listen: false` for text in only. */
  readonly listen?: false | Omit<ListenOptions, 'signal'>;
  readonly signal?: AbortSignal;
  /** Where the replies come from instead of the runtime's own chat (a routing runtime's, which sends routed models upstream). */
  readonly chat?: (request: ChatRequest) => Promise<GenerationResult>;
  /** The chat model is served elsewhere (routed upstream): it is not looked up among the installed ones. */
  readonly modelElsewhere?: boolean;
}

export interface ConversationDeps extends ConversationSettings {
  /** Where speech comes in; absent for a text-only conversation (setListen() adds one later). */
  readonly listen?: ListenSession;
  /** Streams a reply to the history so far. */
  readonly chat: (messages: readonly ChatMessage[], settings: ResponseSettings, onToken: (text: string) => void, signal: AbortSignal) => Promise<GenerationResult>;
  /** Opens a speech session for one reply. */
  readonly openSpeech: (options: Omit<SpeechSessionOptions, 'signal'>, signal: AbortSignal) => Promise<SpeechSession>;
  /** Makes item ids (default item_ and 20 random letters and digits). */
  readonly newItemId?: () => string;
  readonly signal?: AbortSignal;
}

/** Where add() puts an item: after the item with this id; null first; absent last. */
export type ItemPlace = { readonly previousItemId?: string | null; readonly id?: string };

export interface Conversation extends AsyncIterable<ConversationEvent> {
  /** The listening session audio goes into (absent for text in only). */
  readonly listen?: ListenSession;
  /** The messages so far, as the chat model gets them (the system message first, when there is one). */
  history(): readonly ChatMessage[];
  /** The history's items, with their ids (no system message; turns not yet transcribed left out). */
  items(): readonly ConversationItem[];
  /** The settings now. */
  settings(): ConversationSettings;
  /** Changes settings for the responses that start from now on. */
  update(settings: ConversationSettings): void;
  /** Swaps the listening session (new turn detection or recognizer): the old one is closed, audio not yet committed dropped. */
  setListen(listen: ListenSession | undefined): Promise<void>;
  /** Adds a user message; starts a response when `respond` (default: createResponse). Returns its item id. */
  say(text: string, respond?: boolean): string;
  /** Adds a message (user, system, assistant, or a tool's output) at `place`; returns its item id. */
  add(message: ChatMessage, place?: ItemPlace): string;
  /** Deletes an item from the history. AppError('invalid_request') for an unknown id. */
  remove(itemId: string): void;
  /** Starts a response to the history, with `overrides`; queued behind one being cancelled or under way. Returns its number. */
  respond(overrides?: ResponseSettings): number;
  /** Cancels the response under way, if any; returns whether there was one. */
  cancel(reason?: CancelReason): boolean;
  /** Whether a response is under way or queued. */
  busy(): boolean;
  /**
   * The listener heard a reply only up to `audioEndMs` of its audio (a
   * client that stopped playback): its history entry keeps the text of the
   * sentences that began before it. AppError('invalid_request') for an
   * unknown reply item or a time past the audio sent.
   */
  truncate(itemId: string, audioEndMs: number): void;
  /** Ends the conversation: the response under way is cancelled, the listening session closed. */
  close(): Promise<void>;
}

const ID_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const randomItemId = () => {
  const bytes = randomBytes(20);
  let id = 'item_';
  for (const byte of bytes) id += ID_LETTERS[byte % ID_LETTERS.length];
  return id;
};

export const createConversation = (deps: ConversationDeps): Conversation => {
  let settings: ConversationSettings = definedOnly({
    instructions: deps.instructions,
    tools: deps.tools,
    toolChoice: deps.toolChoice,
    maxOutputTokens: deps.maxOutputTokens,
    temperature: deps.temperature,
    speak: deps.speak,
    createResponse: deps.createResponse,
    interruptResponse: deps.interruptResponse,
  });
  const newId = deps.newItemId ?? randomItemId;

  /** The history, in order. A spoken turn enters at its commit, empty (pending) until its transcript. */
  interface Entry {
    readonly id: string;
    message: ChatMessage;
    pending?: boolean;
    readonly response?: number;
  }
  const entries: Entry[] = [];
  const used = new Set<string>();
  const indexOf = (id: string) => entries.findIndex((e) => e.id === id);
  const chatMessages = (instructions: string | undefined): ChatMessage[] => [
    ...(instructions ? [{ role: 'system' as const, content: instructions }] : []),
    ...entries.filter((e) => !e.pending && !(e.message.role === 'user' && !e.message.content.trim())).map((e) => e.message),
  ];

  const events = createEventQueue<ConversationEvent>();
  let closed = false;
  const emit = (event: ConversationEvent) => events.push(event);

  /** Puts an entry in the history at `place` and says so; returns its previous item's id. */
  const insert = (entry: Entry, place: ItemPlace = {}) => {
    let index = entries.length;
    if (place.previousItemId === null) index = 0;
    else if (place.previousItemId !== undefined) {
      const at = indexOf(place.previousItemId);
      if (at < 0) throw new AppError('invalid_request', `There is no item '${place.previousItemId}' to put the new one after.`, { param: 'previous_item_id' });
      index = at + 1;
    }
    entries.splice(index, 0, entry);
    used.add(entry.id);
    const previousItemId = index === 0 ? null : entries[index - 1]!.id;
    emit({ type: 'item_added', item: { id: entry.id, message: entry.message }, previousItemId, ...(entry.response !== undefined ? { response: entry.response } : {}) });
    return previousItemId;
  };

  /* Responses run one at a time; a respond() during one waits for it to end. */
  let responses = 0;
  let queued = 0;
  let active: { id: number; controller: AbortController; reason?: CancelReason } | undefined;
  let chain: Promise<void> = Promise.resolve();
  /** How long the last answered turn's transcript took (for the response that answers it). */
  let lastTranscribeMs: number | undefined;
  /** Each reply's audio (where each sentence begins, and its text) and its history entry, by item id. */
  const replies = new Map<string, { response: number; chunks: { offsetMs: number; text: string }[]; sentMs: number; entry?: Entry }>();

  const run = async (id: number, itemId: string, overrides: ResponseSettings, transcribeMs: number | undefined) => {
    const use: ResponseSettings = { ...settings, ...definedOnly(overrides) };
    const controller = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
    // The reply takes its place after the messages it answers, even if a turn that interrupted it is added first.
    const after = entries.at(-1);
    const current = { id, controller } as { id: number; controller: AbortController; reason?: CancelReason };
    active = current;
    const started = performance.now();
    let firstTokenMs: number | undefined;
    let firstAudioMs: number | undefined;
    let text = '';
    let spoken = '';
    emit({ type: 'response_started', response: id, itemId });
    let speech: SpeechSession | undefined;
    const audio: { response: number; chunks: { offsetMs: number; text: string }[]; sentMs: number; entry?: Entry } = { response: id, chunks: [], sentMs: 0 };
    replies.set(itemId, audio);
    let result: GenerationResult | undefined;
    let failure: Error | undefined;
    try {
      speech = use.speak === false ? undefined : await deps.openSpeech(use.speak ?? {}, signal);
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
          chatMessages(use.instructions),
          use,
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
    const cancelled = !failure && (current.reason !== undefined || (deps.signal?.aborted ?? false));
    const toolCalls = cancelled || failure ? undefined : result?.toolCalls;
    // Heard is what was spoken; a text-only reply was all "heard" as far as it was written.
    const kept = cancelled ? (speech ? spoken : text) : failure ? '' : text;
    let place = after && indexOf(after.id) >= 0 ? after.id : (entries.at(-1)?.id ?? null);
    if (kept.trim()) {
      audio.entry = { id: itemId, message: { role: 'assistant', content: cancelled ? kept.trim() : kept }, response: id };
      insert(audio.entry, { previousItemId: place });
      place = itemId;
    }
    for (const call of toolCalls ?? []) {
      const callItem = newId();
      emit({ type: 'tool_call', response: id, itemId: callItem, call });
      insert({ id: callItem, message: { role: 'assistant', content: '', toolCalls: [call] }, response: id }, { previousItemId: place });
      place = callItem;
    }
    const incomplete = !cancelled && !failure && result?.finishReason === 'length';
    emit({
      type: 'response_done',
      response: id,
      itemId,
      status: failure ? 'failed' : cancelled ? 'cancelled' : incomplete ? 'incomplete' : 'completed',
      ...(current.reason ? { reason: current.reason } : cancelled ? { reason: 'client_cancelled' as const } : incomplete ? { reason: 'max_output_tokens' as const } : {}),
      text,
      kept,
      spoken: speech !== undefined,
      ...(toolCalls?.length ? { toolCalls } : {}),
      ...(result ? { usage: result.usage } : {}),
      timings: { ...(transcribeMs !== undefined ? { transcribeMs } : {}), ...(firstTokenMs !== undefined ? { firstTokenMs } : {}), ...(firstAudioMs !== undefined ? { firstAudioMs } : {}), totalMs: Math.round(performance.now() - started) },
      ...(failure ? { error: failure } : {}),
    });
  };

  const open = () => {
    if (closed) throw new AppError('invalid_request', 'The conversation is closed.');
  };

  let listen = deps.listen;
  let listening: Promise<void> = Promise.resolve();
  /** A listening session's events go out as they are (with each turn's item id), and drive the turns. */
  const listenTo = (session: ListenSession) => {
    const turnIds = new Map<number, string>();
    const idOf = (turn: number) => {
      let id = turnIds.get(turn);
      if (!id) turnIds.set(turn, (id = newId()));
      return id;
    };
    return (async () => {
      try {
        for await (const event of session) {
          if (!('turn' in event) || event.turn === 0) {
            emit(event);
            continue;
          }
          const itemId = idOf(event.turn);
          if (event.type === 'committed') {
            emit({ ...event, itemId });
            insert({ id: itemId, message: { role: 'user', content: '' }, pending: true });
            continue;
          }
          if (event.type === 'transcript') {
            const at = indexOf(itemId);
            if (at >= 0) entries[at] = { id: itemId, message: { role: 'user', content: event.text } };
            emit({ ...event, itemId });
            if (at >= 0 && event.text.trim() && !closed && (settings.createResponse ?? true)) {
              lastTranscribeMs = event.transcribeMs;
              conversation.respond();
            }
            continue;
          }
          emit({ ...event, itemId });
          if (event.type === 'speech_started' && (settings.interruptResponse ?? true)) conversation.cancel('turn_detected');
        }
      } catch (error) {
        if (!isAbortError(error)) emit({ type: 'transcript_failed', turn: 0, error: error as Error });
      }
    })();
  };

  const conversation: Conversation = {
    get listen() {
      return listen;
    },
    history: () => chatMessages(settings.instructions),
    items: () => entries.map((e) => ({ id: e.id, message: e.message })),
    settings: () => ({ ...settings }),
    update(next) {
      settings = { ...settings, ...definedOnly(next) };
    },
    async setListen(next) {
      open();
      const old = listen;
      listen = next;
      if (old) {
        await old.close();
        await listening;
      }
      listening = next ? listenTo(next) : Promise.resolve();
    },
    say(text, respond = settings.createResponse ?? true) {
      const id = conversation.add({ role: 'user', content: text });
      if (respond) conversation.respond();
      return id;
    },
    add(message, place = {}) {
      open();
      const id = place.id ?? newId();
      if (used.has(id)) throw new AppError('invalid_request', `The item id '${id}' is taken; each item needs its own.`, { param: 'item.id' });
      insert({ id, message }, place);
      return id;
    },
    remove(itemId) {
      const at = indexOf(itemId);
      if (at < 0) throw new AppError('invalid_request', `There is no item '${itemId}' to delete.`, { param: 'item_id' });
      entries.splice(at, 1);
      const reply = replies.get(itemId);
      if (reply) reply.entry = undefined;
      emit({ type: 'item_deleted', itemId });
    },
    respond(overrides = {}) {
      open();
      const id = ++responses;
      const itemId = newId();
      used.add(itemId);
      const transcribeMs = lastTranscribeMs;
      lastTranscribeMs = undefined;
      queued++;
      chain = chain.then(async () => {
        try {
          if (!closed) await run(id, itemId, overrides, transcribeMs);
        } finally {
          queued--;
        }
      });
      return id;
    },
    cancel(reason = 'client_cancelled') {
      if (!active || active.reason) return false;
      active.reason = reason;
      active.controller.abort(new DOMException('The response was cancelled.', 'AbortError'));
      return true;
    },
    busy: () => queued > 0,
    truncate(itemId, audioEndMs) {
      const reply = replies.get(itemId);
      if (!reply) throw new AppError('invalid_request', `There is no reply '${itemId}' to truncate.`, { param: 'item_id' });
      if (!(audioEndMs >= 0) || audioEndMs > Math.ceil(reply.sentMs)) {
        throw new AppError('invalid_request', `audio_end_ms ${audioEndMs} is past the ${Math.round(reply.sentMs)} ms of audio sent for item '${itemId}'.`, { param: 'audio_end_ms' });
      }
      const kept = reply.chunks
        .filter((c) => c.offsetMs < audioEndMs)
        .map((c) => c.text)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      const at = reply.entry ? entries.indexOf(reply.entry) : -1;
      if (at >= 0) {
        if (kept) reply.entry!.message = { role: 'assistant', content: kept };
        else (entries.splice(at, 1), (reply.entry = undefined));
      }
      emit({ type: 'truncated', response: reply.response, itemId, audioEndMs, kept });
    },
    async close() {
      if (closed) return;
      conversation.cancel();
      closed = true;
      await listen?.close();
      await listening;
      await chain;
      events.end();
    },
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  };

  if (listen) listening = listenTo(listen);
  deps.signal?.addEventListener('abort', () => void conversation.close(), { once: true });
  return conversation;
};

/** The keys whose values are defined (so that an update leaves the others as they were). */
const definedOnly = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
