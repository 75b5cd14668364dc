import type { ConversationEvent, ResponseTimings } from '../../src/runtime/conversation.js';

/**
 * What `murmur talk`'s terminal UI shows, and every change to it, as pure
 * functions (talk-app.tsx only renders): the finished turns and replies as
 * lines, the reply being written, the turn being spoken, and one status.
 * The lines are the plain printer's (talk-output.ts): one `you:` line per
 * turn with words in it, one `murmur:` line per reply, a turn heard while a
 * reply is being written held back until just before its own reply.
 */

/** One line of what has scrolled by: drawn once, never redrawn. */
export interface TalkLine {
  readonly id: number;
  readonly kind: 'you' | 'murmur' | 'warning';
  readonly text: string;
  /** A reply cut off (the person spoke over it, or the conversation ended) or failed. */
  readonly mark?: 'interrupted' | 'failed';
}

export interface TalkState {
  readonly lines: readonly TalkLine[];
  /** The turn being spoken, with its transcript so far (a streaming recognizer's deltas). */
  readonly hearing?: { readonly turn: number; readonly text: string };
  /** Between speech_started and committed: the person is speaking. */
  readonly speech: boolean;
  /** Turns committed and not yet transcribed. */
  readonly transcribing: number;
  /** Turns with words whose reply has not started. */
  readonly unanswered: number;
  /** The reply being written; `spaced`: its text ends in a space. */
  readonly reply?: { readonly text: string; readonly spaced: boolean };
  /** Turns heard while a reply was being written, shown just before their own reply. */
  readonly waiting: readonly string[];
  /** The last reply was cut off. */
  readonly interrupted: boolean;
  /** The last reply's timings, as a phrase. */
  readonly timings?: string;
  /** Ctrl-C was pressed: the conversation is closing. */
  readonly leaving: boolean;
  /** The conversation is over: nothing is live any more. */
  readonly over: boolean;
}

export type TalkAction = { readonly type: 'event'; readonly event: ConversationEvent } | { readonly type: 'leaving' } | { readonly type: 'end' };

export const initialTalkState = (): TalkState => ({ lines: [], speech: false, transcribing: 0, unanswered: 0, waiting: [], interrupted: false, leaving: false, over: false });

/** The one status word or phrase at the bottom. */
export const talkStatus = (state: TalkState): string => {
  if (state.leaving) return 'leaving…';
  if (state.speech) return 'hearing you…';
  if (state.reply?.text) return 'speaking';
  if (state.reply || state.unanswered > 0 || state.transcribing > 0) return 'thinking…';
  return 'listening';
};

/** How soon a reply came, as a phrase: `first audio 412 ms` (`first token 80 ms` for a reply not spoken). */
export const formatTalkTimings = (timings: ResponseTimings): string | undefined => {
  if (timings.firstAudioMs !== undefined) return `first audio ${Math.round(timings.firstAudioMs)} ms`;
  if (timings.firstTokenMs !== undefined) return `first token ${Math.round(timings.firstTokenMs)} ms`;
  return undefined;
};

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

const addLines = (lines: readonly TalkLine[], ...added: Omit<TalkLine, 'id'>[]): TalkLine[] => [...lines, ...added.map((line, index) => ({ ...line, id: lines.length + index }))];

/** The lines a reply under way and the turns held back become once nothing more comes. */
const flushed = (state: TalkState): TalkLine[] => {
  const reply: Omit<TalkLine, 'id'>[] = state.reply ? [{ kind: 'murmur', text: state.reply.text.trimEnd() }] : [];
  return addLines(state.lines, ...reply, ...state.waiting.map((text) => ({ kind: 'you' as const, text })));
};

const onEvent = (state: TalkState, event: ConversationEvent): TalkState => {
  switch (event.type) {
    case 'speech_started':
      return { ...state, speech: true, hearing: { turn: event.turn, text: '' } };
    case 'committed':
      return { ...state, speech: false, transcribing: state.transcribing + 1 };
    case 'cleared':
      return { ...state, speech: false, hearing: undefined };
    case 'transcript_delta':
      return { ...state, hearing: { turn: event.turn, text: event.text } };
    case 'transcript': {
      const heard = {
        ...state,
        hearing: state.hearing?.turn === event.turn ? undefined : state.hearing,
        transcribing: Math.max(0, state.transcribing - 1),
      };
      const text = oneLine(event.text);
      if (!text) return heard;
      const unanswered = state.unanswered + 1;
      if (state.reply || state.waiting.length) return { ...heard, unanswered, waiting: [...state.waiting, text] };
      return { ...heard, unanswered, lines: addLines(state.lines, { kind: 'you', text }) };
    }
    case 'transcript_failed':
      return {
        ...state,
        hearing: state.hearing?.turn === event.turn ? undefined : state.hearing,
        transcribing: Math.max(0, state.transcribing - 1),
        lines: addLines(state.lines, { kind: 'warning', text: `warning: turn ${event.turn} could not be transcribed: ${event.error.message}` }),
      };
    case 'response_started':
      return { ...state, reply: { text: '', spaced: false }, unanswered: Math.max(0, state.unanswered - 1), interrupted: false };
    case 'text_delta': {
      const reply = state.reply ?? { text: '', spaced: false };
      // One line per reply, as the plain printer writes it: the model's line breaks become spaces.
      let text = event.text.replace(/\s*[\r\n]+\s*/g, ' ');
      if (!reply.text || reply.spaced) text = text.replace(/^ +/, '');
      if (!text) return state.reply ? state : { ...state, reply };
      return { ...state, reply: { text: reply.text + text, spaced: text.endsWith(' ') } };
    }
    case 'response_done': {
      const written = state.reply?.text.trimEnd() || oneLine(event.text);
      const mark = event.status === 'cancelled' ? 'interrupted' : event.status === 'failed' ? 'failed' : undefined;
      const added: Omit<TalkLine, 'id'>[] = [{ kind: 'murmur', text: written, mark }];
      if (event.status === 'failed') added.push({ kind: 'warning', text: `warning: the reply failed: ${event.error?.message ?? 'unknown error'}` });
      // The turn the next reply answers.
      const [next, ...waiting] = state.waiting;
      if (next !== undefined) added.push({ kind: 'you', text: next });
      return {
        ...state,
        reply: undefined,
        waiting,
        lines: addLines(state.lines, ...added),
        interrupted: event.status === 'cancelled',
        timings: formatTalkTimings(event.timings) ?? state.timings,
      };
    }
    case 'error':
      return { ...state, lines: addLines(state.lines, { kind: 'warning', text: `error: ${event.error.message}` }) };
    default:
      return state;
  }
};

export const talkStep = (state: TalkState, action: TalkAction): TalkState => {
  if (state.over) return state;
  switch (action.type) {
    case 'event':
      return onEvent(state, action.event);
    case 'leaving':
      return { ...state, leaving: true };
    case 'end':
      return { ...state, lines: flushed(state), reply: undefined, waiting: [], hearing: undefined, speech: false, over: true };
  }
};

/** The state as a small store that ink's component subscribes to (useSyncExternalStore). */
export interface TalkStore {
  get(): TalkState;
  subscribe(listener: () => void): () => void;
  dispatch(action: TalkAction): void;
}

export const createTalkStore = (state: TalkState = initialTalkState()): TalkStore => {
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispatch(action) {
      const next = talkStep(state, action);
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
  };
};
