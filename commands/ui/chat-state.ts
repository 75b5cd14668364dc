import type { ChatMessage, FinishReason } from '../../src/types/chat.js';
import {
  continueLine, deleteBackward, deleteWordBackward, emptyInput, inputOf, insertText,
  moveCursor, moveLine, moveToLineEdge, type InputBuffer,
} from './chat-input.js';
import { chatHelp, formatTranscript, transcriptFormatFor } from './chat-transcript.js';

/**
 * The interactive chat's state and every change to it, as pure functions
 * (the ink component only renders and runs the effects returned here).
 */

/** One line of what has scrolled by: printed once, never redrawn. */
export interface LogEntry {
  readonly id: number;
  readonly kind: 'user' | 'assistant' | 'info' | 'error';
  readonly text: string;
  /** Shown dimmed under an assistant reply: tokens/s, token count, why it stopped. */
  readonly stats?: string;
}

export interface ChatState {
  readonly model: string;
  readonly system?: string;
  /** The conversation sent with each request (the system prompt is added in front). */
  readonly messages: readonly ChatMessage[];
  readonly input: InputBuffer;
  /** Earlier inputs, oldest first, for Up/Down recall. */
  readonly history: readonly string[];
  /** Where Up/Down recall is in `history`; undefined when editing a fresh input. */
  readonly historyIndex?: number;
  /** The reply being streamed, if any. */
  readonly reply?: { readonly text: string; readonly stopping: boolean };
  readonly log: readonly LogEntry[];
  /** A one-line message under the prompt (hints, confirmations). */
  readonly notice?: string;
  /** Set by a Ctrl-C while idle: the next one leaves. */
  readonly exitArmed: boolean;
}

/** The subset of ink's Key that the chat reads. */
export interface KeyInfo {
  readonly return?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly leftArrow?: boolean;
  readonly rightArrow?: boolean;
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly escape?: boolean;
  readonly tab?: boolean;
}

export interface ReplyResult {
  readonly text: string;
  readonly tokensPerSecond: number;
  readonly completionTokens: number;
  readonly finishReason: FinishReason;
}

export type ChatAction =
  | { readonly type: 'key'; readonly input: string; readonly key: KeyInfo }
  | { readonly type: 'token'; readonly text: string }
  | { readonly type: 'reply-done'; readonly result: ReplyResult }
  | { readonly type: 'reply-failed'; readonly message: string; readonly aborted: boolean }
  | { readonly type: 'model-ready'; readonly name: string }
  | { readonly type: 'notify'; readonly kind: 'info' | 'error'; readonly text: string };

export type ChatEffect =
  | { readonly type: 'send'; readonly model: string; readonly messages: readonly ChatMessage[] }
  | { readonly type: 'abort' }
  | { readonly type: 'save'; readonly path: string; readonly content: string }
  | { readonly type: 'check-model'; readonly name: string }
  | { readonly type: 'exit' };

export interface Step {
  readonly state: ChatState;
  readonly effects: readonly ChatEffect[];
}

/** The state a chat starts in. */
export const initialChatState = (model: string, system?: string): ChatState => ({
  model,
  system: system || undefined,
  messages: [],
  input: emptyInput,
  history: [],
  log: [{ id: 0, kind: 'info', text: `Chatting with ${model}. Type /help for commands, Ctrl-C twice to leave.` }],
  exitArmed: false,
});

const same = (state: ChatState): Step => ({ state, effects: [] });

const addLog = (state: ChatState, entry: Omit<LogEntry, 'id'>): ChatState => ({
  ...state,
  log: [...state.log, { ...entry, id: (state.log.at(-1)?.id ?? -1) + 1 }],
});

const info = (state: ChatState, text: string, kind: 'info' | 'error' = 'info'): Step => same(addLog(state, { kind, text }));

/** What each request sends: the system prompt (if any), then the conversation. */
export const requestMessages = (state: ChatState): ChatMessage[] => [
  ...(state.system ? [{ role: 'system' as const, content: state.system }] : []),
  ...state.messages,
];

/** Runs one `/command` line. */
export const runSlashCommand = (state: ChatState, line: string): Step => {
  const [, name = '', rest = ''] = /^\/(\S*)\s*([\s\S]*)$/.exec(line) ?? [];
  const arg = rest.trim();
  switch (name.toLowerCase()) {
    case 'clear':
      return info({ ...state, messages: [] }, 'Conversation cleared.');
    case 'system':
      if (!arg) return info(state, state.system ? `System prompt: ${state.system}` : 'No system prompt. Set one with /system TEXT.');
      if (arg === '-') return info({ ...state, system: undefined }, 'System prompt removed.');
      return info({ ...state, system: arg }, 'System prompt set.');
    case 'model':
      if (!arg) return info(state, `Model: ${state.model}. Switch with /model NAME.`);
      return { state, effects: [{ type: 'check-model', name: arg }] };
    case 'save': {
      if (!arg) return info(state, 'Usage: /save FILE (.json for JSON, anything else for markdown).', 'error');
      const content = formatTranscript({ model: state.model, system: state.system, messages: state.messages }, transcriptFormatFor(arg));
      return { state, effects: [{ type: 'save', path: arg, content }] };
    }
    case 'help':
    case '?':
      return info(state, chatHelp);
    case 'exit':
    case 'quit':
    case 'bye':
      return { state, effects: [{ type: 'exit' }] };
    default:
      return info(state, `Unknown command /${name}. Type /help for the list.`, 'error');
  }
};

/** Enter: a slash command, or a message sent to the model. */
export const submit = (state: ChatState): Step => {
  const text = state.input.text;
  if (!text.trim()) return same(state);
  if (state.reply) return same({ ...state, notice: 'A reply is still coming: wait, or press Ctrl-C to stop it.' });
  const base: ChatState = {
    ...state,
    input: emptyInput,
    history: state.history.at(-1) === text ? state.history : [...state.history, text],
    historyIndex: undefined,
  };
  if (text.trimStart().startsWith('/')) return runSlashCommand(base, text.trim());
  const messages = [...state.messages, { role: 'user' as const, content: text }];
  const next = addLog({ ...base, messages, reply: { text: '', stopping: false } }, { kind: 'user', text });
  return { state: next, effects: [{ type: 'send', model: state.model, messages: requestMessages(next) }] };
};

const recall = (state: ChatState, delta: -1 | 1): ChatState => {
  const moved = moveLine(state.input, delta);
  if (moved) return { ...state, input: moved };
  const index = (state.historyIndex ?? state.history.length) + delta;
  if (index < 0 || index > state.history.length) return state;
  const text = index === state.history.length ? '' : state.history[index];
  return { ...state, historyIndex: index === state.history.length ? undefined : index, input: inputOf(text) };
};

const editInput = (state: ChatState, input: string, key: KeyInfo): ChatState => {
  const edit = (buffer: InputBuffer): ChatState => ({ ...state, input: buffer });
  if (key.upArrow) return recall(state, -1);
  if (key.downArrow) return recall(state, 1);
  if (key.leftArrow) return edit(moveCursor(state.input, -1));
  if (key.rightArrow) return edit(moveCursor(state.input, 1));
  if (key.home || (key.ctrl && input === 'a')) return edit(moveToLineEdge(state.input, 'start'));
  if (key.end || (key.ctrl && input === 'e')) return edit(moveToLineEdge(state.input, 'end'));
  // Most terminals send DEL (0x7f) for Backspace, which ink names `delete`.
  if (key.backspace || key.delete) return edit(deleteBackward(state.input));
  if (key.ctrl && input === 'w') return edit(deleteWordBackward(state.input));
  if (key.ctrl && input === 'u') return edit(emptyInput);
  if (key.ctrl || key.escape || key.tab || !input) return state;
  return edit(insertText(state.input, input));
};

/** A key press: editing, Enter, Ctrl-C and Ctrl-D. */
export const pressKey = (state: ChatState, input: string, key: KeyInfo): Step => {
  if (key.ctrl && input === 'c') {
    if (state.reply) {
      if (state.reply.stopping) return same(state);
      return { state: { ...state, reply: { ...state.reply, stopping: true }, notice: undefined }, effects: [{ type: 'abort' }] };
    }
    if (state.exitArmed) return { state, effects: [{ type: 'exit' }] };
    return same({ ...state, exitArmed: true, notice: 'Press Ctrl-C again (or Ctrl-D) to leave.' });
  }
  if (key.ctrl && input === 'd') return { state, effects: state.reply ? [{ type: 'abort' }, { type: 'exit' }] : [{ type: 'exit' }] };
  const calm: ChatState = { ...state, exitArmed: false, notice: undefined };
  if (key.return && key.meta) return same({ ...calm, input: insertText(state.input, '\n') });
  if (key.return) {
    const continued = continueLine(state.input);
    return continued ? same({ ...calm, input: continued }) : submit(calm);
  }
  // Ctrl-J arrives as a bare line feed; pasted text keeps its newlines.
  if (input === '\n') return same({ ...calm, input: insertText(state.input, '\n') });
  // One line and Enter in a single chunk (fast typing over a slow link, or a script driving the
  // terminal) is typing, not a multi-line paste: insert the line, then press Enter.
  if (/^[^\r\n]+\r$/.test(input) && !key.ctrl && !key.meta) {
    return pressKey({ ...calm, input: insertText(state.input, input.slice(0, -1)) }, '\r', { return: true });
  }
  return same(editInput(calm, input, key));
};

const formatStats = (result: ReplyResult, stopped: boolean): string => {
  const parts = [`${result.tokensPerSecond.toFixed(1)} tokens/s`, `${result.completionTokens} tokens`];
  if (stopped) parts.push('stopped');
  else if (result.finishReason === 'length') parts.push('cut at the token limit');
  return parts.join(' · ');
};

/** Applies one action; returns the new state and the effects to run. */
export const step = (state: ChatState, action: ChatAction): Step => {
  switch (action.type) {
    case 'key':
      return pressKey(state, action.input, action.key);
    case 'token':
      return state.reply ? same({ ...state, reply: { ...state.reply, text: state.reply.text + action.text } }) : same(state);
    case 'reply-done': {
      if (!state.reply) return same(state);
      const text = action.result.text || state.reply.text;
      const stopped = state.reply.stopping;
      const next: ChatState = { ...state, reply: undefined, messages: [...state.messages, { role: 'assistant', content: text }] };
      return same(addLog(next, { kind: 'assistant', text, stats: formatStats(action.result, stopped) }));
    }
    case 'reply-failed': {
      if (!state.reply) return same(state);
      const partial = state.reply.text;
      if (action.aborted || state.reply.stopping) {
        const messages = partial ? [...state.messages, { role: 'assistant' as const, content: partial }] : state.messages;
        return same(addLog({ ...state, reply: undefined, messages }, { kind: 'assistant', text: partial, stats: 'stopped' }));
      }
      // The request failed: drop the unanswered message from the context so it can be sent again.
      const messages = state.messages.at(-1)?.role === 'user' ? state.messages.slice(0, -1) : state.messages;
      return info({ ...state, reply: undefined, messages }, action.message, 'error');
    }
    case 'model-ready':
      return info({ ...state, model: action.name }, `Now chatting with ${action.name}.`);
    case 'notify':
      return info(state, action.text, action.kind);
  }
};
