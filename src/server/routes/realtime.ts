import { randomBytes } from 'node:crypto';
import alawmulaw from 'alawmulaw';
import { Hono, type Context } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import {
  applySessionUpdate,
  audioBytesOf,
  clientEventIdOf,
  defaultConfig,
  errorEventOf,
  eventName,
  fromClientEvent,
  itemOf,
  MAX_EVENT_BYTES,
  partOf,
  RATE_OF,
  sessionEventName,
  sessionOf,
  type Dialect,
  type ItemView,
  type RealtimeAudioFormat,
  type RealtimeClientEvent,
  type RealtimeConfig,
  type RealtimeItem,
  type ServerEvent,
} from '../../api/openai/realtime.js';
import { createEncoder, type AudioEncoder } from '../../audio/encode.js';
import { AppError } from '../../errors.js';
import type { Conversation, ConversationEvent, ResponseSettings } from '../../runtime/conversation.js';
import type { ListenEvent, ListenOptions, ListenSession } from '../../runtime/listen-session.js';
import type { ChatMessage } from '../../types/chat.js';
import type { RouteDeps, ServerEnv } from '../context.js';
import type { Tenants } from '../tenants.js';
import { withArticle } from '../../text/article.js';

/**
 * `GET /v1/realtime`: OpenAI's Realtime API over a WebSocket. `?model=`
 * opens a spoken conversation (the core's listen → chat → speech loop, with
 * barge-in); `?intent=transcription` a transcription-only session. The
 * client events drive one core Conversation (or ListenSession), and its
 * events go back as the Realtime API's, in the GA dialect or, for clients
 * that send `OpenAI-Beta: realtime=v1`, the beta one. A bad event gets an
 * error event and the session goes on; limits (sessions, duration, event
 * size, a client that stops reading) get an error event and a close.
 */

export interface RealtimeLimits {
  /** Sessions open at once (MURMUR_MAX_REALTIME, default 16). */
  readonly maxSessions: number;
  /** The longest a session may last, in ms (30 minutes). */
  readonly maxSessionMs: number;
  /** How long a client may leave audio unread (the socket's buffer full) before it is closed, in ms (15 s). */
  readonly stallMs: number;
}

/** Bytes queued on the socket above which the session waits before sending more. */
const SEND_HIGH_WATER = 1024 * 1024;
/** Close codes: a session limit (try again later), a policy (duration, not reading), a message too big. */
const CLOSE_TRY_LATER = 1013;
const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;

/** OpenAI's realtime model names: they mean the default chat model, as whisper-1 means the default recognizer. */
/** G.711 (CommonJS: its codecs are read off the default export). */
const { alaw, mulaw } = alawmulaw;

const isOpenAIRealtimeModel = (name: string) => /^gpt-(4o-)?(mini-)?realtime/i.test(name) || /^gpt-4o(-mini)?-realtime/i.test(name);

const newId = (prefix: string) => {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let id = `${prefix}_`;
  for (const byte of randomBytes(20)) id += letters[byte % letters.length];
  return id;
};

/** The key a request carries: a bearer header, or (browsers) the `openai-insecure-api-key.KEY` subprotocol. */
const keyOf = (c: Context): string | undefined => {
  const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('Authorization')?.trim() ?? '')?.[1];
  if (bearer) return bearer;
  const offered = (c.req.header('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length);
};
/** The beta dialect: the header, or (browsers) the `openai-beta.realtime-v1` subprotocol. */
const dialectOf = (c: Context): Dialect => {
  const header = c.req.header('OpenAI-Beta') ?? '';
  const offered = c.req.header('Sec-WebSocket-Protocol') ?? '';
  return /realtime=v1/i.test(header) || /openai-beta\.realtime-v1/i.test(offered) ? 'beta' : 'ga';
};

/* ---------- audio ---------- */

const int16ToFloat = (pcm: Int16Array) => {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
};
/** An append's bytes as samples at the format's rate. */
const samplesOf = (bytes: Buffer, format: RealtimeAudioFormat): Float32Array => {
  if (format === 'pcmu') return int16ToFloat(mulaw.decode(bytes));
  if (format === 'pcma') return int16ToFloat(alaw.decode(bytes));
  const copy = new Int16Array(bytes.length / 2);
  for (let i = 0; i < copy.length; i++) copy[i] = bytes.readInt16LE(i * 2);
  return int16ToFloat(copy);
};
/** 16-bit PCM bytes (little-endian) in the output format. */
const encodeOut = (pcm: Uint8Array, format: RealtimeAudioFormat): Uint8Array => {
  if (format === 'pcm' || !pcm.length) return pcm;
  const samples = new Int16Array(pcm.length >> 1);
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return format === 'pcmu' ? mulaw.encode(samples) : alaw.encode(samples);
};

/* ---------- one session ---------- */

interface ResponseState {
  readonly id: string;
  readonly number: number;
  readonly audio: boolean;
  readonly outputFormat: RealtimeAudioFormat;
  readonly voice?: string;
  readonly maxOutputTokens?: number;
  itemId?: string;
  /** The assistant message announced (it is, at the first text or audio). */
  messageAnnounced: boolean;
  outputs: ItemView[];
  encoder?: AudioEncoder;
  cancelling: boolean;
}

interface SessionOptions {
  readonly deps: RouteDeps;
  readonly ws: WSContext<WebSocket>;
  readonly dialect: Dialect;
  readonly config: RealtimeConfig;
  readonly maxSessionMs: number;
  readonly stallMs: number;
  readonly onEnd: () => void;
  /** Told each response's token use, for its key's tokens-per-minute (tenants.ts). */
  readonly onUsage?: (promptTokens: number, completionTokens: number) => void;
}

const createRealtimeSession = async ({ deps, ws, dialect, config: initial, maxSessionMs, stallMs, onEnd, onUsage }: SessionOptions) => {
  const runtime = deps.runtime;
  const controller = new AbortController();
  const signal = AbortSignal.any([deps.shutdown, controller.signal]);
  const sessionId = newId('sess');
  const conversationId = newId('conv');
  let config = initial;
  let closed = false;
  let lastServerEvent = 0;

  /* Sending, with a bound on what a client that does not read can pile up. */
  const send = (event: ServerEvent) => {
    if (ws.readyState !== 1) return;
    // The beta dialect has no item.done: its items are whole when created.
    if (dialect === 'beta' && event.type === 'conversation.item.done') return;
    const named = { ...event, type: eventName(event.type, dialect), event_id: `event_${++lastServerEvent}` };
    ws.send(JSON.stringify(named));
  };
  const roomToSend = async () => {
    const since = Date.now();
    while (ws.readyState === 1 && ws.raw!.bufferedAmount > SEND_HIGH_WATER) {
      if (Date.now() - since > stallMs) {
        end(CLOSE_POLICY, 'The client stopped reading; the session is closed.');
        ws.raw!.terminate();
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const sendError = (error: unknown, clientEventId?: string) => send(errorEventOf(error, clientEventId) as ServerEvent);

  /* What the session resolved to: the recognizer and the voice. */
  let asrModel: string | undefined;
  let voice: string | undefined;
  let ttsModel: string | undefined;
  const facts = () => ({ ...(ttsModel ? { ttsModel } : {}), id: sessionId, expiresAt: Math.floor((Date.now() + maxSessionMs) / 1000), ...(asrModel ? { asrModel } : {}), ...(voice ? { voice } : {}) });

  /** Opens a listening session for `next`; throws (the caller keeps the old) when its models are wrong. */
  const openListenFor = async (next: RealtimeConfig): Promise<ListenSession> => {
    const options: ListenOptions = {
      ...(next.transcription?.model ? { model: next.transcription.model } : {}),
      ...(next.transcription?.language ? { language: next.transcription.language } : {}),
      ...(next.vadModel ? { vad: next.vadModel } : {}),
      turnDetection: next.turnDetection && { threshold: next.turnDetection.threshold, prefixPaddingMs: next.turnDetection.prefixPaddingMs, silenceDurationMs: next.turnDetection.silenceDurationMs },
      signal,
    };
    try {
      return await runtime.openListen!(options);
    } catch (error) {
      if (error instanceof AppError && next.transcription?.model && (error.code === 'model_not_found' || error.code === 'model_not_downloaded' || error.code === 'model_kind_mismatch')) {
        throw new AppError(error.code, error.message, { param: 'session.audio.input.transcription.model', ...(error.hint ? { hint: error.hint } : {}) });
      }
      throw error;
    }
  };
  /** Checks a voice by opening (and dropping) a speech session with it; returns the voice it resolves to. */
  const checkVoice = async (next: RealtimeConfig) => {
    const probe = await runtime.openSpeech({ ...(next.ttsModel ? { model: next.ttsModel } : {}), ...(next.voice ? { voice: next.voice } : {}), ...(next.speed ? { speed: next.speed } : {}), signal });
    probe.cancel();
    ttsModel = probe.model;
    return probe.voice;
  };
  const listenChanged = (a: RealtimeConfig, b: RealtimeConfig) =>
    a.vadModel !== b.vadModel ||
    JSON.stringify([a.transcription?.model, a.transcription?.language, a.turnDetection && [a.turnDetection.threshold, a.turnDetection.prefixPaddingMs, a.turnDetection.silenceDurationMs]]) !==
    JSON.stringify([b.transcription?.model, b.transcription?.language, b.turnDetection && [b.turnDetection.threshold, b.turnDetection.prefixPaddingMs, b.turnDetection.silenceDurationMs]]);

  /* The core: a conversation (realtime) or a listening session alone (transcription). */
  let conversation: Conversation | undefined;
  let listen: ListenSession | undefined;
  /** Why audio cannot be taken (no recognizer or VAD installed), said on the first append. */
  let listenUnavailable: unknown;

  const settingsOf = (c: RealtimeConfig): ResponseSettings & { createResponse: boolean; interruptResponse: boolean } => ({
    model: c.model,
    instructions: c.instructions,
    tools: c.tools,
    toolChoice: c.toolChoice,
    maxOutputTokens: c.maxOutputTokens,
    temperature: c.temperature,
    speak: c.outputModalities.includes('audio') ? { ...(c.ttsModel ? { model: c.ttsModel } : {}), ...(c.voice ? { voice: c.voice } : {}), ...(c.speed ? { speed: c.speed } : {}) } : false,
    // Without turn detection a commit makes no response by itself: the client sends response.create, as with OpenAI.
    createResponse: c.turnDetection ? c.turnDetection.createResponse : false,
    interruptResponse: c.turnDetection?.interruptResponse ?? false,
  });

  if (config.type === 'realtime') {
    conversation = await runtime.openConversation!({ ...settingsOf(config), model: config.model, listen: false, signal });
    config = { ...config, model: (conversation.settings().model as string | undefined) ?? config.model };
  }
  try {
    const opened = await openListenFor(config);
    asrModel = opened.model;
    if (conversation) await conversation.setListen(opened);
    else listen = opened;
  } catch (error) {
    if (config.type === 'transcription') throw error;
    listenUnavailable = error;
  }
  if (config.outputModalities.includes('audio')) {
    try {
      voice = await checkVoice(config);
    } catch {
      // No voice installed: the session still opens; an audio response fails with the reason, and text ones work.
    }
  }

  /* ---------- core events → server events ---------- */

  const responses = new Map<number, ResponseState>();
  let active: ResponseState | undefined;
  /** User items that came from audio turns (their content is input_audio). */
  const audioItems = new Set<string>();

  const viewOfMessage = (id: string, message: ChatMessage): ItemView => {
    if (message.role === 'tool') return { kind: 'function_call_output', id, callId: message.toolCallId ?? '', output: message.content };
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const call = message.toolCalls[0]!;
      return { kind: 'function_call', id, status: 'completed', callId: call.id, name: call.name, arguments: call.arguments };
    }
    if (audioItems.has(id)) return { kind: 'message', id, role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: message.content || null }] };
    if (message.role === 'assistant') return { kind: 'message', id, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: message.content }] };
    return { kind: 'message', id, role: message.role === 'system' ? 'system' : 'user', status: 'completed', content: [{ type: 'input_text', text: message.content }] };
  };
  const previousOf = (itemId: string): string | null => {
    const items = conversation?.items() ?? [];
    const at = items.findIndex((i) => i.id === itemId);
    return at > 0 ? items[at - 1]!.id : null;
  };

  const responseObject = (r: ResponseState, status: string, extra: Record<string, unknown> = {}) => ({
    object: 'realtime.response',
    id: r.id,
    status,
    status_details: null,
    output: r.outputs.map((o) => itemOf(o, dialect)),
    conversation_id: conversationId,
    [dialect === 'beta' ? 'modalities' : 'output_modalities']: r.audio ? (dialect === 'beta' ? ['audio', 'text'] : ['audio']) : ['text'],
    max_output_tokens: r.maxOutputTokens ?? 'inf',
    ...(dialect === 'beta' ? { voice: r.voice ?? null, output_audio_format: r.outputFormat === 'pcm' ? 'pcm16' : r.outputFormat === 'pcmu' ? 'g711_ulaw' : 'g711_alaw' } : { audio: { output: { format: r.outputFormat === 'pcm' ? { type: 'audio/pcm', rate: 24_000 } : { type: `audio/${r.outputFormat}` }, voice: r.voice ?? null } } }),
    usage: null,
    metadata: null,
    ...extra,
  });

  /** A response's wire state, as the session's settings (and the response's overrides) make it. */
  const newResponseState = (number: number, overrides: { audio?: boolean; maxOutputTokens?: number }): ResponseState => {
    const maxOutputTokens = overrides.maxOutputTokens ?? config.maxOutputTokens;
    return {
      id: newId('resp'),
      number,
      audio: overrides.audio ?? config.outputModalities.includes('audio'),
      outputFormat: config.outputFormat,
      ...(voice ? { voice } : {}),
      ...(maxOutputTokens ? { maxOutputTokens } : {}),
      messageAnnounced: false,
      outputs: [],
      cancelling: false,
    };
  };

  const messageBase = (r: ResponseState) => ({ response_id: r.id, item_id: r.itemId!, output_index: 0, content_index: 0 });
  const announceMessage = (r: ResponseState) => {
    if (r.messageAnnounced) return;
    r.messageAnnounced = true;
    const view: ItemView = { kind: 'message', id: r.itemId!, role: 'assistant', status: 'in_progress', content: [] };
    send({ type: 'response.output_item.added', response_id: r.id, output_index: 0, item: itemOf(view, dialect) });
    send({ type: 'conversation.item.added', previous_item_id: conversation!.items().at(-1)?.id ?? null, item: itemOf(view, dialect) });
    send({ type: 'response.content_part.added', ...messageBase(r), part: r.audio ? { type: 'audio', transcript: '' } : { type: 'text', text: '' } });
  };

  const onListenEvent = (event: ListenEvent & { itemId?: string }) => {
    const itemId = event.itemId;
    switch (event.type) {
      case 'speech_started':
        // The core cancels the running response as speech starts (interrupt_response): nothing more of it is sent.
        if (active?.itemId && (config.turnDetection?.interruptResponse ?? true)) active.cancelling = true;
        send({ type: 'input_audio_buffer.speech_started', audio_start_ms: event.audioStartMs, item_id: itemId });
        break;
      case 'speech_stopped':
        send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: event.audioEndMs, item_id: itemId });
        break;
      case 'committed':
        turnMs.set(itemId!, event.audioEndMs - event.audioStartMs);
        audioItems.add(itemId!);
        send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: conversation ? previousOf(itemId!) : null });
        break;
      case 'transcript_delta':
        if (config.transcription === null) break;
        streamed.add(itemId!);
        send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: event.delta });
        break;
      case 'transcript':
        if (config.transcription === null) break;
        // A model that does not stream gives its text as one delta, then the completed transcript.
        if (event.text && !streamed.delete(itemId!)) send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: event.text });
        send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: event.text, usage: { type: 'duration', seconds: (turnMs.get(itemId!) ?? 0) / 1000 } });
        turnMs.delete(itemId!);
        deps.metrics.observeRealtimeStage('transcription', event.transcribeMs / 1000);
        break;
      case 'transcript_failed':
        send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId ?? null, content_index: 0, error: errorEventOf(event.error).error });
        break;
      case 'cleared':
        send({ type: 'input_audio_buffer.cleared' });
        break;
    }
  };
  /** Each committed turn's length in ms, for its transcription's usage. */
  const turnMs = new Map<string, number>();
  /** Turns whose transcript came as deltas while they were spoken. */
  const streamed = new Set<string>();

  const onEvent = async (event: ConversationEvent) => {
    switch (event.type) {
      case 'item_added': {
        if (event.response !== undefined) return; // a reply's items were announced as the response ran
        const view = viewOfMessage(event.item.id, event.item.message);
        send({ type: 'conversation.item.added', previous_item_id: event.previousItemId, item: itemOf(view, dialect) });
        send({ type: 'conversation.item.done', previous_item_id: event.previousItemId, item: itemOf(view, dialect) });
        return;
      }
      case 'item_deleted':
        send({ type: 'conversation.item.deleted', item_id: event.itemId });
        return;
      case 'truncated':
        send({ type: 'conversation.item.truncated', item_id: event.itemId, content_index: 0, audio_end_ms: event.audioEndMs });
        return;
      case 'response_started': {
        // A turn that detection ended starts its response in the core (create_response): its state is made here.
        let r = responses.get(event.response);
        if (!r) {
          r = newResponseState(event.response, {});
          responses.set(event.response, r);
          active = r;
        }
        r.itemId = event.itemId;
        send({ type: 'response.created', response: responseObject(r, 'in_progress') });
        return;
      }
      case 'text_delta': {
        const r = responses.get(event.response);
        if (!r || r.cancelling) return;
        announceMessage(r);
        send({ type: r.audio ? 'response.output_audio_transcript.delta' : 'response.output_text.delta', ...messageBase(r), delta: event.text });
        return;
      }
      case 'audio': {
        const r = responses.get(event.response);
        if (!r || r.cancelling) return;
        announceMessage(r);
        // pcm16 (resampled) is cheap work: done here, not on an encoder thread, whose hop (niced, on a busy
        // machine) cost 20–25 ms before the first audio in half the turns measured.
        r.encoder ??= createEncoder('pcm', { sampleRate: event.chunk.sampleRate, outputRate: RATE_OF[r.outputFormat] });
        const bytes = encodeOut(r.encoder.push(event.chunk.samples), r.outputFormat);
        await roomToSend();
        if (bytes.length && !r.cancelling) send({ type: 'response.output_audio.delta', ...messageBase(r), delta: Buffer.from(bytes).toString('base64') });
        return;
      }
      case 'tool_call': {
        const r = responses.get(event.response);
        if (!r) return;
        const view: ItemView = { kind: 'function_call', id: event.itemId, status: 'in_progress', callId: event.call.id, name: event.call.name, arguments: '' };
        const outputIndex = (r.messageAnnounced ? 1 : 0) + r.outputs.filter((o) => o.kind === 'function_call').length;
        send({ type: 'response.output_item.added', response_id: r.id, output_index: outputIndex, item: itemOf(view, dialect) });
        send({ type: 'conversation.item.added', previous_item_id: conversation!.items().at(-1)?.id ?? null, item: itemOf(view, dialect) });
        send({ type: 'response.function_call_arguments.delta', response_id: r.id, item_id: event.itemId, output_index: outputIndex, call_id: event.call.id, delta: event.call.arguments });
        send({ type: 'response.function_call_arguments.done', response_id: r.id, item_id: event.itemId, output_index: outputIndex, call_id: event.call.id, name: event.call.name, arguments: event.call.arguments });
        const done: ItemView = { ...view, status: 'completed', arguments: event.call.arguments };
        r.outputs.push(done);
        send({ type: 'response.output_item.done', response_id: r.id, output_index: outputIndex, item: itemOf(done, dialect) });
        send({ type: 'conversation.item.done', item: itemOf(done, dialect) });
        return;
      }
      case 'response_done': {
        const r = responses.get(event.response);
        if (!r) return;
        responses.delete(event.response);
        if (active === r) active = undefined;
        const finished = event.status === 'completed';
        if (r.messageAnnounced) {
          if (r.audio) {
            if (r.encoder) {
              const tail = encodeOut(r.encoder.end(), r.outputFormat);
              if (tail.length && event.status !== 'cancelled') send({ type: 'response.output_audio.delta', ...messageBase(r), delta: Buffer.from(tail).toString('base64') });
            }
            send({ type: 'response.output_audio.done', ...messageBase(r) });
            send({ type: 'response.output_audio_transcript.done', ...messageBase(r), transcript: event.text });
          } else {
            send({ type: 'response.output_text.done', ...messageBase(r), text: event.text });
          }
          const part = r.audio ? { type: 'audio', transcript: event.text } : { type: 'text', text: event.text };
          send({ type: 'response.content_part.done', ...messageBase(r), part });
          const view: ItemView = { kind: 'message', id: r.itemId!, role: 'assistant', status: finished ? 'completed' : 'incomplete', content: [r.audio ? { type: 'output_audio', transcript: event.text } : { type: 'output_text', text: event.text }] };
          r.outputs.unshift(view);
          send({ type: 'response.output_item.done', response_id: r.id, output_index: 0, item: itemOf(view, dialect) });
          send({ type: 'conversation.item.done', item: itemOf(view, dialect) });
        } else r.encoder?.dispose();
        if (event.usage) onUsage?.(event.usage.promptTokens, event.usage.completionTokens);
        const usage = event.usage && {
          total_tokens: event.usage.totalTokens,
          input_tokens: event.usage.promptTokens,
          output_tokens: event.usage.completionTokens,
          input_token_details: { text_tokens: event.usage.promptTokens, audio_tokens: 0, cached_tokens: 0, image_tokens: 0 },
          output_token_details: { text_tokens: event.usage.completionTokens, audio_tokens: 0 },
        };
        const details =
          event.status === 'completed'
            ? null
            : event.status === 'failed'
              ? { type: 'failed', error: errorEventOf(event.error).error }
              : { type: event.status, reason: event.reason };
        const t = event.timings;
        const timings = {
          ...(t.transcribeMs !== undefined ? { transcription_ms: t.transcribeMs } : {}),
          ...(t.firstTokenMs !== undefined ? { first_token_ms: t.firstTokenMs } : {}),
          ...(t.firstAudioMs !== undefined ? { first_audio_ms: t.firstAudioMs } : {}),
          total_ms: t.totalMs,
        };
        if (t.firstTokenMs !== undefined) deps.metrics.observeRealtimeStage('first_token', t.firstTokenMs / 1000);
        if (t.firstAudioMs !== undefined) deps.metrics.observeRealtimeStage('first_audio', t.firstAudioMs / 1000);
        // murmur's per-stage timings ride in `murmur`, which OpenAI's clients ignore.
        send({ type: 'response.done', response: responseObject(r, event.status, { status_details: details, usage: usage ?? null }), murmur: { timings } });
        return;
      }
      case 'error':
        sendError(event.error);
        return;
      default:
        onListenEvent(event);
    }
  };

  /** The core's events, handled one at a time, in order. */
  const pumping = (async () => {
    if (!conversation) return;
    try {
      for await (const event of conversation) {
        if (closed) break;
        try {
          await onEvent(event);
        } catch (error) {
          sendError(error);
        }
      }
    } catch (error) {
      if (!closed) sendError(error);
    }
  })();

  /* ---------- client events ---------- */

  const requireListen = (): ListenSession => {
    const session = conversation?.listen ?? listen;
    if (session) return session;
    throw listenUnavailable instanceof Error
      ? listenUnavailable
      : new AppError('invalid_request', 'This session takes no audio: no speech-to-text model is installed.', { hint: 'Run `murmur pull` for a recognizer (and silero-vad for turn detection).' });
  };
  const requireConversation = (what: string): Conversation => {
    if (conversation) return conversation;
    throw new AppError('invalid_request', `A transcription session has no conversation: ${what} is for realtime sessions.`, { hint: 'Open one with ?model=CHAT_MODEL.' });
  };

  const messageOf = (item: RealtimeItem): ChatMessage => {
    if (item.type === 'function_call_output') return { role: 'tool', content: item.output, toolCallId: item.call_id };
    if (item.type === 'function_call') return { role: 'assistant', content: '', toolCalls: [{ id: item.call_id ?? newId('call'), name: item.name, arguments: item.arguments }] };
    if (item.content.some((c) => c.type === 'input_audio' && c.audio)) {
      throw new AppError('not_supported', 'Audio inside conversation.item.create is not taken.', { param: 'item.content', hint: 'Send audio with input_audio_buffer.append (and commit), or the text as input_text.' });
    }
    const text = item.content.map((c) => c.text ?? c.transcript ?? '').join('');
    return { role: item.role, content: text };
  };

  const startResponse = (overrides: ResponseSettings & { audio?: boolean; voice?: string }) => {
    const c = requireConversation('response.create');
    if (active && !active.cancelling) {
      throw new AppError('session_conflict', `The conversation already has an active response (${active.id}); cancel it first or wait for response.done.`, { hint: 'Send response.cancel to stop it.' });
    }
    const audio = overrides.audio ?? config.outputModalities.includes('audio');
    const { audio: _audio, voice: wanted, ...settings } = overrides;
    const number = c.respond({
      ...settings,
      speak: audio ? { ...(config.ttsModel ? { model: config.ttsModel } : {}), ...((wanted ?? config.voice) ? { voice: wanted ?? config.voice } : {}), ...(config.speed ? { speed: config.speed } : {}) } : false,
    });
    const r = newResponseState(number, overrides);
    responses.set(number, r);
    active = r;
  };

  const handle = async (event: RealtimeClientEvent) => {
    const eventId = event.event_id;
    switch (event.type) {
      case 'session.update':
      case 'transcription_session.update': {
        const next = applySessionUpdate(config, event.session, dialect, eventId);
        if (conversation && next.model && next.model !== config.model) {
          const chosen = isOpenAIRealtimeModel(next.model) ? config.model! : next.model;
          const found = await runtime.getModel(chosen).catch((error: unknown) => {
            throw error instanceof AppError ? new AppError(error.code, error.message, { param: 'session.model', ...(error.hint ? { hint: error.hint } : {}) }) : error;
          });
          if (found.kind !== 'llm') throw new AppError('model_kind_mismatch', `'${chosen}' is ${withArticle(found.kind)} model; a realtime session's model must be a chat model.`, { param: 'session.model' });
          Object.assign(next, { model: found.name });
        }
        let nextVoice = voice;
        // A voice named is checked even for text replies: a response.create may ask for audio later.
        if (next.voice !== config.voice || next.speed !== config.speed || next.ttsModel !== config.ttsModel || (next.outputModalities.includes('audio') && !voice)) nextVoice = await checkVoice(next);
        if (listenChanged(config, next) || (!conversation?.listen && !listen)) {
          const opened = await openListenFor(next);
          asrModel = opened.model;
          listenUnavailable = undefined;
          if (conversation) await conversation.setListen(opened);
          else {
            const old = listen;
            listen = opened;
            await old?.close();
            void pumpListen(opened);
          }
        }
        config = next;
        voice = nextVoice;
        if (conversation) conversation.update(settingsOf(config));
        send({ type: sessionEventName('updated', config, dialect), session: sessionOf(config, facts(), dialect) });
        return;
      }
      case 'input_audio_buffer.append': {
        const session = requireListen();
        const bytes = audioBytesOf(event.audio, config.inputFormat, eventId);
        if (bytes.length) session.push(samplesOf(bytes, config.inputFormat), RATE_OF[config.inputFormat]);
        // The events after an append are handled once its audio is through turn detection: a reply to a later
        // event (session.updated, say) tells a client that every turn in what it sent has been found.
        await session.idle();
        return;
      }
      case 'input_audio_buffer.commit':
        requireListen().commit();
        return;
      case 'input_audio_buffer.clear':
        requireListen().clear();
        return;
      case 'output_audio_buffer.clear':
        throw new AppError('not_supported', 'output_audio_buffer.clear is for WebRTC connections; over a WebSocket, send response.cancel and conversation.item.truncate.');
      case 'conversation.item.create': {
        const c = requireConversation('conversation.item.create');
        c.add(messageOf(event.item), { ...(event.previous_item_id !== undefined ? { previousItemId: event.previous_item_id } : {}), ...(event.item.id ? { id: event.item.id } : {}) });
        return;
      }
      case 'conversation.item.delete':
        requireConversation('conversation.item.delete').remove(event.item_id);
        return;
      case 'conversation.item.retrieve': {
        const c = requireConversation('conversation.item.retrieve');
        const found = c.items().find((i) => i.id === event.item_id);
        if (!found) throw new AppError('invalid_request', `There is no item '${event.item_id}'.`, { param: 'item_id' });
        send({ type: 'conversation.item.retrieved', item: itemOf(viewOfMessage(found.id, found.message), dialect) });
        return;
      }
      case 'conversation.item.truncate': {
        const c = requireConversation('conversation.item.truncate');
        if (event.content_index !== 0) throw new AppError('invalid_request', `Item '${event.item_id}' has one content part; content_index ${event.content_index} is not one.`, { param: 'content_index' });
        c.truncate(event.item_id, event.audio_end_ms);
        return;
      }
      case 'response.create': {
        const p = event.response ?? {};
        if (p.conversation === 'none') {
          throw new AppError('not_supported', 'Out-of-band responses (conversation: "none") are not supported yet.', { param: 'response.conversation', hint: 'Leave conversation out (or "auto").' });
        }
        const modalities = p.output_modalities ?? p.modalities;
        const tokens = p.max_output_tokens ?? p.max_response_output_tokens;
        const v = p.audio?.output?.voice ?? p.voice;
        startResponse({
          ...(p.instructions !== undefined ? { instructions: p.instructions } : {}),
          ...(p.tools ? { tools: p.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) })) } : {}),
          ...(p.tool_choice ? { toolChoice: typeof p.tool_choice === 'string' ? p.tool_choice : { name: p.tool_choice.name } } : {}),
          ...(tokens !== undefined && tokens !== 'inf' ? { maxOutputTokens: tokens } : {}),
          ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
          ...(modalities ? { audio: modalities.includes('audio') } : {}),
          ...(v !== undefined ? { voice: typeof v === 'string' ? v : v.id } : {}),
        });
        return;
      }
      case 'response.cancel': {
        const c = requireConversation('response.cancel');
        if (!active || active.cancelling || (event.response_id && event.response_id !== active.id)) {
          throw new AppError('invalid_request', event.response_id && active && event.response_id !== active.id ? `Response '${event.response_id}' is not the active one (${active.id}).` : 'There is no active response to cancel.', { param: 'response_id' });
        }
        active.cancelling = true;
        c.cancel('client_cancelled');
        return;
      }
    }
  };

  /** A transcription session's listening events (and, after a swap, the new session's). */
  const pumpListen = async (session: ListenSession) => {
    const ids = new Map<number, string>();
    try {
      for await (const event of session) {
        if (closed) break;
        if ('turn' in event && event.turn) {
          let id = ids.get(event.turn);
          if (!id) ids.set(event.turn, (id = newId('item')));
          onListenEvent({ ...event, itemId: id });
        } else onListenEvent(event);
      }
    } catch (error) {
      if (!closed) sendError(error);
    }
  };
  if (listen) void pumpListen(listen);

  let chain: Promise<void> = Promise.resolve();
  const end = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    controller.abort(new DOMException('The realtime session ended.', 'AbortError'));
    void conversation?.close();
    void listen?.close();
    for (const r of responses.values()) r.encoder?.dispose();
    if (ws.readyState === 1) ws.close(code, reason);
    onEnd();
  };

  send({ type: sessionEventName('created', config, dialect), session: sessionOf(config, facts(), dialect) });

  return {
    receive(data: string | ArrayBuffer | Blob) {
      if (closed) return;
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data instanceof ArrayBuffer ? data.byteLength : data.size;
      if (size > MAX_EVENT_BYTES) {
        sendError(new AppError('payload_too_large', `The event is ${size} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes (15 MiB).`, { hint: 'Send audio in smaller appends (20–100 ms each is usual).' }));
        end(CLOSE_TOO_BIG, 'An event was larger than 15 MiB.');
        return;
      }
      let event: RealtimeClientEvent;
      try {
        if (typeof data !== 'string') throw new AppError('invalid_request', 'Binary messages are not taken; send JSON text events (audio base64 in input_audio_buffer.append).');
        event = fromClientEvent(data);
      } catch (error) {
        // In order with the events before it, which may still be in hand.
        chain = chain.then(() => sendError(error));
        return;
      }
      // Barge-in and cancels are marked at once, so no audio of a cancelled response is sent after them.
      chain = chain.then(async () => {
        if (closed) return;
        try {
          await handle(event);
        } catch (error) {
          sendError(error, clientEventIdOf(error) ?? event.event_id);
        }
      });
    },
    end,
    /** The socket went away: generation and synthesis stop, the leases go back. */
    async gone() {
      end(1000, 'gone');
      await pumping.catch(() => undefined);
    },
  };
};

/** Close codes past the standard ones: the request was bad (4400) or named no such model (4404), as HTTP would say. */
const closeCodeOf = (error: unknown) =>
  error instanceof AppError && (error.code === 'model_not_found' || error.code === 'model_not_downloaded') ? 4404 : error instanceof AppError && error.code === 'rate_limited' ? 4429 : 4400;
const reasonOf = (message: string) => (Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 119).toString().replace(/\uFFFD$/, '')}…`);

export const realtimeRoutes = (deps: RouteDeps, upgrade: UpgradeWebSocket<WebSocket>, tenants: Tenants, limits: RealtimeLimits) => {
  let open = 0;
  return new Hono<ServerEnv>().get(
    '/realtime',
    upgrade((c) => {
      const dialect = dialectOf(c);
      const intent = c.req.query('intent');
      const model = c.req.query('model')?.trim();
      const key = keyOf(c);
      const tenant = key !== undefined ? tenants.identify(key) : undefined;
      const authorized = !tenants.enabled || tenant !== undefined;
      if (tenant) c.set('tenant', tenant);
      // The session counts as one of its key's streams for as long as its socket is open.
      let releaseKey: (() => void) | undefined;
      if (model) c.set('model', model);
      let session: Awaited<ReturnType<typeof createRealtimeSession>> | undefined;
      let counted = false;
      let gone = false;
      const early: (string | ArrayBuffer)[] = [];
      const refuse = (ws: WSContext<WebSocket>, error: unknown, code = closeCodeOf(error)) => {
        ws.send(JSON.stringify({ ...errorEventOf(error), event_id: 'event_0' }));
        ws.close(code, reasonOf((error as Error).message));
      };
      return {
        onOpen: async (_event, ws) => {
          if (!authorized) {
            return refuse(ws, new AppError('unauthorized', key ? 'Incorrect API key provided.' : 'No API key: send Authorization: Bearer KEY, or the subprotocol openai-insecure-api-key.KEY.'), 1008);
          }
          try {
            if (tenant) releaseKey = tenants.admit(tenant);
          } catch (error) {
            return refuse(ws, error);
          }
          if (intent !== undefined && intent !== 'transcription') {
            return refuse(ws, new AppError('invalid_request', `Unknown intent '${intent}'; the one there is: transcription.`, { param: 'intent' }));
          }
          if (intent !== 'transcription' && !model) {
            return refuse(ws, new AppError('invalid_request', 'A realtime session needs a chat model: connect to /v1/realtime?model=CHAT_MODEL (or ?intent=transcription to transcribe only).', { param: 'model' }));
          }
          if (open >= limits.maxSessions) {
            return refuse(ws, new AppError('overloaded', `The daemon holds ${limits.maxSessions} realtime sessions, its most (MURMUR_MAX_REALTIME).`, { hint: 'Try again when one ends, or raise MURMUR_MAX_REALTIME.' }), CLOSE_TRY_LATER);
          }
          open++;
          deps.metrics.realtime.inc();
          counted = true;
          const release = () => {
            if (!counted) return;
            counted = false;
            open--;
            deps.metrics.realtime.dec();
          };
          let timer: NodeJS.Timeout | undefined;
          try {
            const chatModel = intent === 'transcription' ? undefined : isOpenAIRealtimeModel(model!) ? undefined : model;
            session = await createRealtimeSession({
              deps,
              ws,
              dialect,
              config: defaultConfig(intent === 'transcription' ? 'transcription' : 'realtime', chatModel),
              maxSessionMs: limits.maxSessionMs,
              stallMs: limits.stallMs,
              ...(tenant ? { onUsage: (prompt: number, completion: number) => tenant.charge(prompt, completion) } : {}),
              onEnd: () => {
                clearTimeout(timer);
                release();
              },
            });
          } catch (error) {
            release();
            return refuse(ws, error);
          }
          if (gone) return void session.gone();
          timer = setTimeout(() => {
            ws.send(JSON.stringify({ ...errorEventOf(new AppError('invalid_request', `The session reached its longest duration (${Math.round(limits.maxSessionMs / 60_000)} minutes).`, { hint: 'Open a new session to go on.' })), event_id: 'event_end' }));
            session?.end(CLOSE_POLICY, 'The session reached its maximum duration.');
          }, limits.maxSessionMs);
          timer.unref();
          for (const data of early.splice(0)) session.receive(data);
        },
        onMessage: (event) => {
          const data = event.data as string | ArrayBuffer;
          if (session) session.receive(data);
          else if (early.length < 1024) early.push(data);
        },
        onClose: () => {
          gone = true;
          releaseKey?.();
          void session?.gone();
        },
      };
    }),
    () => {
      throw new AppError('invalid_request', 'This endpoint is a WebSocket: connect with a WebSocket client (Upgrade: websocket), e.g. the openai package\'s OpenAIRealtimeWS.');
    },
  );
};
