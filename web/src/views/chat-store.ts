/*
 * The Chat view's memory in this browser: the conversations (localStorage,
 * newest first) and the settings (model, system prompt, sampling, speak).
 * A storage that is full or refused (private mode) keeps things in memory
 * for the page's life instead of breaking the view.
 */

export interface ReplyStats {
  /** Milliseconds from the request to the first text. */
  readonly ttftMs?: number;
  /** Completion tokens over the time from the first text to the last. */
  readonly tokensPerSecond?: number;
  /** The decode time could not be seen (the reply came at once): tokensPerSecond is over the whole time, a floor. */
  readonly atLeast?: boolean;
  readonly tokens?: number;
}

export interface ChatMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly stats?: ReplyStats;
  /** The reply was cut short by Stop. */
  readonly stopped?: boolean;
  /** Why the reply failed, said under it. */
  readonly error?: string;
  /** The model that wrote the reply. */
  readonly model?: string;
}

export interface Conversation {
  readonly id: string;
  readonly title: string;
  readonly messages: readonly ChatMessage[];
  readonly updatedAt: number;
}

export interface ChatSettings {
  readonly model: string;
  readonly system: string;
  readonly temperature: string;
  readonly topP: string;
  readonly maxTokens: string;
  readonly speak: boolean;
  readonly voiceModel: string;
}

const CONVERSATIONS = 'murmur.chat.conversations';
const SETTINGS = 'murmur.chat.settings';
const CURRENT = 'murmur.chat.current';

export const DEFAULT_SETTINGS: ChatSettings = { model: '', system: '', temperature: '', topP: '', maxTokens: '512', speak: false, voiceModel: '' };

const memory = new Map<string, string>();
const read = (key: string): string | null => {
  try {
    return localStorage.getItem(key) ?? memory.get(key) ?? null;
  } catch {
    return memory.get(key) ?? null;
  }
};
const write = (key: string, value: string): void => {
  memory.set(key, value);
  try {
    localStorage.setItem(key, value);
  } catch {
    /* full or refused: memory keeps it for this page */
  }
};

const parse = <T>(key: string, fallback: T): T => {
  try {
    const text = read(key);
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
};

const isMessage = (m: unknown): m is ChatMessage =>
  typeof m === 'object' && m !== null && ((m as ChatMessage).role === 'user' || (m as ChatMessage).role === 'assistant') && typeof (m as ChatMessage).content === 'string';

export const loadConversations = (): Conversation[] => {
  const list = parse<unknown>(CONVERSATIONS, []);
  if (!Array.isArray(list)) return [];
  return list
    .filter((c): c is Conversation => typeof c === 'object' && c !== null && typeof c.id === 'string' && Array.isArray(c.messages))
    .map((c) => ({ id: c.id, title: typeof c.title === 'string' ? c.title : 'Conversation', messages: c.messages.filter(isMessage), updatedAt: Number(c.updatedAt) || 0 }))
    .sort((a, b) => b.updatedAt - a.updatedAt);
};

export const saveConversations = (list: readonly Conversation[]): void => write(CONVERSATIONS, JSON.stringify(list.filter((c) => c.messages.length > 0)));

export const loadSettings = (): ChatSettings => ({ ...DEFAULT_SETTINGS, ...parse<Partial<ChatSettings>>(SETTINGS, {}) });
export const saveSettings = (settings: ChatSettings): void => write(SETTINGS, JSON.stringify(settings));

export const loadCurrent = (): string | null => read(CURRENT);
export const saveCurrent = (id: string): void => write(CURRENT, id);

export const newConversation = (): Conversation => ({
  id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
  title: 'New conversation',
  messages: [],
  updatedAt: Date.now(),
});

/** A conversation's title: the start of its first question. */
export const titleOf = (messages: readonly ChatMessage[]): string => {
  const first = messages.find((m) => m.role === 'user')?.content.replace(/\s+/g, ' ').trim() ?? '';
  return first ? (first.length > 48 ? `${first.slice(0, 47)}…` : first) : 'New conversation';
};
