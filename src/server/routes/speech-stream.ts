import { Hono, type Context } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import {
  DEFAULT_CONTEXT,
  fromClientMessage,
  fromStreamQuery,
  KEY_PROTOCOL_PREFIX,
  toAudioDelta,
  toContextDone,
  toErrorEvent,
  toStreamCreated,
  type ClientMessage,
  type StreamPlan,
} from '../../api/murmur/speech-stream.js';
import type { AsyncAudioEncoder } from '../../audio/encoder-pool.js';
import { AppError } from '../../errors.js';
import type { SpeechSession } from '../../runtime/speech-session.js';
import type { RouteDeps, ServerEnv } from '../context.js';
import type { Tenants } from '../tenants.js';

/**
 * `GET /audio/speech/stream`: a WebSocket that takes text and gives back
 * audio, with several contexts per socket (each its own core speech
 * session, voice and queue). A bad message gets an error event, never a
 * dropped socket; a wrong key closes it with 1008 before any audio. Audio
 * waits while the socket's send buffer is full, which pauses the context's
 * synthesis (its session's bounded buffer).
 */

/** Contexts one socket may hold open at once. */
export const MAX_CONTEXTS = 16;
/** The largest message a client may send: 1 MiB. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Bytes queued on the socket above which a context waits before sending more audio. */
const SEND_HIGH_WATER = 1024 * 1024;


/** The key a WebSocket request carries: a bearer header, or (browsers) a `murmur-key.KEY` subprotocol. */
const keyOf = (c: Context): string | undefined => {
  const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('Authorization')?.trim() ?? '')?.[1];
  if (bearer) return bearer;
  const offered = (c.req.header('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith(KEY_PROTOCOL_PREFIX))?.slice(KEY_PROTOCOL_PREFIX.length);
};

interface Speaking {
  readonly session: SpeechSession;
  readonly pumped: Promise<void>;
}

/** One socket's contexts and the order its messages are handled in. */
const createSocketState = (deps: RouteDeps, plan: StreamPlan, ws: WSContext<WebSocket>) => {
  const contexts = new Map<string, Promise<Speaking>>();
  let chain: Promise<void> = Promise.resolve();
  let closing = false;

  const send = (event: unknown) => {
    if (ws.readyState === 1) ws.send(JSON.stringify(event));
  };
  const roomToSend = async () => {
    while (ws.readyState === 1 && ws.raw!.bufferedAmount > SEND_HIGH_WATER) await new Promise((r) => setTimeout(r, 5));
  };

  const pump = async (id: string, session: SpeechSession) => {
    let encoder: AsyncAudioEncoder | undefined;
    const encoderFor = (rate: number) => (encoder ??= deps.encoders.open(plan.format, { sampleRate: rate, outputRate: plan.outputRate }));
    const deliver = (bytes: Uint8Array, text: string, offsetMs: number) => {
      if (!bytes.length) return;
      send(toAudioDelta(id, bytes, text, offsetMs, encoder!.sampleRate, plan.binary));
      if (plan.binary && ws.readyState === 1) ws.raw!.send(bytes);
    };
    try {
      for await (const chunk of session) {
        await roomToSend();
        deliver(await encoderFor(chunk.sampleRate).push(chunk.samples), chunk.text, chunk.offsetMs);
      }
      const progress = session.progress();
      if (progress.state !== 'cancelled') deliver(await encoderFor(session.sampleRate ?? 24_000).end(), '', Math.round(progress.seconds * 1000));
      send(toContextDone(id, progress));
    } catch (error) {
      send(toErrorEvent(error as Error, id));
    } finally {
      contexts.delete(id);
    }
  };

  const open = (id: string, message: Extract<ClientMessage, { type: 'input_text.append' }>) => {
    if (contexts.size >= MAX_CONTEXTS) {
      throw new AppError('invalid_request', `A socket holds at most ${MAX_CONTEXTS} contexts at once; close one first.`, { param: 'context_id' });
    }
    const opening = deps.runtime
      .openSpeech({ model: message.model ?? plan.model, voice: message.voice ?? plan.voice, speed: message.speed, signal: deps.shutdown })
      .then((session) => ({ session, pumped: pump(id, session) }));
    contexts.set(id, opening);
    opening.catch(() => contexts.delete(id));
    return opening;
  };

  const handle = async (message: ClientMessage) => {
    if (message.type === 'session.close') {
      closing = true;
      const open = [...contexts.values()];
      for (const speaking of open) (await speaking).session.close();
      await Promise.allSettled(open.map(async (s) => (await s).pumped));
      ws.close(1000, 'session closed');
      return;
    }
    const id = message.context_id ?? DEFAULT_CONTEXT;
    const existing = contexts.get(id);
    if (message.type === 'input_text.append') {
      if (!message.text) throw new AppError('invalid_request', "The append is empty: 'text' has no characters.", { param: 'text', hint: 'Send {"type":"input_text.flush"} to speak what is buffered.' });
      const speaking = await (existing ?? open(id, message));
      speaking.session.append(message.text);
      return;
    }
    if (!existing) throw new AppError('session_not_found', `No open context '${id}' on this socket.`, { param: 'context_id' });
    const { session } = await existing;
    if (message.type === 'input_text.flush') session.flush();
    else if (message.type === 'context.close') session.close();
    else session.cancel();
  };

  return {
    receive(data: string | ArrayBuffer | Blob) {
      let message: ClientMessage;
      try {
        if (typeof data !== 'string') throw new AppError('invalid_request', 'Binary messages are not taken; send JSON text frames.');
        message = fromClientMessage(data);
      } catch (error) {
        send(toErrorEvent(error as Error));
        return;
      }
      chain = chain.then(async () => {
        if (closing) return;
        try {
          await handle(message);
        } catch (error) {
          send(toErrorEvent(error as Error, 'context_id' in message ? (message.context_id ?? DEFAULT_CONTEXT) : undefined));
        }
      });
    },
    /** The socket went away: every context stops, and its model lease goes back. */
    async end() {
      closing = true;
      for (const speaking of contexts.values()) void speaking.then((s) => s.session.cancel(), () => undefined);
    },
  };
};

/** Close codes past the standard ones: the request was bad (4400) or named no such model (4404), as HTTP would say. */
const closeCodeOf = (error: unknown) =>
  error instanceof AppError && (error.code === 'model_not_found' || error.code === 'model_not_downloaded') ? 4404 : error instanceof AppError && error.code === 'rate_limited' ? 4429 : 4400;
/** A close reason is at most 123 bytes. */
const reasonOf = (message: string) => (Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 119).toString().replace(/\uFFFD$/, '')}…`);

export const speechStreamRoutes = (deps: RouteDeps, upgrade: UpgradeWebSocket<WebSocket>, tenants: Tenants) =>
  new Hono<ServerEnv>().get(
    '/audio/speech/stream',
    upgrade((c) => {
      // node-ws answers a refused upgrade with a bare status line, so what is wrong is said on the open socket instead: an error event, then the close.
      let plan: StreamPlan | undefined;
      let refused: unknown;
      try {
        plan = fromStreamQuery((name) => c.req.query(name));
        if (plan.model) c.set('model', plan.model);
      } catch (error) {
        refused = error;
      }
      const key = keyOf(c);
      const tenant = key !== undefined ? tenants.identify(key) : undefined;
      const authorized = !tenants.enabled || tenant !== undefined;
      if (tenant) c.set('tenant', tenant);
      // The socket counts as one of its key's streams for as long as it is open.
      let release: (() => void) | undefined;
      let state: ReturnType<typeof createSocketState> | undefined;
      // Messages that arrive while the model is checked wait for it, in order.
      const early: (string | ArrayBuffer)[] = [];
      const refuse = (ws: WSContext<WebSocket>, error: unknown) => {
        ws.send(JSON.stringify(toErrorEvent(error as Error)));
        ws.close(closeCodeOf(error), reasonOf((error as Error).message));
      };
      return {
        onOpen: async (_event, ws) => {
          if (!authorized) return ws.close(1008, key ? 'Incorrect API key provided.' : 'No API key: send Authorization: Bearer KEY or the subprotocol murmur-key.KEY.');
          try {
            if (tenant) release = tenants.admit(tenant);
          } catch (error) {
            return refuse(ws, error);
          }
          if (refused !== undefined || !plan) return refuse(ws, refused);
          // The model and voice are checked now, as the HTTP door checks them at create, and named in session.created.
          let probe: SpeechSession;
          try {
            probe = await deps.runtime.openSpeech({ model: plan.model, voice: plan.voice, signal: deps.shutdown });
          } catch (error) {
            return refuse(ws, error);
          }
          probe.cancel();
          state = createSocketState(deps, { ...plan, model: plan.model ?? probe.model }, ws);
          ws.send(JSON.stringify(toStreamCreated(plan, probe)));
          for (const data of early.splice(0)) state.receive(data);
        },
        onMessage: (event, ws) => {
          const data = event.data as string | ArrayBuffer;
          const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
          if (size > MAX_MESSAGE_BYTES) {
            ws.send(JSON.stringify(toErrorEvent(new AppError('payload_too_large', `The message is ${size} bytes; a message may be at most 1 MiB.`, { hint: 'Send text in smaller appends.' }))));
            return ws.close(1009, 'A message was larger than 1 MiB.');
          }
          if (state) state.receive(data);
          else if (early.length < 256) early.push(data);
        },
        onClose: () => {
          release?.();
          void state?.end();
        },
      };
    }),
    () => {
      throw new AppError('invalid_request', 'This endpoint is a WebSocket: connect with a WebSocket client (Upgrade: websocket).', {
        hint: 'Or use the HTTP speech sessions at /v1/audio/speech/sessions.',
      });
    },
  );
