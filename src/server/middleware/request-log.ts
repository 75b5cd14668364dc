import { randomUUID } from 'node:crypto';
import { trackUpstream } from '../../routing/context.js';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { ServerEnv } from '../context.js';
import type { Metrics } from '../metrics.js';

/** One line of the structured request log. */
export interface RequestLogEntry {
  readonly time: string;
  /** The `x-request-id` the response carried. */
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The whole request, to the last byte of a streamed reply. */
  readonly ms: number;
  /** For streamed replies (SSE, audio streams): time to the response headers. */
  readonly headersMs?: number;
  readonly model?: string;
  /** The name of the API key the request came with (config file keys, or `default`); never the key. */
  readonly tenant?: string;
  /** The upstream a routed request went to (the last one tried). */
  readonly upstream?: string;
  readonly error?: string;
}

/** A line of the same log that is not a request: an engine process that crashed, or was killed for hanging. */
export interface EventLogEntry {
  readonly time: string;
  readonly event: 'engine_crashed';
  readonly model: string;
  readonly reason: string;
  /** Crashes in a row so far; at the limit the model is marked broken. */
  readonly inARow: number;
  readonly broken: boolean;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Replies whose body keeps coming after the headers: SSE and audio streams without a length. */
export const isStreamed = (res: Response): boolean => {
  const type = res.headers.get('Content-Type') ?? '';
  return type.startsWith('text/event-stream') || type.startsWith('application/x-ndjson') || (type.startsWith('audio/') && !res.headers.has('Content-Length'));
};

export interface RequestLogOptions {
  readonly metrics: Metrics;
  /** Receives one entry per request. */
  readonly log?: (entry: RequestLogEntry) => void;
  /** Note the upstream of routed requests (a daemon with routes): it runs each request in an AsyncLocalStorage, which a daemon without routes is spared. */
  readonly upstreams?: boolean;
}

/** `response` with `end` called once its body has been read to the end, or has failed (the client went away). */
export const whenBodyEnds = (response: Response, end: () => void): Response => {
  const tap = new TransformStream<Uint8Array, Uint8Array>({ flush: end });
  response.body!.pipeTo(tap.writable).catch(end);
  return new Response(tap.readable, response);
};

/** The header every response carries, as OpenAI's do. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A fresh request id, `req_` and 32 hex digits (like OpenAI's; a client's own x-request-id is not reused). */
// randomUUID draws from a cached pool of random bytes: randomBytes(16) cost a system call per request (30 µs here).
export const newRequestId = (): string => `req_${randomUUID().replaceAll('-', '')}`;

/**
 * Gives each request an id (the `x-request-id` response header, on errors
 * and streams too), counts it (in flight, then by route, method and status
 * with its latency) and logs it once it is over: for a streamed reply, at its
 * last byte or when the client goes, not at the headers.
 */
export const requestLog = ({ metrics, log, upstreams = false }: RequestLogOptions): MiddlewareHandler<ServerEnv> => async (c, next) => {
  const start = performance.now();
  const requestId = newRequestId();
  metrics.active.inc();
  let streaming = false;
  const routed: { upstream?: string } = {};
  const finish = (headersMs?: number) => {
    metrics.active.dec();
    const ms = performance.now() - start;
    const route = c.res.status === 404 && !c.get('model') ? 'unmatched' : routePath(c, -1) || c.req.path;
    metrics.observeRequest(route, c.req.method, c.res.status, ms / 1000);
    log?.({
      time: new Date().toISOString(),
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: round(ms),
      ...(headersMs !== undefined ? { headersMs: round(headersMs) } : {}),
      ...(c.get('model') ? { model: c.get('model') } : {}),
      ...(c.get('tenant') ? { tenant: c.get('tenant')!.name } : {}),
      ...(routed.upstream ? { upstream: routed.upstream } : {}),
      ...(c.error ? { error: c.error.message } : c.get('streamError') ? { error: c.get('streamError') } : {}),
    });
  };
  try {
    // The upstream a routed request went to is noted wherever the routing happens (routing/context.ts).
    await (upstreams ? trackUpstream(routed, next) : next());
    try {
      c.header(REQUEST_ID_HEADER, requestId);
    } catch {
      // A response whose headers cannot change (none of murmur's) goes without.
    }
    const body = c.res.body;
    if (body && isStreamed(c.res)) {
      const headersMs = performance.now() - start;
      let done = false;
      c.res = whenBodyEnds(c.res, () => {
        if (done) return;
        done = true;
        finish(headersMs);
      });
      streaming = true;
    }
  } finally {
    if (!streaming) finish();
  }
};
