/*
 * The Chat view's memory in this browser: the conversations (localStorage,
 * newest first), each with its own system prompt and sampling, and the
 * view's settings (model, speak, and the system prompt and sampling a new
 * conversation starts from: the last used). A storage that is full or
 * refused (private mode) keeps things in memory for the page's life instead
 * of breaking the view.
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
  /** The reply is streaming in the page of this id; read back by another page load, it was cut by a reload or a closed page. */
  readonly pending?: string;
  /** The page went away (reload, closed tab) while the reply streamed: what is here is all that came. */
  readonly interrupted?: boolean;
  /** Why the reply failed, said under it. */
  readonly error?: string;
  /** The model that wrote the reply. */
  readonly model?: string;
}

/** What a conversation sends with each request: kept with it (number fields as typed; blank is the model's default). */
export interface ConversationSettings {
  readonly system: string;
  readonly temperature: string;
  readonly topP: string;
  readonly maxTokens: string;
}

export interface Conversation {
  readonly id: string;
  readonly title: string;
  readonly messages: readonly ChatMessage[];
  readonly updatedAt: number;
  readonly settings: ConversationSettings;
}

/** The view's settings; the conversation fields are the last used, which a new conversation starts from. */
export interface ChatSettings extends ConversationSettings {
  readonly model: string;
  readonly speak: boolean;
  readonly voiceModel: string;
}

const CONVERSATIONS = 'murmur.chat.conversations';
const SETTINGS = 'murmur.chat.settings';
const CURRENT = 'murmur.chat.current';

export const DEFAULT_SETTINGS: ChatSettings = { model: '', system: '', temperature: '', topP: '', maxTokens: '512', speak: false, voiceModel: '' };

/** This page load: a reply marked pending by another one was cut when that page went away. */
export const PAGE_ID = `p${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

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

/** The conversation fields of `settings` (the view's, or a stored conversation's), each a string. */
export const conversationSettingsOf = (settings: Partial<Record<keyof ConversationSettings, unknown>> | undefined, fallback: ConversationSettings = DEFAULT_SETTINGS): ConversationSettings => {
  const field = (key: keyof ConversationSettings) => (typeof settings?.[key] === 'string' ? (settings[key] as string) : fallback[key]);
  return { system: field('system'), temperature: field('temperature'), topP: field('topP'), maxTokens: field('maxTokens') };
};

/** A reply another page load left streaming (the page went away mid-reply) is interrupted, not pending. */
const settled = (m: ChatMessage): ChatMessage => {
  if (m.pending === undefined || m.pending === PAGE_ID) return m;
  const { pending: _pending, ...rest } = m;
  return m.role === 'assistant' ? { ...rest, interrupted: true } : rest;
};

/**
 * The stored conversations. Those stored before conversations kept their own
 * settings take the view's stored ones (what they were last sent with).
 */
export const loadConversations = (): Conversation[] => {
  const list = parse<unknown>(CONVERSATIONS, []);
  if (!Array.isArray(list)) return [];
  const fallback = conversationSettingsOf(loadSettings());
  return list
    .filter((c): c is Conversation => typeof c === 'object' && c !== null && typeof c.id === 'string' && Array.isArray(c.messages))
    .map((c) => ({
      id: c.id,
      title: typeof c.title === 'string' ? c.title : 'Conversation',
      messages: c.messages.filter(isMessage).map(settled),
      updatedAt: Number(c.updatedAt) || 0,
      settings: conversationSettingsOf(typeof c.settings === 'object' && c.settings !== null ? c.settings : undefined, fallback),
    }))
    .sort((a, b) => b.updatedAt - a.updatedAt);
};

export const saveConversations = (list: readonly Conversation[]): void => write(CONVERSATIONS, JSON.stringify(list.filter((c) => c.messages.length > 0)));

export const loadSettings = (): ChatSettings => {
  const stored = parse<unknown>(SETTINGS, {});
  const found = (typeof stored === 'object' && stored !== null ? stored : {}) as Partial<Record<keyof ChatSettings, unknown>>;
  return {
    ...conversationSettingsOf(found),
    model: typeof found.model === 'string' ? found.model : DEFAULT_SETTINGS.model,
    speak: found.speak === true,
    voiceModel: typeof found.voiceModel === 'string' ? found.voiceModel : DEFAULT_SETTINGS.voiceModel,
  };
};
export const saveSettings = (settings: ChatSettings): void => write(SETTINGS, JSON.stringify(settings));

export const loadCurrent = (): string | null => read(CURRENT);
export const saveCurrent = (id: string): void => write(CURRENT, id);

/** An empty conversation with `settings` (the last used). */
export const newConversation = (settings: ConversationSettings): Conversation => ({
  id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
  title: 'New conversation',
  messages: [],
  updatedAt: Date.now(),
  settings: conversationSettingsOf(settings),
});

/** A conversation's title: the start of its first question. */
export const titleOf = (messages: readonly ChatMessage[]): string => {
  const first = messages.find((m) => m.role === 'user')?.content.replace(/\s+/g, ' ').trim() ?? '';
  return first ? (first.length > 48 ? `${first.slice(0, 47)}…` : first) : 'New conversation';
};
