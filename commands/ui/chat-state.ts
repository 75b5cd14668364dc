import type { ChatMessage, FinishReason } from '../../src/types/chat.js';
import type { ChatSettings } from './chat-app.js';
import {
  continueLine, deleteBackward, deleteForward, deleteWordBackward, emptyInput, inputOf, insertText,
  moveCursor, moveLine, moveToLineEdge, type InputBuffer,
} from './chat-input.js';
import { chatHelp, formatTranscript, transcriptFormatFor, type Transcript } from './chat-transcript.js';
import { formatTokenStats } from './format.js';

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
  /** Sampling and format settings sent with each request (/set changes them). */
  readonly settings: ChatSettings;
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
  /** The oldest `dropped` messages were left out of the request to fit the context. */
  | { readonly type: 'trimmed'; readonly dropped: number; readonly model: string; readonly contextSize?: number }
  | { readonly type: 'models-listed'; readonly names: readonly string[] }
  | { readonly type: 'loaded'; readonly path: string; readonly transcript: Transcript }
  | { readonly type: 'notify'; readonly kind: 'info' | 'error'; readonly text: string };

export type ChatEffect =
  /** Sent with the state's settings. */
  | { readonly type: 'send'; readonly model: string; readonly messages: readonly ChatMessage[] }
  | { readonly type: 'abort' }
  | { readonly type: 'save'; readonly path: string; readonly content: string }
  | { readonly type: 'load'; readonly path: string }
  | { readonly type: 'check-model'; readonly name: string }
  | { readonly type: 'list-models' }
  | { readonly type: 'exit' };

export interface Step {
  readonly state: ChatState;
  readonly effects: readonly ChatEffect[];
}

export interface ChatStart {
  readonly settings?: ChatSettings;
  /** Inputs of earlier sessions, oldest first. */
  readonly history?: readonly string[];
}

/** The state a chat starts in. */
export const initialChatState = (model: string, system?: string, start: ChatStart = {}): ChatState => ({
  model,
  system: system || undefined,
  settings: start.settings ?? {},
  messages: [],
  input: emptyInput,
  history: start.history ?? [],
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

/** What `/set` changes: the name typed, the setting, and the rule its value must follow. */
const tunables = [
  { name: 'temperature', key: 'temperature', check: (n: number) => n >= 0 && n <= 10, rule: 'a number from 0 to 10' },
  { name: 'top_p', key: 'topP', check: (n: number) => n > 0 && n <= 1, rule: 'a number above 0 and at most 1' },
  { name: 'top_k', key: 'topK', check: (n: number) => Number.isSafeInteger(n) && n >= 0, rule: 'a whole number of 0 or more' },
  { name: 'seed', key: 'seed', check: (n: number) => Number.isSafeInteger(n) && n >= 0, rule: 'a whole number of 0 or more' },
  { name: 'max_tokens', key: 'maxTokens', check: (n: number) => Number.isSafeInteger(n) && n >= 1, rule: 'a whole number of 1 or more' },
] as const;

const runSet = (state: ChatState, arg: string): Step => {
  if (!arg) {
    const shown = tunables.map((t) => `  ${t.name.padEnd(12)} ${state.settings[t.key] ?? 'default'}`);
    return info(state, ['Settings (change one with /set NAME VALUE, reset it with /set NAME):', ...shown].join('\n'));
  }
  const [name = '', raw, ...extra] = arg.split(/\s+/);
  const tunable = tunables.find((t) => t.name === name.toLowerCase().replace(/-/g, '_'));
  if (!tunable) return info(state, `Unknown setting '${name}'. /set takes ${tunables.map((t) => t.name).join(', ')}.`, 'error');
  if (raw === undefined) {
    const { [tunable.key]: _dropped, ...settings } = state.settings;
    return info({ ...state, settings }, `${tunable.name} is back to its default.`);
  }
  const value = Number(raw);
  if (extra.length || !Number.isFinite(value) || !tunable.check(value)) return info(state, `${tunable.name} must be ${tunable.rule}, not '${[raw, ...extra].join(' ')}'.`, 'error');
  return info({ ...state, settings: { ...state.settings, [tunable.key]: value } }, `${tunable.name} set to ${value}.`);
};

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
      if (!arg) return { state, effects: [{ type: 'list-models' }] };
      return { state, effects: [{ type: 'check-model', name: arg }] };
    case 'save': {
      if (!arg) return info(state, 'Usage: /save FILE (.json for JSON, anything else for markdown).', 'error');
      const content = formatTranscript({ model: state.model, system: state.system, messages: state.messages }, transcriptFormatFor(arg));
      return { state, effects: [{ type: 'save', path: arg, content }] };
    }
    case 'load':
      if (!arg) return info(state, 'Usage: /load FILE (a conversation /save wrote).', 'error');
      if (state.reply) return info(state, 'A reply is still coming: wait, or press Ctrl-C to stop it.', 'error');
      return { state, effects: [{ type: 'load', path: arg }] };
    case 'set':
      return runSet(state, arg);
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
  // Ctrl-D leaves only from an empty line; on a draft it deletes forward, as in readline, so the draft is never lost.
  if (key.ctrl && input === 'd') {
    if (state.input.text) return same({ ...state, exitArmed: false, input: deleteForward(state.input) });
    return { state, effects: state.reply ? [{ type: 'abort' }, { type: 'exit' }] : [{ type: 'exit' }] };
  }
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
  const parts = [formatTokenStats(result.tokensPerSecond, result.completionTokens)];
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
    case 'trimmed': {
      // The request went without them, and so will every later one.
      const messages = state.messages.slice(action.dropped);
      const plural = action.dropped === 1 ? 'message' : `${action.dropped} oldest messages`;
      const fit = action.contextSize ? `${action.model}'s ${action.contextSize}-token context` : `${action.model}'s context`;
      return info({ ...state, messages }, `dropped the ${action.dropped === 1 ? 'oldest message' : plural} to fit ${fit}`);
    }
    case 'models-listed': {
      if (!action.names.length) return info(state, 'No chat models are installed. `murmur pull NAME` adds one.');
      const lines = action.names.map((name) => `${name === state.model ? '* ' : '  '}${name}`);
      return info(state, ['Installed chat models (switch with /model NAME):', ...lines].join('\n'));
    }
    case 'loaded': {
      const { transcript } = action;
      const system = transcript.system ?? state.system;
      const note = transcript.model && transcript.model !== state.model ? ` (saved with ${transcript.model}; still chatting with ${state.model})` : '';
      const next = addLog({ ...state, system, messages: transcript.messages }, { kind: 'info', text: `Loaded ${transcript.messages.length} messages from ${action.path}${note}.` });
      const last = transcript.messages.filter((m) => m.role !== 'system').at(-1);
      return same(last ? addLog(next, { kind: last.role === 'user' ? 'user' : 'assistant', text: last.content }) : next);
    }
    case 'notify':
      return info(state, action.text, action.kind);
  }
};
