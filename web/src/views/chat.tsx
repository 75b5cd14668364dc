import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, listModels, postJson, sseData, type ModelInfo } from '../api.js';
import { Markdown } from './chat-markdown.js';
import { ReplySpeaker, audioContext } from './chat-speech.js';
import {
  PAGE_ID,
  conversationSettingsOf,
  loadConversations,
  loadCurrent,
  loadSettings,
  newConversation,
  saveConversations,
  saveCurrent,
  saveSettings,
  titleOf,
  type ChatMessage,
  type ChatSettings,
  type Conversation,
  type ConversationSettings,
  type ReplyStats,
} from './chat-store.js';
import './chat.css';

/*
 * The Chat view: an installed chat model, a streamed reply
 * (/v1/chat/completions with stream:true) rendered as Markdown, Stop and
 * Regenerate, a system prompt and sampling options kept with each
 * conversation (a new one starts from the last used), conversations kept in
 * this browser (a reply cut by a reload is marked interrupted), each reply's
 * time to first token and tokens/s measured here, and "speak replies"
 * through the daemon's speech stream. The reply's
 * text is gathered as it arrives and drawn once per animation frame, so a
 * fast or very long reply never floods the page with renders.
 */

interface ChunkWire {
  readonly choices?: readonly { readonly delta?: { readonly content?: string | null } }[];
  readonly usage?: { readonly completion_tokens?: number } | null;
  readonly error?: { readonly message?: string; readonly hint?: string } | string;
}

/** An error as one sentence for the page, with the daemon's hint. */
const describe = (error: unknown): string => {
  if (error instanceof ApiError) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
};

/** A number field's value for the request, or undefined when it is blank or not a number. */
const numberOf = (text: string): number | undefined => {
  if (!text.trim()) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

const statsLine = (stats: ReplyStats | undefined): string[] => {
  const parts: string[] = [];
  if (stats?.ttftMs !== undefined) parts.push(`time to first token ${stats.ttftMs < 1000 ? `${Math.round(stats.ttftMs)} ms` : `${(stats.ttftMs / 1000).toFixed(2)} s`}`);
  if (stats?.tokensPerSecond !== undefined) parts.push(`${stats.atLeast ? '≥ ' : ''}${stats.tokensPerSecond >= 100 ? Math.round(stats.tokensPerSecond) : stats.tokensPerSecond.toFixed(1)} tokens/s`);
  if (stats?.tokens !== undefined) parts.push(`${stats.tokens} token${stats.tokens === 1 ? '' : 's'}`);
  return parts;
};

interface Streaming {
  readonly conversationId: string;
  readonly controller: AbortController;
}

const Reply = ({ message, live }: { message: ChatMessage; live: boolean }) => {
  const stats = statsLine(message.stats);
  return (
    <article class="chat-msg chat-assistant" aria-label="Reply" aria-busy={live}>
      {message.content ? <Markdown text={message.content} /> : live ? <p class="chat-waiting">…</p> : null}
      {message.error && (
        <p class="chat-error" role="alert">
          {message.error}
        </p>
      )}
      {(stats.length > 0 || message.stopped || message.model) && (
        <p class="chat-stats">
          {message.model && <span>{message.model}</span>}
          {stats.map((s) => (
            <span key={s}>{s}</span>
          ))}
          {message.stopped && <span class="chat-stopped">stopped</span>}
        </p>
      )}
      {message.interrupted && (
        <p class="chat-interrupted" title="Regenerate writes it again">
          Interrupted: the page was reloaded or closed before this reply finished.
        </p>
      )}
    </article>
  );
};

export const ChatView = () => {
  const [models, setModels] = useState<ModelInfo[] | undefined>();
  const [modelsError, setModelsError] = useState<string | undefined>();
  const [settings, setSettingsState] = useState<ChatSettings>(loadSettings);
  const [conversations, setConversations] = useState<Conversation[]>(loadConversations);
  // The list as last changed, so a reply that ends after the view was left is still kept.
  const latest = useRef(conversations);
  const commit = useCallback((change: (list: Conversation[]) => Conversation[], persist = true) => {
    const next = change(latest.current);
    if (next === latest.current) return;
    latest.current = next;
    setConversations(next);
    if (persist) saveConversations(next);
  }, []);
  const [currentId, setCurrentId] = useState<string>(() => loadCurrent() ?? '');
  const [draft, setDraft] = useState('');
  const [streaming, setStreaming] = useState<Streaming | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [modelsGeneration, setModelsGeneration] = useState(0);
  const logRef = useRef<HTMLDivElement>(null);
  const stickToEnd = useRef(true);
  const speaker = useRef<ReplySpeaker | undefined>(undefined);
  const streamingRef = useRef<Streaming | undefined>(undefined);
  streamingRef.current = streaming;

  const setSettings = (patch: Partial<ChatSettings>) =>
    setSettingsState((old) => {
      const next = { ...old, ...patch };
      saveSettings(next);
      return next;
    });

  // The installed models: chat ones to pick from, speech ones for "speak replies".
  useEffect(() => {
    const controller = new AbortController();
    setModelsError(undefined);
    listModels(controller.signal)
      .then(setModels)
      .catch((error: unknown) => {
        if ((error as Error).name !== 'AbortError') setModelsError(describe(error));
      });
    return () => controller.abort();
  }, [modelsGeneration]);

  const chatModels = useMemo(() => models?.filter((m) => m.kind === 'llm') ?? [], [models]);
  const voiceModels = useMemo(() => models?.filter((m) => m.kind === 'tts' && !m.broken) ?? [], [models]);
  const usable = chatModels.filter((m) => !m.broken);
  const model = settings.model && chatModels.some((m) => m.name === settings.model) ? settings.model : (usable[0]?.name ?? settings.model);
  const voiceModel = voiceModels.some((m) => m.name === settings.voiceModel) ? settings.voiceModel : (voiceModels[0]?.name ?? '');

  const current = conversations.find((c) => c.id === currentId);
  const messages = current?.messages ?? [];
  // The options shown: the conversation's own, or (before one starts) the last used, which it will start from.
  const options: ConversationSettings = current?.settings ?? conversationSettingsOf(settings);

  // Leaving the view stops the reply and its voice.
  useEffect(
    () => () => {
      streamingRef.current?.controller.abort();
      speaker.current?.stop();
    },
    [],
  );
  // A page that goes away mid-reply keeps what came, still marked pending: the next load says it was interrupted.
  const leaving = useRef(false);
  useEffect(() => {
    const keep = () => {
      leaving.current = true;
      if (streamingRef.current) saveConversations(latest.current);
    };
    // A page kept in the back/forward cache and shown again is not leaving any more.
    const back = () => void (leaving.current = false);
    // beforeunload comes first: a reload breaks the stream off before pagehide is told.
    addEventListener('beforeunload', keep);
    addEventListener('pagehide', keep);
    addEventListener('pageshow', back);
    return () => {
      removeEventListener('beforeunload', keep);
      removeEventListener('pagehide', keep);
      removeEventListener('pageshow', back);
    };
  }, []);

  /** Changes one conversation (kept first in the list, as the newest); `persist` writes the list to localStorage. */
  const update = useCallback((id: string, change: (c: Conversation) => Conversation, persist = true) => {
    commit((list) => {
      const found = list.find((c) => c.id === id);
      return found ? [change(found), ...list.filter((c) => c.id !== id)] : list;
    }, persist);
  }, [commit]);

  const patchLast = (id: string, patch: Partial<ChatMessage>, persist = false) =>
    update(id, (c) => ({ ...c, messages: [...c.messages.slice(0, -1), { ...c.messages[c.messages.length - 1]!, ...patch }] }), persist);

  /** Changes the options of the conversation shown (in place, not as the newest) and makes them the last used. */
  const setOptions = (patch: Partial<ConversationSettings>) => {
    setSettings(patch);
    if (!current) return;
    const id = current.id;
    commit((list) => list.map((c) => (c.id === id ? { ...c, settings: { ...c.settings, ...patch } } : c)));
  };

  /** Streams a reply to `history` into the conversation `id` (whose last message is the empty reply), with its `options`. */
  const stream = async (id: string, history: readonly ChatMessage[], options: ConversationSettings) => {
    const controller = new AbortController();
    setStreaming({ conversationId: id, controller });
    stickToEnd.current = true;
    speaker.current?.stop();
    speaker.current = undefined;
    if (settings.speak && voiceModel) {
      speaker.current = new ReplySpeaker(voiceModel, (message) => setNotice(message));
    }
    const voice = speaker.current;

    const started = performance.now();
    let firstAt: number | undefined;
    let lastAt: number | undefined;
    let text = '';
    let spoken = 0;
    let deltas = 0;
    let tokens: number | undefined;
    let frame = 0;
    const draw = () => {
      frame = 0;
      patchLast(id, { content: text, ...(firstAt !== undefined ? { stats: { ttftMs: firstAt - started } } : {}) });
      if (voice && text.length > spoken) {
        voice.append(text.slice(spoken));
        spoken = text.length;
      }
    };
    const stats = (): ReplyStats => {
      const count = tokens ?? deltas;
      const decode = firstAt !== undefined && lastAt !== undefined ? (lastAt - firstAt) / 1000 : 0;
      return {
        ...(firstAt !== undefined ? { ttftMs: firstAt - started } : {}),
        // The first token's time is in the time to first token; the rest over the time they took. A reply
        // that came all at once has no decode time to see: its tokens over the whole time are a floor.
        ...(count > 1 && decode > 0.005
          ? { tokensPerSecond: (count - 1) / decode }
          : count > 0 && lastAt !== undefined && lastAt > started
            ? { tokensPerSecond: count / ((lastAt - started) / 1000), atLeast: true }
            : {}),
        ...(count > 0 ? { tokens: count } : {}),
      };
    };

    const system = options.system.trim();
    const body = {
      model,
      messages: [...(system ? [{ role: 'system', content: system }] : []), ...history.map((m) => ({ role: m.role, content: m.content }))],
      stream: true,
      stream_options: { include_usage: true },
      ...(numberOf(options.temperature) !== undefined ? { temperature: numberOf(options.temperature) } : {}),
      ...(numberOf(options.topP) !== undefined ? { top_p: numberOf(options.topP) } : {}),
      ...(numberOf(options.maxTokens) !== undefined ? { max_tokens: Math.round(numberOf(options.maxTokens)!) } : {}),
    };
    try {
      const res = await postJson('/v1/chat/completions', body, controller.signal);
      for await (const data of sseData(res)) {
        let chunk: ChunkWire;
        try {
          chunk = JSON.parse(data) as ChunkWire;
        } catch {
          continue;
        }
        if (chunk.error) {
          const error = typeof chunk.error === 'string' ? { message: chunk.error } : chunk.error;
          throw new ApiError(error.message ?? 'The reply failed.', 500, undefined, error.hint);
        }
        const piece = chunk.choices?.[0]?.delta?.content;
        if (piece) {
          const now = performance.now();
          firstAt ??= now;
          lastAt = now;
          deltas++;
          text += piece;
          if (!frame) frame = requestAnimationFrame(draw);
        }
        if (chunk.usage?.completion_tokens !== undefined) {
          tokens = chunk.usage.completion_tokens;
          lastAt = performance.now();
        }
      }
      if (frame) cancelAnimationFrame(frame);
      draw();
      voice?.end();
      patchLast(id, { content: text, stats: stats(), pending: undefined }, true);
    } catch (error) {
      if (frame) cancelAnimationFrame(frame);
      if (leaving.current) return; // the page is going: the stream broke because of it, and what came is kept as pending
      if (controller.signal.aborted) {
        patchLast(id, { content: text, stats: stats(), stopped: true, pending: undefined }, true);
      } else {
        voice?.stop();
        patchLast(id, { content: text, stats: stats(), error: describe(error), pending: undefined }, true);
      }
    } finally {
      setStreaming((s) => (s?.controller === controller ? undefined : s));
    }
  };

  const send = (event?: Event) => {
    event?.preventDefault();
    const question = draft.trim();
    if (!question || streaming || !model) return;
    if (settings.speak) audioContext(); // made from this click, so it may play
    let conversation = current;
    if (!conversation) {
      conversation = newConversation(options);
      const made = conversation;
      commit((list) => [made, ...list], false);
      setCurrentId(made.id);
      saveCurrent(made.id);
    }
    const history: ChatMessage[] = [...conversation.messages, { role: 'user', content: question }];
    const id = conversation.id;
    update(id, (c) => ({ ...c, title: titleOf(history), messages: [...history, { role: 'assistant', content: '', model, pending: PAGE_ID }], updatedAt: Date.now() }));
    setDraft('');
    setSettings(conversation.settings); // sent with: the last used
    void stream(id, history, conversation.settings);
  };

  const regenerate = () => {
    if (!current || streaming || !model) return;
    if (settings.speak) audioContext();
    const history = messages[messages.length - 1]?.role === 'assistant' ? messages.slice(0, -1) : messages;
    if (!history.length) return;
    update(current.id, (c) => ({ ...c, messages: [...history, { role: 'assistant', content: '', model, pending: PAGE_ID }], updatedAt: Date.now() }));
    setSettings(current.settings);
    void stream(current.id, history, current.settings);
  };

  const stop = () => {
    streaming?.controller.abort();
    speaker.current?.stop();
  };

  const switchTo = (id: string) => {
    setCurrentId(id);
    saveCurrent(id);
    stickToEnd.current = true;
  };

  const startNew = () => {
    const made = newConversation(conversationSettingsOf(settings));
    commit((list) => [made, ...list.filter((c) => c.messages.length > 0)], false);
    switchTo(made.id);
  };

  const remove = (id: string) => {
    if (streaming?.conversationId === id) stop();
    commit((list) => list.filter((c) => c.id !== id));
    if (id === currentId) switchTo('');
  };

  // Follow the reply as it grows, unless the reader scrolled up.
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && stickToEnd.current) log.scrollTop = log.scrollHeight;
  });

  const live = streaming !== undefined && streaming.conversationId === current?.id;
  const last = messages[messages.length - 1];
  const past = conversations.filter((c) => c.messages.length > 0);

  return (
    <section class="chat" aria-labelledby="chat-title">
      <div class="chat-head">
        <h2 id="chat-title">Chat</h2>
        <label>
          Model
          <select
            aria-label="Model"
            value={model}
            onChange={(e) => setSettings({ model: (e.target as HTMLSelectElement).value })}
            disabled={!models || chatModels.length === 0}
          >
            {chatModels.length === 0 && <option value={model}>{models ? 'no chat model installed' : 'loading…'}</option>}
            {settings.model && models && !chatModels.some((m) => m.name === settings.model) && usable.length === 0 && <option value={settings.model}>{settings.model}</option>}
            {chatModels.map((m) => (
              <option key={m.name} value={m.name} disabled={m.broken !== undefined} title={m.broken ?? m.description}>
                {m.name}
                {m.broken ? ' (broken)' : ''}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setModelsGeneration((g) => g + 1)} title="Read the installed models again">
          Refresh models
        </button>
        <label class="chat-toggle">
          <span>
            <input
              type="checkbox"
              checked={settings.speak}
              onChange={(e) => {
                const speak = (e.target as HTMLInputElement).checked;
                if (!speak) speaker.current?.stop(); // turning it off silences the reply being spoken
                else audioContext();
                setSettings({ speak });
              }}
            />{' '}
            Speak replies
          </span>
        </label>
        {settings.speak && (
          <label>
            Voice model
            <select aria-label="Voice model" value={voiceModel} onChange={(e) => setSettings({ voiceModel: (e.target as HTMLSelectElement).value })} disabled={voiceModels.length === 0}>
              {voiceModels.length === 0 && <option value="">no speech model installed</option>}
              {voiceModels.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>

      {modelsError && (
        <p class="chat-error" role="alert">
          Could not list the models: {modelsError} <button onClick={() => setModelsGeneration((g) => g + 1)}>Retry</button>
        </p>
      )}
      {models && chatModels.length === 0 && (
        <p class="chat-note">
          No chat model is installed. Pull one in <a href="#models">Models</a> (or <code>murmur pull</code>), then refresh.
        </p>
      )}
      {notice && (
        <p class="chat-error" role="alert">
          {notice}{' '}
          <button type="button" onClick={() => setNotice(undefined)}>
            Dismiss
          </button>
        </p>
      )}

      <details class="chat-options">
        <summary>System prompt and sampling</summary>
        <label class="chat-wide">
          System prompt
          <textarea rows={2} value={options.system} placeholder="You are a helpful assistant." onInput={(e) => setOptions({ system: (e.target as HTMLTextAreaElement).value })} />
        </label>
        <div class="row">
          <label>
            Temperature
            <input type="number" min="0" max="2" step="0.1" inputMode="decimal" placeholder="default" value={options.temperature} onInput={(e) => setOptions({ temperature: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Top p
            <input type="number" min="0" max="1" step="0.05" inputMode="decimal" placeholder="default" value={options.topP} onInput={(e) => setOptions({ topP: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Max tokens
            <input type="number" min="1" step="1" inputMode="numeric" placeholder="default" value={options.maxTokens} onInput={(e) => setOptions({ maxTokens: (e.target as HTMLInputElement).value })} />
          </label>
        </div>
      </details>

      <div class="chat-body">
        <nav class="chat-history" aria-label="Conversations">
          <button type="button" onClick={startNew} disabled={!current || current.messages.length === 0}>
            New conversation
          </button>
          <ul>
            {past.map((c) => (
              <li key={c.id} class={c.id === currentId ? 'chat-current' : undefined}>
                <button type="button" class="chat-open" aria-current={c.id === currentId ? 'true' : undefined} onClick={() => switchTo(c.id)} title={c.title}>
                  {c.title}
                </button>
                <button type="button" class="chat-delete" aria-label={`Delete “${c.title}”`} title="Delete" onClick={() => remove(c.id)}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        </nav>

        <div class="chat-main">
          <div
            class="chat-log"
            ref={logRef}
            aria-label="Messages"
            role="log"
            onScroll={(e) => {
              const el = e.currentTarget as HTMLDivElement;
              stickToEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            }}
          >
            {messages.length === 0 && <p class="chat-note">Ask something to start a conversation.</p>}
            {messages.map((m, i) =>
              m.role === 'user' ? (
                <div key={i} class="chat-msg chat-user" aria-label="You">
                  {m.content}
                </div>
              ) : (
                <Reply key={i} message={m} live={live && i === messages.length - 1} />
              ),
            )}
          </div>

          <form class="chat-composer" onSubmit={send}>
            <label class="chat-wide">
              Message
              <textarea
                rows={3}
                value={draft}
                placeholder="Type a message; Enter sends, Shift+Enter starts a new line"
                onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
                }}
              />
            </label>
            <div class="chat-actions">
              {streaming ? (
                <button type="button" class="primary" onClick={stop}>
                  Stop
                </button>
              ) : (
                <button type="submit" class="primary" disabled={!draft.trim() || !model}>
                  Send
                </button>
              )}
              <button type="button" onClick={regenerate} disabled={streaming !== undefined || !last || !model}>
                Regenerate
              </button>
            </div>
          </form>
        </div>
      </div>
    </section>
  );
};
