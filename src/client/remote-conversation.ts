import WebSocket from 'ws';
import { fromErrorBody } from '../api/openai/errors.js';
import { createResampler, type Resampler } from '../audio/resample.js';
import { AppError } from '../errors.js';
import { createEventQueue } from '../runtime/event-queue.js';
import type { Conversation, ConversationEvent, ConversationItem, ConversationOptions, ConversationSettings, ResponseReason, ResponseStatus } from '../runtime/conversation.js';
import type { ListenEvent, ListenOptions, ListenSession } from '../runtime/listen-session.js';
import type { ChatMessage } from '../types/chat.js';

/**
 * Listening sessions and conversations on a murmur daemon, through its
 * realtime door (`/v1/realtime`, the GA dialect): the same events a
 * LocalRuntime's give, so `murmur talk` reads them alike wherever the
 * engines run. Audio goes out as pcm16 at 24 kHz and comes back the same.
 */

const RATE = 24_000;

export interface RealtimeTarget {
  /** The daemon's base URL (http or https). */
  readonly base: string;
  readonly apiKey?: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- server events are read field by field, as the wire has them */
type WireEvent = { type: string; [field: string]: any };

/** A socket to /v1/realtime with its session created; events after session.created go to `onEvent`. */
const openSocket = async (target: RealtimeTarget, query: string, session: Record<string, unknown>, onEvent: (event: WireEvent) => void, signal?: AbortSignal) => {
  const url = `${target.base.replace(/^http/, 'ws').replace(/\/+$/, '')}/v1/realtime?${query}`;
  const ws = new WebSocket(url, { headers: target.apiKey ? { Authorization: `Bearer ${target.apiKey}` } : {}, maxPayload: 64 * 1024 * 1024 });
  const send = (event: Record<string, unknown>) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(event));
  };
  const closed = new Promise<void>((done) => ws.once('close', () => done()));
  let created!: (session: WireEvent) => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<WireEvent>((resolve, reject) => ((created = resolve), (failed = reject)));
  let phase: 'created' | 'updated' | 'open' = 'created';
  const waiters: { test: (event: WireEvent) => boolean; done: () => void }[] = [];
  /** Resolves at the next event that passes `test`. */
  const waitFor = (test: (event: WireEvent) => boolean) => new Promise<void>((done) => waiters.push({ test, done }));
  ws.on('message', (data) => {
    let event: WireEvent;
    try {
      event = JSON.parse(String(data)) as WireEvent;
    } catch {
      return;
    }
    if (phase !== 'open') {
      if (event.type === 'error') return failed(fromErrorBody(400, { error: event.error }));
      if (phase === 'created' && event.type === 'session.created') {
        phase = 'updated';
        send({ type: 'session.update', session });
      } else if (phase === 'updated' && event.type === 'session.updated') {
        phase = 'open';
        created(event.session as WireEvent);
      }
      return;
    }
    onEvent(event);
    for (const w of [...waiters]) if (w.test(event)) (waiters.splice(waiters.indexOf(w), 1), w.done());
  });
  ws.once('error', (error) => {
    const certificate = /certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY/i.test(`${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`);
    failed(
      new AppError('daemon_unreachable', `No murmur daemon takes realtime sessions at ${target.base}: ${error.message}.`, {
        hint: certificate ? "The daemon's TLS certificate is not trusted here: run with NODE_EXTRA_CA_CERTS=cert.pem (its certificate)." : 'Start one with `murmur serve`, or set MURMUR_HOST.',
        cause: error,
      }),
    );
  });
  ws.once('close', (code, reason) => failed(new AppError(code === 4404 ? 'model_not_found' : 'invalid_request', `The daemon closed the realtime session (${code}${reason.length ? `: ${String(reason)}` : ''}).`)));
  const abort = () => ws.close(1000, 'aborted');
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return { ws, send, closed, waitFor, session: await ready };
  } catch (error) {
    ws.terminate();
    throw error;
  }
};

/** Float samples at any rate → base64 pcm16 at 24 kHz, through a resampler kept per rate. */
const createAudioOut = () => {
  let resampler: Resampler | undefined;
  let rate: number | undefined;
  return (samples: Float32Array, sampleRate: number): string => {
    if (rate !== sampleRate) ((rate = sampleRate), (resampler = createResampler(sampleRate, RATE)));
    const at24 = resampler!.push(samples);
    const bytes = Buffer.alloc(at24.length * 2);
    for (let i = 0; i < at24.length; i++) bytes.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(at24[i]! * 32767))), i * 2);
    return bytes.toString('base64');
  };
};
const samplesOf = (base64: string): Float32Array => {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2) / 32768;
  return out;
};

const turnDetectionOf = (options: Omit<ListenOptions, 'signal'> | undefined, settings: ConversationSettings = {}) =>
  options?.turnDetection === null
    ? null
    : {
        type: 'server_vad',
        ...(options?.turnDetection?.threshold !== undefined ? { threshold: options.turnDetection.threshold } : {}),
        ...(options?.turnDetection?.prefixPaddingMs !== undefined ? { prefix_padding_ms: options.turnDetection.prefixPaddingMs } : {}),
        ...(options?.turnDetection?.silenceDurationMs !== undefined ? { silence_duration_ms: options.turnDetection.silenceDurationMs } : {}),
        ...(settings.createResponse !== undefined ? { create_response: settings.createResponse } : {}),
        ...(settings.interruptResponse !== undefined ? { interrupt_response: settings.interruptResponse } : {}),
        ...(options?.vad ? { model: options.vad } : {}),
      };
const inputOf = (options: Omit<ListenOptions, 'signal'> | undefined, settings?: ConversationSettings) => ({
  format: { type: 'audio/pcm', rate: RATE },
  transcription: { ...(options?.model ? { model: options.model } : {}), ...(options?.language ? { language: options.language } : {}) },
  turn_detection: turnDetectionOf(options, settings),
});

/** Turns numbered by their item ids, as a LocalRuntime's listening session numbers them. */
const createTurns = () => {
  const turns = new Map<string, number>();
  const committedAt = new Map<string, number>();
  const partials = new Map<string, string>();
  const spans = new Map<string, { start?: number; end?: number }>();
  /** Turns started and not yet committed, or committed and not yet transcribed. */
  const open = new Set<string>();
  let wake: (() => void) | undefined;
  return {
    mark(event: WireEvent) {
      const id = event.item_id as string | undefined;
      if (!id) return;
      if (event.type === 'input_audio_buffer.speech_started' || event.type === 'input_audio_buffer.committed') open.add(id);
      if (event.type === 'conversation.item.input_audio_transcription.completed' || event.type === 'conversation.item.input_audio_transcription.failed') {
        open.delete(id);
        wake?.();
      }
    },
    /** Resolves once every turn begun has its transcript. */
    async settled(closed: Promise<void>) {
      let over = false;
      void closed.then(() => ((over = true), wake?.()));
      while (open.size && !over) await new Promise<void>((resolve) => (wake = resolve));
    },
    of: (itemId: string) => {
      let turn = turns.get(itemId);
      if (!turn) turns.set(itemId, (turn = turns.size + 1));
      return turn;
    },
    committed: (itemId: string) => committedAt.set(itemId, performance.now()),
    sinceCommit: (itemId: string) => Math.round(performance.now() - (committedAt.get(itemId) ?? performance.now())),
    /** Where the turn's speech started and stopped, in ms of the session's audio, as far as known. */
    span: (itemId: string) => {
      let span = spans.get(itemId);
      if (!span) spans.set(itemId, (span = {}));
      return span;
    },
    /** The turn's text so far, with `delta` added. */
    partial: (itemId: string, delta: string) => {
      const text = (partials.get(itemId) ?? '') + delta;
      partials.set(itemId, text);
      return text;
    },
  };
};

/** The listening events of a wire event, or undefined when it is not one. */
const listenEventOf = (event: WireEvent, turns: ReturnType<typeof createTurns>): (ListenEvent & { itemId?: string }) | undefined => {
  const itemId = event.item_id as string | undefined;
  turns.mark(event);
  switch (event.type) {
    case 'input_audio_buffer.speech_started':
      turns.span(itemId!).start = event.audio_start_ms;
      return { type: 'speech_started', turn: turns.of(itemId!), audioStartMs: event.audio_start_ms, itemId };
    case 'input_audio_buffer.speech_stopped':
      turns.span(itemId!).end = event.audio_end_ms;
      return { type: 'speech_stopped', turn: turns.of(itemId!), audioEndMs: event.audio_end_ms, itemId };
    case 'input_audio_buffer.committed': {
      turns.committed(itemId!);
      // OpenAI's committed carries no times: a turn detection gave them (a manual commit's are not known here).
      const span = turns.span(itemId!);
      return { type: 'committed', turn: turns.of(itemId!), audioStartMs: span.start ?? 0, audioEndMs: span.end ?? 0, itemId };
    }
    case 'conversation.item.input_audio_transcription.delta':
      return { type: 'transcript_delta', turn: turns.of(itemId!), delta: event.delta, text: turns.partial(itemId!, event.delta), itemId };
    case 'conversation.item.input_audio_transcription.completed':
      return { type: 'transcript', turn: turns.of(itemId!), text: event.transcript, transcribeMs: turns.sinceCommit(itemId!), itemId };
    case 'conversation.item.input_audio_transcription.failed':
      return { type: 'transcript_failed', turn: turns.of(itemId!), error: fromErrorBody(500, { error: event.error }), itemId };
    case 'input_audio_buffer.cleared':
      return { type: 'cleared' };
    default:
      return undefined;
  }
};

/** The listening half both kinds of session share: audio out, commits, clears. */
const listenHandle = <E>(socket: Awaited<ReturnType<typeof openSocket>>, model: string, vad: string | undefined, events: AsyncIterable<E>, close: () => Promise<void>): ListenSession & AsyncIterable<E> => {
  const out = createAudioOut();
  // The daemon handles an event after an append once that audio is through turn detection: an empty
  // session.update's reply says every turn in what was sent has been found.
  const idle = async () => {
    if (socket.ws.readyState !== WebSocket.OPEN) return;
    const updated = socket.waitFor((e) => e.type === 'session.updated' || e.type === 'transcription_session.updated');
    socket.send({ type: 'session.update', session: {} });
    await Promise.race([updated, socket.closed]);
  };
  return {
    model,
    ...(vad ? { vad } : {}),
    push(samples, sampleRate) {
      if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
        throw new AppError('invalid_request', `A sample rate must be from 1,000 to 384,000 Hz, not ${sampleRate}.`, { param: 'sample_rate' });
      }
      if (samples.length) socket.send({ type: 'input_audio_buffer.append', audio: out(samples, sampleRate) });
    },
    commit: () => socket.send({ type: 'input_audio_buffer.commit' }),
    clear: () => socket.send({ type: 'input_audio_buffer.clear' }),
    idle,
    close,
    [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
  } as ListenSession & AsyncIterable<E>;
};

/** A listening session on the daemon (`?intent=transcription`). */
export const openRemoteListen = async (target: RealtimeTarget, options: ListenOptions = {}): Promise<ListenSession> => {
  const queue = createEventQueue<ListenEvent>();
  const turns = createTurns();
  const socket = await openSocket(target, 'intent=transcription', { type: 'transcription', audio: { input: inputOf(options) } }, (event) => {
    const listened = listenEventOf(event, turns);
    if (listened) queue.push(listened);
  }, options.signal);
  void socket.closed.then(() => queue.end());
  const session = socket.session as { audio?: { input?: { transcription?: { model?: string } } } };
  const handle = listenHandle(socket, session.audio?.input?.transcription?.model ?? options.model ?? 'default', options.vad, queue, async () => {
    // As a local session's close: the turns in hand are transcribed first.
    await handle.idle();
    await turns.settled(socket.closed);
    socket.ws.close(1000, 'done');
    await socket.closed;
  });
  return handle;
};

/** A spoken conversation on the daemon (`?model=`). */
export const openRemoteConversation = async (target: RealtimeTarget, options: ConversationOptions = {}): Promise<Conversation> => {
  const queue = createEventQueue<ConversationEvent>();
  const turns = createTurns();
  const speak = options.speak === false ? false : (options.speak ?? {});
  const sessionFor = (settings: ConversationSettings, listen: ConversationOptions['listen']) => ({
    type: 'realtime',
    ...(settings.instructions !== undefined ? { instructions: settings.instructions } : {}),
    output_modalities: settings.speak === false ? ['text'] : ['audio'],
    ...(settings.maxOutputTokens !== undefined ? { max_output_tokens: settings.maxOutputTokens } : {}),
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(settings.tools ? { tools: settings.tools.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: t.parameters })) } : {}),
    audio: {
      ...(listen === false ? {} : { input: inputOf(listen, settings) }),
      ...(settings.speak ? { output: { ...(settings.speak.model ? { model: settings.speak.model } : {}), ...(settings.speak.voice ? { voice: settings.speak.voice } : {}), ...(settings.speak.speed ? { speed: settings.speak.speed } : {}) } } : {}),
    },
  });

  /* Responses as the daemon runs them: numbered here in the order they were created. */
  let responses = 0;
  const byId = new Map<string, { number: number; itemId?: string; started: boolean; offsetSamples: number; text: string }>();
  let busy = 0;
  const items: ConversationItem[] = [];
  const start = (r: { number: number; itemId?: string; started: boolean }) => {
    if (r.started) return;
    r.started = true;
    queue.push({ type: 'response_started', response: r.number, itemId: r.itemId ?? '' });
  };
  let settings: ConversationSettings = { ...options, speak };

  const onEvent = (event: WireEvent) => {
    const listened = listenEventOf(event, turns);
    if (listened) {
      queue.push(listened);
      if (listened.type === 'transcript') items.push({ id: listened.itemId!, message: { role: 'user', content: listened.text } });
      return;
    }
    switch (event.type) {
      case 'response.created':
        busy++;
        byId.set(event.response.id, { number: ++responses, started: false, offsetSamples: 0, text: '' });
        return;
      case 'response.output_item.added': {
        const r = byId.get(event.response_id);
        if (!r) return;
        if (event.item.type === 'message') r.itemId ??= event.item.id;
        start(r);
        return;
      }
      case 'response.output_audio_transcript.delta':
      case 'response.output_text.delta': {
        const r = byId.get(event.response_id);
        if (!r) return;
        start(r);
        r.text += event.delta;
        queue.push({ type: 'text_delta', response: r.number, text: event.delta });
        return;
      }
      case 'response.output_audio.delta': {
        const r = byId.get(event.response_id);
        if (!r) return;
        start(r);
        const samples = samplesOf(event.delta);
        queue.push({ type: 'audio', response: r.number, chunk: { samples, sampleRate: RATE, offsetSamples: r.offsetSamples, offsetMs: Math.round((r.offsetSamples / RATE) * 1000), text: '' } });
        r.offsetSamples += samples.length;
        return;
      }
      case 'response.function_call_arguments.done': {
        const r = byId.get(event.response_id);
        if (!r) return;
        start(r);
        queue.push({ type: 'tool_call', response: r.number, itemId: event.item_id, call: { id: event.call_id, name: event.name, arguments: event.arguments } });
        return;
      }
      case 'conversation.item.truncated': {
        const r = [...byId.values()].find((x) => x.itemId === event.item_id);
        queue.push({ type: 'truncated', response: r?.number ?? 0, itemId: event.item_id, audioEndMs: event.audio_end_ms, kept: '' });
        return;
      }
      case 'conversation.item.deleted':
        queue.push({ type: 'item_deleted', itemId: event.item_id });
        return;
      case 'response.done': {
        const r = byId.get(event.response.id);
        if (!r) return;
        start(r);
        busy = Math.max(0, busy - 1);
        const response = event.response;
        const timings = (event.murmur?.timings ?? {}) as Record<string, number>;
        const status = response.status as ResponseStatus;
        const calls = (response.output ?? []).filter((o: WireEvent) => o.type === 'function_call').map((o: WireEvent) => ({ id: o.call_id, name: o.name, arguments: o.arguments }));
        if (r.text) items.push({ id: r.itemId ?? response.id, message: { role: 'assistant', content: r.text } });
        queue.push({
          type: 'response_done',
          response: r.number,
          itemId: r.itemId ?? '',
          status,
          ...(response.status_details?.reason ? { reason: response.status_details.reason as ResponseReason } : {}),
          text: r.text,
          kept: r.text,
          spoken: r.offsetSamples > 0,
          ...(calls.length ? { toolCalls: calls } : {}),
          ...(response.usage ? { usage: { promptTokens: response.usage.input_tokens, completionTokens: response.usage.output_tokens, totalTokens: response.usage.total_tokens } } : {}),
          timings: {
            ...(timings.transcription_ms !== undefined ? { transcribeMs: timings.transcription_ms } : {}),
            ...(timings.first_token_ms !== undefined ? { firstTokenMs: timings.first_token_ms } : {}),
            ...(timings.first_audio_ms !== undefined ? { firstAudioMs: timings.first_audio_ms } : {}),
            totalMs: timings.total_ms ?? 0,
          },
          ...(status === 'failed' ? { error: fromErrorBody(500, { error: response.status_details?.error }) } : {}),
        });
        byId.delete(event.response.id);
        return;
      }
      case 'error':
        // The daemon refused one of our events: said, and the conversation goes on.
        queue.push({ type: 'error', error: fromErrorBody(400, { error: event.error }) });
        return;
    }
  };

  const socket = await openSocket(target, `model=${encodeURIComponent(options.model ?? 'default')}`, sessionFor(settings, options.listen), onEvent, options.signal);
  void socket.closed.then(() => queue.end());
  const session = socket.session as { audio?: { input?: { transcription?: { model?: string }; turn_detection?: { model?: string } } } };
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      socket.ws.close(1000, 'done');
      await socket.closed;
    })());
  // Its events come through the conversation's iterator; its own ends with the socket.
  const listenEvents = createEventQueue<ListenEvent>();
  void socket.closed.then(() => listenEvents.end());
  // Closing the listening side ends the input, not the conversation: the turns in hand are still answered.
  let listenClosed = false;
  const listen =
    options.listen === false
      ? undefined
      : listenHandle(socket, session.audio?.input?.transcription?.model ?? options.listen?.model ?? 'default', options.listen?.vad, listenEvents, async () => {
          if (listenClosed) return;
          listenClosed = true;
          await listen!.idle();
          await turns.settled(socket.closed);
          listenEvents.end();
        });
  const instructions = () => (settings.instructions ? [{ role: 'system' as const, content: settings.instructions }] : []);

  const conversation: Conversation = {
    ...(listen ? { listen } : {}),
    history: () => [...instructions(), ...items.map((i) => i.message)],
    items: () => [...items],
    settings: () => ({ ...settings }),
    update(next) {
      settings = { ...settings, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) };
      socket.send({ type: 'session.update', session: sessionFor(settings, options.listen) });
    },
    async setListen() {
      throw new AppError('not_supported', 'A conversation on a daemon keeps its listening session; change it with update().');
    },
    say(text, respond = settings.createResponse ?? true) {
      const id = conversation.add({ role: 'user', content: text });
      if (respond) conversation.respond();
      return id;
    },
    add(message: ChatMessage, place = {}) {
      const id = place.id ?? `item_${Math.random().toString(36).slice(2, 14)}`;
      const item =
        message.role === 'tool'
          ? { type: 'function_call_output', id, call_id: message.toolCallId, output: message.content }
          : { type: 'message', id, role: message.role, content: [{ type: message.role === 'assistant' ? 'output_text' : 'input_text', text: message.content }] };
      socket.send({ type: 'conversation.item.create', ...(place.previousItemId !== undefined ? { previous_item_id: place.previousItemId } : {}), item });
      items.push({ id, message });
      return id;
    },
    remove(itemId) {
      socket.send({ type: 'conversation.item.delete', item_id: itemId });
      const at = items.findIndex((i) => i.id === itemId);
      if (at >= 0) items.splice(at, 1);
    },
    respond(overrides = {}) {
      socket.send({
        type: 'response.create',
        response: {
          ...(overrides.instructions !== undefined ? { instructions: overrides.instructions } : {}),
          ...(overrides.maxOutputTokens !== undefined ? { max_output_tokens: overrides.maxOutputTokens } : {}),
          ...(overrides.speak !== undefined ? { output_modalities: overrides.speak === false ? ['text'] : ['audio'] } : {}),
        },
      });
      return responses + 1;
    },
    cancel() {
      if (!busy) return false;
      socket.send({ type: 'response.cancel' });
      return true;
    },
    busy: () => busy > 0,
    truncate(itemId, audioEndMs) {
      socket.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: Math.round(audioEndMs) });
    },
    close,
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
  return conversation;
};
