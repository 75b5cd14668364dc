import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { routePath } from 'hono/route';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { RouteDeps, ServerEnv } from './context.js';
import { toHttpError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
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
  /** Time to the response headers (streams go on after). */
  readonly ms: number;
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
  /** Receives one entry per request. */
  readonly log?: (entry: RequestLogEntry) => void;
  /** Fires on shutdown: in-flight generations are aborted. */
  readonly shutdown?: AbortSignal;
  readonly metrics?: Metrics;
}

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
    try {
      await next();
    } finally {
      metrics.active.dec();
      const ms = performance.now() - start;
      const route = c.res.status === 404 && !c.get('model') ? 'unmatched' : routePath(c, -1) || c.req.path;
      metrics.observeRequest(route, c.req.method, c.res.status, ms / 1000);
      options.log?.({
        time: new Date().toISOString(),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(ms * 10) / 10,
        ...(c.get('model') ? { model: c.get('model') } : {}),
        ...(c.error ? { error: c.error.message } : {}),
      });
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
  app.use(
    '*',
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new AppError('payload_too_large', `The request body is larger than the daemon's limit of ${limit} bytes.`);
      },
    }),
  );

  app.route('/', healthRoutes(deps));
  app.route('/v1', modelsRoutes(deps));
  app.route('/v1', chatCompletionsRoutes(deps));
  app.route('/v1', completionsRoutes(deps));
  app.route('/v1', embeddingsRoutes(deps));
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
