import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { routePath } from 'hono/route';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import { refuseBody, type RouteDeps, type ServerEnv } from './context.js';
import { toHttpError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
import { audioSpeechRoutes } from './routes/audio-speech.js';
import { audioTranscriptionsRoutes, UPLOAD_PATHS } from './routes/audio-transcriptions.js';
import { chatCompletionsRoutes } from './routes/chat-completions.js';
import { completionsRoutes } from './routes/completions.js';
import { embeddingsRoutes } from './routes/embeddings.js';
import { healthRoutes } from './routes/health.js';
import { modelsRoutes } from './routes/models.js';

/** One line of the structured request log. */
export interface RequestLogEntry {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The whole request, to the last byte of a streamed reply. */
  readonly ms: number;
  /** For streamed replies (SSE, audio streams): time to the response headers. */
  readonly headersMs?: number;
  readonly model?: string;
  readonly error?: string;
}

export interface AppOptions {
  /** Bearer key required on every route but /health. */
  readonly apiKey?: string;
  /** Allowed CORS origins ('*' for any); empty or absent turns CORS off. */
  readonly cors?: readonly string[];
  /** Largest request body in bytes; default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** Largest audio upload (POST /v1/audio/transcriptions, translations) in bytes; default 100 MiB. */
  readonly uploadLimitBytes?: number;
  /** Receives one entry per request. */
  readonly log?: (entry: RequestLogEntry) => void;
  /** Fires on shutdown: in-flight generations are aborted. */
  readonly shutdown?: AbortSignal;
  readonly metrics?: Metrics;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Replies whose body keeps coming after the headers: SSE and audio streams without a length. */
const isStreamed = (res: Response): boolean => {
  const type = res.headers.get('Content-Type') ?? '';
  return type.startsWith('text/event-stream') || (type.startsWith('audio/') && !res.headers.has('Content-Length'));
};

/** Default request body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const sameKey = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Builds the daemon's Hono app around `runtime`: OpenAI routes under `/v1`,
 * admin routes under `/api`, `/health` and `/metrics`, with auth, CORS, a
 * body limit, request logging and OpenAI-shaped errors.
 */
export const createApp = (runtime: Runtime, options: AppOptions = {}) => {
  const metrics = options.metrics ?? createMetrics();
  const deps: RouteDeps = { runtime, metrics, shutdown: options.shutdown ?? new AbortController().signal };
  const app = new Hono<ServerEnv>();

  app.use('*', async (c, next) => {
    const start = performance.now();
    metrics.active.inc();
    let streaming = false;
    const finish = (headersMs?: number) => {
      metrics.active.dec();
      const ms = performance.now() - start;
      const route = c.res.status === 404 && !c.get('model') ? 'unmatched' : routePath(c, -1) || c.req.path;
      metrics.observeRequest(route, c.req.method, c.res.status, ms / 1000);
      options.log?.({
        time: new Date().toISOString(),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: round(ms),
        ...(headersMs !== undefined ? { headersMs: round(headersMs) } : {}),
        ...(c.get('model') ? { model: c.get('model') } : {}),
        ...(c.error ? { error: c.error.message } : {}),
      });
    };
    try {
      await next();
      const body = c.res.body;
      if (body && isStreamed(c.res)) {
        // Log (and count as active) until the stream's last byte or the client's going, not at the headers.
        const headersMs = performance.now() - start;
        let done = false;
        const end = () => {
          if (done) return;
          done = true;
          finish(headersMs);
        };
        const tap = new TransformStream<Uint8Array, Uint8Array>({ flush: end });
        body.pipeTo(tap.writable).catch(end);
        c.res = new Response(tap.readable, c.res);
        streaming = true;
      }
    } finally {
      if (!streaming) finish();
    }
  });

  if (options.cors?.length) {
    const origins = [...options.cors];
    app.use('*', cors({ origin: origins.includes('*') ? '*' : origins, allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: ['Retry-After'], maxAge: 600 }));
  }

  if (options.apiKey) {
    const expected = options.apiKey;
    app.use('*', async (c, next) => {
      if (c.req.path === '/health' || c.req.method === 'OPTIONS') return next();
      const header = c.req.header('Authorization') ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!match) {
        throw new AppError('unauthorized', "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.", { hint: 'Set MURMUR_API_KEY to the key the daemon was started with.' });
      }
      if (!sameKey(match[1]!, expected)) {
        throw new AppError('unauthorized', 'Incorrect API key provided.', { hint: 'Set MURMUR_API_KEY to the key the daemon was started with.' });
      }
      return next();
    });
  }

  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const globalLimit = bodyLimit({
    maxSize: limit,
    onError: (c) => refuseBody(c, new AppError('payload_too_large', `The request body is larger than the daemon's limit of ${limit} bytes.`)),
  });
  // Audio uploads have their own, larger limit (set on their routes).
  app.use('*', (c, next) => (UPLOAD_PATHS.includes(c.req.path) ? next() : globalLimit(c, next)));

  app.route('/', healthRoutes(deps));
  app.route('/v1', modelsRoutes(deps));
  app.route('/v1', chatCompletionsRoutes(deps));
  app.route('/v1', completionsRoutes(deps));
  app.route('/v1', embeddingsRoutes(deps));
  app.route('/v1', audioSpeechRoutes(deps));
  app.route('/v1', audioTranscriptionsRoutes(deps, { maxBytes: options.uploadLimitBytes }));
  app.route('/api', adminRoutes(deps));

  app.notFound((c) =>
    c.json({ error: { message: `Invalid URL (${c.req.method} ${c.req.path}).`, type: 'invalid_request_error', param: null, code: 'unknown_url' } }, 404),
  );

  app.onError((error, c) => {
    const mapped = toHttpError(error);
    if (mapped.status >= 500 && !(error instanceof AppError)) {
      process.stderr.write(`murmur: unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}\n`);
    }
    return c.json(mapped.body, mapped.status as 500, mapped.headers);
  });

  return app;
};

export type MurmurApp = ReturnType<typeof createApp>;
