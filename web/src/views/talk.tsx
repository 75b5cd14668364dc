import { useEffect, useRef, useState } from 'preact/hooks';
import { apiKey, ApiError, request } from '../api.js';
import { useModelChoice } from './use-models.js';
import { createPlayer, fromBase64, microphoneProblem, openMicrophone, type Microphone, type Player } from './talk-audio.js';
import './talk.css';

/*
 * The Talk view: one button, and the microphone streams to the daemon's
 * realtime door (GET /v1/realtime, OpenAI's GA dialect) as pcm16 at 24 kHz.
 * The daemon's turn detection (server_vad) ends each turn; its transcript
 * and the reply's text appear as they stream, the reply's audio plays as
 * it comes, and speech over a reply silences it here (the daemon cancels
 * it: interrupt_response) and tells the daemon how much was heard
 * (conversation.item.truncate). Each reply shows murmur's per-stage
 * timings from response.done.
 */

/** The few server events the view reads (GA names, and the beta ones for the same things). */
interface ServerEvent {
  readonly type: string;
  readonly event_id?: string;
  readonly item_id?: string;
  readonly response_id?: string;
  readonly delta?: string;
  readonly transcript?: string;
  readonly text?: string;
  readonly error?: { readonly message?: string; readonly hint?: string; readonly code?: string; readonly event_id?: string | null };
  readonly response?: {
    readonly id: string;
    readonly status?: string;
    readonly status_details?: { readonly type?: string; readonly reason?: string; readonly error?: { readonly message?: string } } | null;
    readonly usage?: { readonly output_tokens?: number } | null;
  };
  readonly murmur?: { readonly timings?: Timings };
}

interface Timings {
  readonly transcription_ms?: number;
  readonly first_token_ms?: number;
  readonly first_audio_ms?: number;
  readonly total_ms?: number;
}

interface Entry {
  /** The user's item id, or the reply's response id. */
  readonly key: string;
  readonly role: 'user' | 'assistant';
  readonly text: string;
  readonly done: boolean;
  readonly note?: string;
  readonly timings?: Timings;
  readonly tokens?: number;
  /** Ms of the reply's audio played before speech over it silenced it here. */
  readonly heardMs?: number;
}

type Phase = 'idle' | 'starting' | 'live' | 'closed';
type Activity = 'listening' | 'hearing' | 'thinking' | 'speaking';

interface Meter {
  /** response.output_audio.delta events received. */
  readonly deltas: number;
  /** Of them, the ones queued for playback. */
  readonly queued: number;
  /** Seconds of reply audio queued. */
  readonly seconds: number;
  /** Replies silenced by speech over them. */
  readonly interrupted: number;
}

const NO_METER: Meter = { deltas: 0, queued: 0, seconds: 0, interrupted: 0 };
const LIMIT_KEY = 'murmur.talk.maxTokens';
const MODEL_KEY = 'murmur.talk.model';

const socketUrl = (model: string) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/realtime?model=${encodeURIComponent(model)}`;

/** Browsers cannot set headers on a WebSocket: the key goes as a subprotocol, as OpenAI's browser clients send it. */
const protocols = () => ['realtime', ...(apiKey() ? [`openai-insecure-api-key.${apiKey()}`] : [])];

const closeMessage = (code: number, reason: string) => {
  if (code === 1006) return 'The connection to the daemon dropped (code 1006). Is `murmur serve` still running?';
  if (code === 1008 && /key/i.test(reason)) return `The daemon refused the connection: ${reason} (code 1008).`;
  return `The connection closed${reason ? `: ${reason}` : ''} (code ${code}).`;
};

const ms = (value: number | undefined) => (value === undefined ? undefined : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`);

const Breakdown = ({ timings, tokens }: { timings: Timings; tokens?: number }) => {
  const parts = [
    ['transcription', timings.transcription_ms],
    ['first token', timings.first_token_ms],
    ['first audio', timings.first_audio_ms],
    ['total', timings.total_ms],
  ].filter(([, v]) => v !== undefined) as [string, number][];
  return (
    <dl class="talk-timings" aria-label="Latency">
      {parts.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{ms(value)}</dd>
        </div>
      ))}
      {tokens !== undefined && (
        <div>
          <dt>tokens</dt>
          <dd>{tokens}</dd>
        </div>
      )}
    </dl>
  );
};

const noteOf = (response: NonNullable<ServerEvent['response']>): string | undefined => {
  const details = response.status_details;
  if (response.status === 'cancelled') return details?.reason === 'turn_detected' ? 'interrupted' : 'cancelled';
  if (response.status === 'incomplete') return details?.reason === 'max_output_tokens' ? 'cut at the token limit' : `incomplete${details?.reason ? ` (${details.reason})` : ''}`;
  if (response.status === 'failed') return `failed${details?.error?.message ? `: ${details.error.message}` : ''}`;
  return undefined;
};

export const TalkView = () => {
  const [limit, setLimit] = useState(localStorage.getItem(LIMIT_KEY) ?? '');
  const [phase, setPhase] = useState<Phase>('idle');
  const [activity, setActivity] = useState<Activity>('listening');
  const [entries, setEntries] = useState<Entry[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const { models, model, setModel } = useModelChoice(
    (m) => m.kind === 'llm' && !m.broken,
    (error) => setProblem(error instanceof ApiError ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : String(error)),
    localStorage.getItem(MODEL_KEY) ?? '',
  );
  const [notice, setNotice] = useState<string | undefined>();
  const [meter, setMeter] = useState<Meter>(NO_METER);
  const level = useRef<HTMLSpanElement>(null);
  const log = useRef<HTMLOListElement>(null);
  const live = useRef<{ ws?: WebSocket; mic?: Microphone; context?: AudioContext; player?: Player; closing?: boolean; speakingItem?: string; speakingResponse?: string; truncates: number }>({ truncates: 0 });

  useEffect(() => () => teardown(), []);

  // The newest line in view as the conversation grows.
  useEffect(() => {
    const list = log.current;
    if (list && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: 'nearest' });
  }, [entries]);

  const update = (key: string, role: Entry['role'], change: (entry: Entry) => Entry) =>
    setEntries((list) => {
      const at = list.findIndex((e) => e.key === key);
      if (at < 0) return [...list, change({ key, role, text: '', done: false })];
      const next = list.slice();
      next[at] = change(list[at]!);
      return next;
    });

  /** Stops the microphone, the playback and the socket; `why` (when the socket closed by itself) is shown. */
  function teardown() {
    const s = live.current;
    s.closing = true;
    s.mic?.stop();
    s.player?.stop();
    if (s.ws && s.ws.readyState <= WebSocket.OPEN) s.ws.close(1000, 'The page stopped talking.');
    void s.context?.close().catch(() => undefined);
    live.current = { truncates: s.truncates };
    if (level.current) level.current.style.width = '0%';
  }

  /** Speech over the reply: silence it here, and say how much of it was heard. */
  const interrupt = () => {
    const s = live.current;
    if (!s.player?.busy()) return;
    const item = s.speakingItem;
    const heard = item ? s.player.heardMs(item) : undefined;
    s.player.stop();
    setMeter((m) => ({ ...m, interrupted: m.interrupted + 1 }));
    if (s.speakingResponse) update(s.speakingResponse, 'assistant', (e) => ({ ...e, heardMs: heard ?? 0 }));
    if (item && heard !== undefined && s.ws?.readyState === WebSocket.OPEN) {
      s.ws.send(JSON.stringify({ type: 'conversation.item.truncate', event_id: `talk_truncate_${++s.truncates}`, item_id: item, content_index: 0, audio_end_ms: heard }));
    }
  };

  const onEvent = (event: ServerEvent) => {
    const s = live.current;
    switch (event.type) {
      case 'session.created': {
        const tokens = Number.parseInt(limit, 10);
        if (Number.isFinite(tokens) && tokens > 0) s.ws?.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', max_output_tokens: tokens } }));
        setPhase('live');
        setActivity('listening');
        return;
      }
      case 'input_audio_buffer.speech_started':
        interrupt();
        setActivity('hearing');
        return;
      case 'input_audio_buffer.speech_stopped':
        setActivity('thinking');
        return;
      case 'input_audio_buffer.committed':
        if (event.item_id) update(event.item_id, 'user', (e) => e);
        return;
      case 'conversation.item.input_audio_transcription.delta':
        if (event.item_id) update(event.item_id, 'user', (e) => ({ ...e, text: e.text + (event.delta ?? '') }));
        return;
      case 'conversation.item.input_audio_transcription.completed':
        if (event.item_id) update(event.item_id, 'user', (e) => ({ ...e, text: event.transcript ?? e.text, done: true, note: event.transcript ? undefined : 'nothing heard' }));
        return;
      case 'conversation.item.input_audio_transcription.failed':
        if (event.item_id) update(event.item_id, 'user', (e) => ({ ...e, done: true, note: `not transcribed${event.error?.message ? `: ${event.error.message}` : ''}` }));
        return;
      case 'response.created':
        if (event.response) update(event.response.id, 'assistant', (e) => e);
        setActivity('thinking');
        return;
      case 'response.output_audio_transcript.delta':
      case 'response.audio_transcript.delta':
      case 'response.output_text.delta':
      case 'response.text.delta':
        if (event.response_id) update(event.response_id, 'assistant', (e) => ({ ...e, text: e.text + (event.delta ?? '') }));
        return;
      case 'response.output_audio.delta':
      case 'response.audio.delta': {
        if (!event.delta || !s.player) return;
        s.speakingItem = event.item_id;
        s.speakingResponse = event.response_id;
        const seconds = s.player.push(fromBase64(event.delta), event.item_id);
        setMeter((m) => ({ ...m, deltas: m.deltas + 1, queued: m.queued + (seconds > 0 ? 1 : 0), seconds: m.seconds + seconds }));
        setActivity('speaking');
        return;
      }
      case 'response.done':
        if (event.response) {
          const response = event.response;
          update(response.id, 'assistant', (e) => ({ ...e, done: true, note: noteOf(response), timings: event.murmur?.timings, tokens: response.usage?.output_tokens }));
        }
        setActivity((a) => (a === 'hearing' ? a : 'listening'));
        return;
      case 'error': {
        // A truncate the daemon could not apply (the reply already gone) changes nothing for the person talking.
        if (event.error?.event_id?.startsWith('talk_truncate_')) return;
        setNotice(`${event.error?.message ?? 'The daemon reported an error.'}${event.error?.hint ? ` ${event.error.hint}` : ''}`);
        return;
      }
    }
  };

  const start = async () => {
    if (!model) return;
    teardown();
    setProblem(undefined);
    setNotice(undefined);
    setPhase('starting');
    localStorage.setItem(MODEL_KEY, model);
    if (limit.trim()) localStorage.setItem(LIMIT_KEY, limit.trim());
    else localStorage.removeItem(LIMIT_KEY);
    // Made in the click, so the browser lets it sound.
    const context = new AudioContext();
    const s: typeof live.current = { context, player: createPlayer(context), truncates: live.current.truncates };
    live.current = s;
    void context.resume().catch(() => undefined);
    let ready = false;
    try {
      s.mic = await openMicrophone(
        context,
        (chunk) => {
          if (ready && s.ws?.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: chunk }));
        },
        (value) => {
          if (level.current) level.current.style.width = `${Math.round(value * 100)}%`;
        },
      );
    } catch (error) {
      teardown();
      setProblem(microphoneProblem(error));
      setPhase('closed');
      return;
    }
    if (live.current !== s) return s.mic.stop(); // stopped while the browser asked
    let ws: WebSocket;
    try {
      ws = new WebSocket(socketUrl(model), protocols());
    } catch (error) {
      teardown();
      setProblem(`Could not open the connection: ${(error as Error).message}`);
      setPhase('closed');
      return;
    }
    s.ws = ws;
    let lastError: string | undefined;
    ws.onmessage = (message) => {
      if (live.current !== s) return;
      let event: ServerEvent;
      try {
        event = JSON.parse(String(message.data)) as ServerEvent;
      } catch {
        return;
      }
      if (event.type === 'session.created') ready = true;
      if (event.type === 'error') lastError = event.error?.message;
      onEvent(event);
    };
    ws.onclose = (event) => {
      if (live.current !== s || s.closing) return;
      const reason = event.reason || (lastError ?? '');
      teardown();
      setNotice(undefined);
      setProblem(closeMessage(event.code, reason));
      setPhase('closed');
      // A refused key: asking for any API route makes the shell ask for the key again.
      if (event.code === 1008 && /key/i.test(reason)) void request('/v1/models').catch(() => undefined);
    };
  };

  const stop = () => {
    teardown();
    setPhase('idle');
  };

  const talking = phase === 'starting' || phase === 'live';
  const status = phase === 'starting' ? 'Connecting…' : phase === 'live' ? { listening: 'Listening — speak when you like.', hearing: 'Hearing you…', thinking: 'Thinking…', speaking: 'Speaking — talk over it to interrupt.' }[activity] : phase === 'closed' ? 'Not connected.' : 'Press Start and speak.';

  return (
    <section class="talk" aria-labelledby="talk-title" data-phase={phase} data-activity={activity} data-audio-deltas={meter.deltas} data-audio-queued={meter.queued} data-interrupted={meter.interrupted}>
      <h2 id="talk-title">Talk</h2>
      <div class="row">
        <label>
          Chat model
          <select value={model} disabled={talking || !models?.length} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
            {models === undefined && <option value="">Loading…</option>}
            {models?.length === 0 && <option value="">No chat model installed</option>}
            {models?.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Longest reply (tokens)
          <input type="number" min="1" step="1" inputMode="numeric" placeholder="model's default" value={limit} disabled={talking} onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" class={`talk-button ${talking ? '' : 'primary'}`} onClick={talking ? stop : () => void start()} disabled={!talking && !model} aria-pressed={talking}>
          {talking ? 'Stop' : phase === 'closed' ? 'Reconnect' : 'Start talking'}
        </button>
      </div>
      {models?.length === 0 && !problem && <p class="muted">No chat model is installed: pull one in Models (or `murmur pull qwen3`), and a voice, a recognizer and a VAD for speech.</p>}
      <p class="talk-status" role="status">
        <span class="talk-level" aria-hidden="true">
          <span ref={level} />
        </span>
        {status}
      </p>
      {problem && (
        <p class="talk-problem error" role="alert">
          {problem}
        </p>
      )}
      {notice && (
        <p class="talk-notice" role="status">
          {notice}
        </p>
      )}
      <ol class="talk-log" ref={log} aria-label="Conversation" aria-live="polite">
        {entries.map((e) => (
          <li key={e.key} class={`talk-${e.role}`} data-done={e.done ? 'true' : 'false'}>
            <span class="talk-who">{e.role === 'user' ? 'You' : 'Reply'}</span>
            <p class="talk-text">{e.text || (e.done ? '' : '…')}</p>
            {(e.note || e.heardMs !== undefined) && (
              <span class="talk-note muted">
                {[e.heardMs !== undefined ? `interrupted after ${ms(e.heardMs)} of speech` : undefined, e.heardMs !== undefined && e.note === 'interrupted' ? undefined : e.note].filter(Boolean).join('; ')}
              </span>
            )}
            {e.timings && <Breakdown timings={e.timings} tokens={e.tokens} />}
          </li>
        ))}
      </ol>
      <p class="muted talk-meter">
        Reply audio: {meter.deltas} chunks received, {meter.seconds.toFixed(1)} s queued{meter.interrupted ? `, ${meter.interrupted} interrupted` : ''}.
      </p>
    </section>
  );
};
