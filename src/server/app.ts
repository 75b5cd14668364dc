import { setMaxListeners } from 'node:events';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { createEncoderPool, type EncoderPool } from '../audio/encoder-pool.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { RouteDeps, ServerEnv } from './context.js';
import { handleError, handleNotFound, isAnthropicPath, isOllamaPath } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { speechSessionRoutes } from './routes/speech-sessions.js';
import { realtimeRoutes } from './routes/realtime.js';
import { speechStreamRoutes } from './routes/speech-stream.js';
import { createSessionRegistry } from './speech-sessions.js';
import { requireApiKey } from './middleware/auth.js';
import { chargeTokens, createTenants, tenantLimits, type Tenants } from './tenants.js';
import { bodyLimits } from './middleware/body-limit.js';
import { corsFor } from './middleware/cors.js';
import { checkHost, checkOrigin, requireJsonBodies } from './middleware/doors.js';
import { requestLog, type EventLogEntry, type RequestLogEntry } from './middleware/request-log.js';
import { adminRoutes, type StopRequest } from './routes/admin.js';
import { audioSpeechRoutes } from './routes/audio-speech.js';
import { audioTranscriptionsRoutes, UPLOAD_PATHS } from './routes/audio-transcriptions.js';
import { chatCompletionsRoutes } from './routes/chat-completions.js';
import { completionsRoutes } from './routes/completions.js';
import { embeddingsRoutes } from './routes/embeddings.js';
import { messagesRoutes } from './routes/messages.js';
import { ollamaRoutes } from './routes/ollama.js';
import { healthRoutes } from './routes/health.js';
import { modelsRoutes } from './routes/models.js';
import { responsesRoutes } from './routes/responses.js';
import { webRoutes } from './routes/web.js';
import { passThrough } from './routes/pass-through.js';
import { defaultResponseStore, type ResponseStore } from './responses-store.js';

export type { EventLogEntry, RequestLogEntry } from './middleware/request-log.js';

/** The routes that upgrade to WebSockets. */
const WEBSOCKET_PATHS: readonly string[] = ['/v1/audio/speech/stream', '/v1/realtime'];
/**
 * The largest WebSocket message ws takes before it drops the socket (1009):
 * past the realtime door's 15 MiB per event, so that a client sending a
 * larger one gets an error event first (the speech stream checks its own
 * 1 MiB the same way).
 */
const WEBSOCKET_MAX_MESSAGE = 16 * 1024 * 1024;

export interface AppOptions {
  /** Bearer key required on every route but /health (with `keys`, it stays valid as the tenant `default`, with no limits). */
  readonly apiKey?: string;
  /** Named keys with limits (the config file's `keys`; default the runtime's config.keys): any of them, or apiKey, is accepted. */
  readonly keys?: Config['keys'];
  /** The tenants themselves, built from keys and apiKey when absent (tests pass one with a fake clock). */
  readonly tenants?: Tenants;
  /** Allowed CORS origins ('*' for any); empty or absent turns CORS off. Any other Origin is refused (403). */
  readonly cors?: readonly string[];
  /** The address the daemon is bound to (default 127.0.0.1), for the Host check. */
  readonly boundHost?: string;
  /** Host names it answers to besides loopback ones (default: the runtime's MURMUR_ALLOWED_HOSTS). */
  readonly allowedHosts?: readonly string[];
  /** Largest request body in bytes; default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** Largest audio upload (POST /v1/audio/transcriptions, translations) in bytes; default 100 MiB. */
  readonly uploadLimitBytes?: number;
  /** Receives one entry per request, and one per engine crash. */
  readonly log?: (entry: RequestLogEntry | EventLogEntry) => void;
  /** Serve the browser page at `/` (default: the runtime's config.web, on). */
  readonly web?: boolean;
  /** Fires on shutdown: in-flight generations are aborted. */
  readonly shutdown?: AbortSignal;
  /** Fires when the daemon starts to stop: new requests get 503 'stopping' while those in flight finish. */
  readonly draining?: AbortSignal;
  readonly metrics?: Metrics;
  /** Realtime session limits past MURMUR_MAX_REALTIME: the longest a session lasts (30 minutes), how long a client may not read (15 s). */
  readonly realtime?: { readonly maxSessionMs?: number; readonly stallMs?: number };
  /** Where speech is encoded; default a pool of worker threads, stopped at shutdown. */
  readonly encoders?: EncoderPool;
  /** Where /v1/responses keeps stored responses; default MURMUR_HOME/responses.db, opened on first use. Closed at shutdown. */
  readonly responses?: ResponseStore;
  /** Serves POST /murmur/v1/shutdown, which asks the daemon to stop as SIGTERM does (`murmur stop`); absent, that route is not there. */
  readonly stop?: StopRequest;
}

/**
 * Builds the daemon's Hono app around `runtime`: OpenAI and Anthropic routes
 * under `/v1`, Ollama's under `/api` (and `/`), murmur's admin routes under
 * `/murmur/v1`, `/health` and `/metrics`, behind request
 * logging, CORS, auth and a body limit (in that order; see middleware/),
 * with OpenAI-shaped errors.
 */
export const createApp = (runtime: Runtime, options: AppOptions = {}) => {
  const metrics = options.metrics ?? createMetrics();
  const encoders = options.encoders ?? createEncoderPool();
  const deps: RouteDeps = { runtime, metrics, encoders, shutdown: options.shutdown ?? new AbortController().signal, ...(options.draining ? { draining: options.draining } : {}) };
  if (!options.encoders) deps.shutdown.addEventListener('abort', () => void encoders.close(), { once: true });
  // Every open session and generation listens for shutdown on this one signal: many at once are expected, not a leak.
  setMaxListeners(0, deps.shutdown);
  const app = new Hono<ServerEnv>();
  // WebSockets go through the app like any route (the same log, CORS, host and key checks): @hono/node-ws hands upgrades to Hono, with ws underneath.
  const sockets = createNodeWebSocket({ app });
  sockets.wss.options.maxPayload = WEBSOCKET_MAX_MESSAGE;
  deps.shutdown.addEventListener('abort', () => sockets.wss.clients.forEach((ws) => ws.close(1001, 'The daemon is shutting down.')), { once: true });

  app.use('*', requestLog({ metrics, log: options.log, upstreams: runtime.routing !== undefined }));
  const log = options.log;
  if (log && runtime.onEngineCrash) {
    const stop = runtime.onEngineCrash((crash) => log({ time: new Date().toISOString(), event: 'engine_crashed', ...crash }));
    deps.shutdown.addEventListener('abort', stop, { once: true });
  }
  const draining = options.draining;
  if (draining) {
    app.use('*', async (c, next) => {
      if (!draining.aborted || c.req.path === '/health') return next();
      c.header('Connection', 'close');
      throw new AppError('stopping', 'The daemon is shutting down; it takes no new requests.', { hint: 'Try again once it is back (Retry-After), or at another replica.' });
    });
  }
  app.use('*', checkHost({ boundHost: options.boundHost ?? '127.0.0.1', allowedHosts: options.allowedHosts ?? runtime.config.allowedHosts ?? [] }));
  app.use('*', checkOrigin(options.cors ?? []));
  if (options.cors?.length) app.use('*', corsFor(options.cors));
  const tenants = options.tenants ?? createTenants(options.keys ?? runtime.config.keys ?? [], options.apiKey, { metrics });
  if (tenants.enabled) {
    app.use('*', requireApiKey(tenants, WEBSOCKET_PATHS, isAnthropicPath));
    app.use('*', tenantLimits(tenants));
  }
  app.use('*', requireJsonBodies(UPLOAD_PATHS, isOllamaPath));
  // Audio uploads have their own, larger limit (set on their routes).
  app.use('*', bodyLimits({ maxBytes: options.bodyLimitBytes, exempt: UPLOAD_PATHS }));
  // Routed models on the OpenAI door's JSON routes go upstream as sent; the rest reach them through the routing runtime.
  if (runtime.routing) {
    app.use(
      '/v1/*',
      passThrough(deps, runtime.routing, {
        onUsage: (c, model, usage, seconds) => {
          metrics.observeGeneration(model, usage.completion, seconds > 0 ? usage.completion / seconds : 0);
          metrics.observeOutcome(model, 'completed');
          chargeTokens(c, usage.prompt, usage.completion);
        },
      }),
    );
  }

  app.route('/', healthRoutes(deps));
  app.route('/v1', modelsRoutes(deps));
  app.route('/v1', chatCompletionsRoutes(deps));
  app.route('/v1', messagesRoutes(deps));
  app.route('/v1', responsesRoutes(deps, { store: options.responses ?? defaultResponseStore(runtime.config), ...(options.apiKey ? { apiKey: options.apiKey } : {}) }));
  app.route('/v1', completionsRoutes(deps));
  app.route('/v1', embeddingsRoutes(deps));
  app.route('/v1', audioSpeechRoutes(deps));
  const sessions = createSessionRegistry({ idleMs: runtime.config.speechSessionIdleMs, maxSessions: runtime.config.maxSpeechSessions, shutdown: deps.shutdown });
  app.route('/v1', speechSessionRoutes(deps, sessions));
  app.route('/v1', speechStreamRoutes(deps, sockets.upgradeWebSocket, tenants));
  app.route('/v1', realtimeRoutes(deps, sockets.upgradeWebSocket, tenants, { maxSessions: runtime.config.maxRealtimeSessions, maxSessionMs: options.realtime?.maxSessionMs ?? 30 * 60_000, stallMs: options.realtime?.stallMs ?? 15_000 }));
  app.route('/v1', audioTranscriptionsRoutes(deps, { maxBytes: options.uploadLimitBytes }));
  // Ollama's native API: `/` and under /api. It comes first: its /api/ps and /api/pull answer in Ollama's shapes, murmur's own are under /murmur/v1.
  // The page answers a browser at `/`; an Ollama client's probe there falls through to Ollama's answer.
  if (options.web ?? runtime.config.web ?? true) app.route('/', webRoutes());
  app.route('/', ollamaRoutes(deps));
  app.route('/murmur/v1', adminRoutes(deps, options.stop ? { stop: options.stop } : {}));
  // The admin routes Ollama has none of (/api/models, /api/load, /api/unload) stay under /api too, for older clients.
  app.route('/api', adminRoutes(deps));

  app.notFound(handleNotFound);
  app.onError(handleError);

  /** Attaches the WebSocket routes to the HTTP server the app is served by. */
  return Object.assign(app, { injectWebSocket: sockets.injectWebSocket });
};

export type MurmurApp = ReturnType<typeof createApp>;
