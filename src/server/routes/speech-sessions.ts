import { Hono, type Context } from 'hono';
import {
  createSessionSchema,
  fromCreateSession,
  fromSessionInput,
  sessionInputSchema,
  toSessionDelta,
  toSessionDone,
  toSessionObject,
} from '../../api/murmur/speech-sessions.js';
import { toOpenAIError } from '../../api/openai/errors.js';
import { parseBody } from '../../api/openai/schema-helpers.js';
import { SAMPLE_RATE_HEADER } from '../../api/openai/speech.js';
import { contentTypeOf, encodedRate } from '../../audio/encode.js';
import type { AsyncAudioEncoder, EncoderPool } from '../../audio/encoder-pool.js';
import { AppError } from '../../errors.js';
import { readJson, type RouteDeps, type ServerEnv } from '../context.js';
import { SSE_HEADERS, sseFrame } from '../sse.js';
import { ownerOf, type SessionEntry, type SessionRegistry } from '../speech-sessions.js';

/**
 * Speech sessions over plain HTTP, for satellites with only an HTTP client:
 * create, append text as it arrives, stream the audio (raw in the session's
 * format, or SSE deltas with their text and offsets), close, cancel, show.
 * The audio body is pulled: a reader that stops reading stops synthesis
 * (the core session's bounded buffer), and one that leaves cancels it.
 */

/** The rate the session's audio is encoded at, when the voice's rate is known. */
const rateOf = (entry: SessionEntry) => (entry.session.sampleRate ? encodedRate(entry.plan.format, entry.session.sampleRate, entry.plan.outputRate) : entry.plan.outputRate);

const describe = (entry: SessionEntry, registry: SessionRegistry) =>
  toSessionObject({
    id: entry.id,
    model: entry.session.model,
    voice: entry.session.voice,
    sampleRate: rateOf(entry),
    format: entry.plan.format,
    expiresAt: new Date(registry.expiresAt(entry)),
    progress: entry.session.progress(),
  });

/** Closing, done or cancelled: it takes no more text. */
const closedToInput = (entry: SessionEntry) => entry.session.progress().state !== 'open';

/** The audio of a session as a pulled body: one chunk read from the session per pull. */
const audioBody = (entry: SessionEntry, registry: SessionRegistry, encoders: EncoderPool, sse: boolean): ReadableStream<Uint8Array> => {
  const chunks = entry.session[Symbol.asyncIterator]();
  let encoder: AsyncAudioEncoder | undefined;
  const encoderFor = (sampleRate: number) => (encoder ??= encoders.open(entry.plan.format, { sampleRate, outputRate: entry.plan.outputRate }));
  let finished = false;
  const finish = () => {
    finished = true;
    entry.reading = false;
    registry.touch(entry);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (finished) return;
        try {
          for (;;) {
            const next = await chunks.next();
            if (next.done) {
              const last = await encoderFor(entry.session.sampleRate ?? entry.plan.outputRate ?? 24_000).end();
              if (sse) {
                if (last.length) controller.enqueue(sseFrame(toSessionDelta(last, '', Math.round(entry.session.progress().seconds * 1000))));
                controller.enqueue(sseFrame(toSessionDone(entry.session.progress())));
              } else if (last.length) controller.enqueue(last);
              finish();
              controller.close();
              return;
            }
            const chunk = next.value;
            const bytes = await encoderFor(chunk.sampleRate).push(chunk.samples);
            if (!bytes.length) continue;
            controller.enqueue(sse ? sseFrame(toSessionDelta(bytes, chunk.text, chunk.offsetMs)) : bytes);
            return;
          }
        } catch (error) {
          finish();
          // SSE ends with an error event; a raw audio body is broken off, so the client sees it fail.
          if (sse) {
            controller.enqueue(sseFrame(toOpenAIError(error).body));
            controller.close();
          } else controller.error(error);
        }
      },
      async cancel() {
        // The reader went away: the session ends with it (its model lease goes back).
        finish();
        entry.session.cancel();
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
};

export const speechSessionRoutes = (deps: RouteDeps, registry: SessionRegistry) => {
  const owner = (c: Context) => ownerOf(c.req.header('Authorization'));
  const find = (c: Context) => registry.get(c.req.param('id')!, owner(c));

  return new Hono<ServerEnv>()
    .post('/audio/speech/sessions', async (c) => {
      // No body at all is as good as {}: every field has a default.
      const body = parseBody(createSessionSchema, await readJson(c, { empty: {} }));
      if (body.model) c.set('model', body.model);
      const entry = await registry.create(deps.runtime, fromCreateSession(body), owner(c));
      if (entry.session.model) c.set('model', entry.session.model);
      return c.json(describe(entry, registry), 201);
    })
    .get('/audio/speech/sessions/:id', (c) => c.json(describe(find(c), registry)))
    .post('/audio/speech/sessions/:id/input', async (c) => {
      const entry = find(c);
      const { text, flush } = fromSessionInput(parseBody(sessionInputSchema, await readJson(c)));
      if (closedToInput(entry)) {
        throw new AppError('session_conflict', `The speech session is ${entry.session.progress().state}; it takes no more text.`, { hint: 'Open a new session.' });
      }
      if (text) entry.session.append(text);
      if (flush) entry.session.flush();
      registry.touch(entry);
      return c.body(null, 204);
    })
    .get('/audio/speech/sessions/:id/audio', (c) => {
      const entry = find(c);
      if (entry.read) throw new AppError('session_conflict', 'This session’s audio already has a reader; a session is read once.', { hint: 'Open one session per listener.' });
      if (entry.session.progress().state === 'cancelled') throw new AppError('session_conflict', 'The speech session was cancelled.');
      const format = c.req.query('stream_format') ?? 'audio';
      if (format !== 'audio' && format !== 'sse') throw new AppError('invalid_request', `Invalid stream_format '${format}': use audio or sse.`, { param: 'stream_format' });
      entry.read = true;
      entry.reading = true;
      registry.touch(entry);
      const sse = format === 'sse';
      const rate = rateOf(entry);
      const headers: Record<string, string> = sse ? { ...SSE_HEADERS } : { 'Content-Type': contentTypeOf(entry.plan.format), 'Cache-Control': 'no-cache' };
      if (rate) headers[SAMPLE_RATE_HEADER] = String(rate);
      return new Response(audioBody(entry, registry, deps.encoders, sse), { status: 200, headers });
    })
    .post('/audio/speech/sessions/:id/close', (c) => {
      const entry = find(c);
      entry.session.close();
      registry.touch(entry);
      return c.json(describe(entry, registry));
    })
    .delete('/audio/speech/sessions/:id', (c) => {
      const entry = find(c);
      entry.session.cancel();
      registry.touch(entry);
      return c.json(describe(entry, registry));
    });
};
