import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AppError } from '../errors.js';
import type { UpstreamSpec } from '../types/routing.js';

/**
 * One upstream server's live state: whether it answers, what it serves,
 * what it is doing now and has done. The router (router.ts) picks among
 * them; `upstreamFetch` is the one way a request reaches one, so every
 * request and health check is timed and counted the same way.
 */

/** A try on one replica that failed in a way another replica might not (down, slow, 5xx, a refused key): the router tries the next one. */
export class UpstreamRetryable extends AppError {
  /** What failed in a few words (`ECONNREFUSED`, `HTTP 500`, `no answer within 2 s`), for status lines and the message when every replica failed. */
  readonly reason: string;
  constructor(code: 'upstream_error' | 'upstream_timeout', message: string, hint: string, reason: string) {
    super(code, message, { hint });
    this.name = 'UpstreamRetryable';
    this.reason = reason;
  }
}

/** What `murmur ps`, `murmur status` and GET /murmur/v1/upstreams show of an upstream. */
export interface UpstreamStatus {
  readonly name: string;
  /** Its base URL (never its key). */
  readonly url: string;
  readonly dialect: UpstreamSpec['dialect'];
  /** False after a failed health check or a refused connection, until it answers again. */
  readonly healthy: boolean;
  readonly inFlight: number;
  readonly requests: number;
  readonly errors: number;
  /** Mean time to the response headers of its requests, in ms (0 before any). */
  readonly latencyMs: number;
  /** Why it was last taken out, when it is out. */
  readonly lastError?: string;
  /** ISO time of the last health check. */
  readonly checkedAt?: string;
  /** The models its /v1/models listed at the last check. */
  readonly models: readonly string[];
  /** What a murmur upstream holds loaded, asked when the status is (absent for an OpenAI one, or one that did not answer). */
  readonly loaded?: readonly { readonly name: string; readonly kind: string; readonly memoryBytes: number; readonly inFlight: number; readonly expiresAt: string | null }[];
}

/** A model an upstream lists: its id, and murmur's `kind` where the upstream is a murmur daemon. */
export interface UpstreamModel {
  readonly id: string;
  readonly kind?: string;
}

export interface Upstream {
  readonly spec: UpstreamSpec;
  readonly healthy: boolean;
  readonly inFlight: number;
  /** The models its last listing named (empty before one succeeds). */
  readonly models: readonly UpstreamModel[];
  /** Counts a request as in flight until the returned `end` (with whether it failed) is called; calls after the first do nothing. */
  begin(): (failed?: boolean) => void;
  /**
   * Sends one request to `path` under its base URL (under its server's root
   * with `fromRoot`) with its key, within its timeout until the response
   * headers arrive. A refused connection, a timeout, a 5xx or a refused key
   * (401/403) throws UpstreamRetryable (and a refused connection takes it
   * out until a health check passes); a client's abort throws the abort.
   * Other statuses are the caller's to read.
   */
  fetch(path: string, init: UpstreamInit): Promise<Response>;
  /** As fetch, over node:http only, answering the body as it comes off the socket (the pass-through's way: no web streams in between). */
  request(path: string, init: UpstreamInit & { readonly body?: string | Uint8Array }): Promise<IncomingMessage>;
  /** Takes it out until a health check passes (a stream it was sending broke off). */
  markDown(reason: string): void;
  /** Checks it now (GET /models); resolves when done. */
  check(): Promise<void>;
  status(): UpstreamStatus;
  close(): void;
}

export interface UpstreamInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: RequestInit['body'];
  readonly signal?: AbortSignal;
  /** `path` is under the server's root (the base URL less its /v1), as murmur's own routes are. */
  readonly fromRoot?: boolean;
}

/** A reason in a few words, for status lines and logs: never the key (it is only ever in a header). */
const describe = (error: unknown): string => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return (error as { code?: string }).code ?? cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
};

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE']);

/** The upstream's error message from an error body, OpenAI's shape or any other, in at most 300 characters. */
const messageOf = (status: number, text: string): string => {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message ?? body.detail);
    // Without its last full stop: the message is quoted inside murmur's own sentence.
    if (typeof message === 'string' && message) return message.slice(0, 300).replace(/\.$/, '');
  } catch {
    // not JSON: the text itself, if short
  }
  return text.trim().slice(0, 300) || `HTTP ${status}`;
};

const upstreamMessage = async (response: Response): Promise<string> => messageOf(response.status, await response.text().catch(() => ''));

/** A body that stopped before its end (the upstream died): told as the reset it is. */
const cutOff = () => Object.assign(new Error('the connection closed before the end of the body'), { code: 'ECONNRESET' });

/** A whole body, read from the socket. */
export const readBody = (incoming: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!incoming.complete) reject(cutOff());
    });
  });

/** What a body stream tells as it goes (bodyStream). */
export interface BodyHooks {
  /** Each chunk, before it is passed on. */
  readonly chunk?: (bytes: Uint8Array) => void;
  /** The body's end; the stream closes after. */
  readonly end?: (controller: ReadableStreamDefaultController<Uint8Array>) => void;
  /** The body breaking off (the upstream died, the client's abort); the stream errors unless this closes it. */
  readonly fail?: (error: unknown, controller: ReadableStreamDefaultController<Uint8Array>) => void;
  /** The reader cancelling (the client went away); the body is destroyed after. */
  readonly cancel?: () => void;
}

/**
 * A response body as a web stream, chunk for chunk as it comes off the
 * socket (Readable.toWeb costs more per chunk here), with backpressure. A
 * body that stops before its end (the upstream died) fails the stream;
 * cancelling it destroys the body. Each of end, fail and cancel happens at
 * most once, and only one of them.
 */
export const bodyStream = (incoming: IncomingMessage, hooks: BodyHooks = {}): ReadableStream<Uint8Array> => {
  let settled = false;
  const settle = () => !settled && (settled = true);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown) => {
        if (!settle()) return;
        if (hooks.fail) hooks.fail(error, controller);
        else controller.error(error);
      };
      incoming.on('data', (chunk: Buffer) => {
        const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        hooks.chunk?.(bytes);
        controller.enqueue(bytes);
        if ((controller.desiredSize ?? 1) <= 0) incoming.pause();
      });
      incoming.once('end', () => {
        if (!settle()) return;
        hooks.end?.(controller);
        controller.close();
      });
      incoming.once('error', fail);
      incoming.once('close', () => {
        if (!incoming.complete) fail(cutOff());
      });
    },
    pull() {
      incoming.resume();
    },
    cancel(reason) {
      if (settle()) hooks.cancel?.();
      incoming.destroy(reason instanceof Error ? reason : undefined);
    },
  });
};

/** An upstream taken out (with why) or put back: the daemon logs each. */
export interface UpstreamHealthEvent {
  readonly upstream: string;
  readonly healthy: boolean;
  readonly reason?: string;
}

export const createUpstream = (spec: UpstreamSpec, options: { readonly onHealth?: (event: UpstreamHealthEvent) => void } = {}): Upstream => {
  const base = spec.url.replace(/\/+$/, '');
  const root = base.replace(/\/v1$/, '');
  let healthy = true;
  let inFlight = 0;
  let requests = 0;
  let errors = 0;
  let latencyTotal = 0;
  let latencyCount = 0;
  let lastError: string | undefined;
  let checkedAt: string | undefined;
  let models: UpstreamModel[] = [];
  let closed = false;
  let checking: Promise<void> | undefined;

  const takeOut = (why: string) => {
    if (healthy) options.onHealth?.({ upstream: spec.name, healthy: false, reason: why });
    healthy = false;
    lastError = why;
  };

  const failed = (error: unknown, init: UpstreamInit, timedOut: boolean, timeoutMs: number): never => {
    if (init.signal?.aborted) throw init.signal.reason ?? error;
    if (timedOut) {
      const within = `${Math.round(timeoutMs / 100) / 10} s`;
      throw new UpstreamRetryable('upstream_timeout', `Upstream '${spec.name}' did not answer within ${within}.`, `Raise its timeout in the config file, or check ${base}.`, `no answer within ${within}`);
    }
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? '';
    const why = describe(error);
    if (CONNECT_CODES.has(code) || error instanceof TypeError) takeOut(why);
    throw new UpstreamRetryable('upstream_error', `Upstream '${spec.name}' cannot be reached (${why}).`, `Check that it runs at ${base}.`, why);
  };

  const headersOf = (init: UpstreamInit): Record<string, string> => ({ ...init.headers, ...(spec.apiKey ? { Authorization: `Bearer ${spec.apiKey}` } : {}) });

  /** Through fetch: for bodies node:http cannot send as they are (forms, blobs, streams: a transcription's upload). */
  const sendByFetch = async (url: string, init: UpstreamInit, timeoutMs: number): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await fetch(url, { method: init.method ?? 'GET', headers: headersOf(init), body: init.body, signal });
    } catch (error) {
      return failed(error, init, controller.signal.aborted, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * Through node:http on a keep-alive agent: a tenth of fetch's cost per
   * request here (45 µs against 300-470 µs), which is most of what a front
   * door adds to a reply's first token. The body comes back as a web
   * stream in a Response, as fetch's does.
   */
  const agent = new (base.startsWith('https:') ? HttpsAgent : HttpAgent)({ keepAlive: true });
  const rawByHttp = (url: string, init: UpstreamInit, body: string | Uint8Array | undefined, timeoutMs: number): Promise<IncomingMessage> =>
    new Promise<IncomingMessage>((resolve, reject) => {
      if (init.signal?.aborted) return reject(init.signal.reason);
      let timedOut = false;
      const headers = headersOf(init);
      if (body !== undefined) headers['Content-Length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
      const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: init.method ?? 'GET', headers, agent });
      const abort = () => request.destroy(init.signal!.reason as Error);
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(new Error('timeout'));
      }, timeoutMs);
      init.signal?.addEventListener('abort', abort, { once: true });
      request.once('error', (error) => {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', abort);
        try {
          failed(error, init, timedOut, timeoutMs);
        } catch (mapped) {
          reject(mapped);
        }
      });
      request.once('response', (incoming) => {
        clearTimeout(timer);
        // The client going away still ends the body; the listener goes with it.
        incoming.once('close', () => init.signal?.removeEventListener('abort', abort));
        resolve(incoming);
      });
      request.end(body);
    });

  const sendByHttp = async (url: string, init: UpstreamInit, body: string | Uint8Array | undefined, timeoutMs: number): Promise<Response> => {
    const incoming = await rawByHttp(url, init, body, timeoutMs);
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const status = incoming.statusCode ?? 502;
    const empty = status === 204 || status === 304 || init.method === 'HEAD';
    if (empty) incoming.resume();
    return new Response(empty ? null : bodyStream(incoming), { status, headers });
  };

  const send = (path: string, init: UpstreamInit, timeoutMs: number): Promise<Response> => {
    const url = `${init.fromRoot ? root : base}${path}`;
    const body = init.body;
    if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) {
      return sendByHttp(url, init, body instanceof ArrayBuffer ? new Uint8Array(body) : (body ?? undefined), timeoutMs);
    }
    return sendByFetch(url, init, timeoutMs);
  };

  /** Why it refused a request's key, in a few words (a status line's, the log's). */
  const keyRefusedReason = (status: number) => `HTTP ${status}: ${spec.apiKey ? "refused murmur's key" : 'wants a key'}`;
  /** The statuses another replica may not answer: its own failure (5xx) and its refusal of murmur's key. */
  const isFailure = (status: number) => status >= 500 || status === 401 || status === 403;
  const refusal = (status: number, message: string): UpstreamRetryable => {
    const keyRefused = status === 401 || status === 403;
    // The upstream's own words are kept (they cannot hold murmur's key: it went in a header), prefixed with whose they are.
    return new UpstreamRetryable(
      'upstream_error',
      keyRefused ? `Upstream '${spec.name}' refused murmur's key (HTTP ${status}: ${message}).` : `Upstream '${spec.name}' failed (HTTP ${status}: ${message}).`,
      keyRefused
        ? spec.apiKey
          ? `Check the api-key (or api-key-env) of upstream '${spec.name}' in the config file.`
          : `murmur sent it no key: declare upstream '${spec.name}' in a config file with api-key or api-key-env (a --upstream flag cannot carry one).`
        : `See the log of ${base}.`,
      keyRefused ? keyRefusedReason(status) : `HTTP ${status}`,
    );
  };

  const runCheck = async (): Promise<void> => {
    try {
      const response = await send('/models', {}, Math.min(spec.timeoutMs, 5_000));
      checkedAt = new Date().toISOString();
      if (!response.ok) {
        const message = await upstreamMessage(response);
        takeOut(response.status === 401 || response.status === 403 ? keyRefusedReason(response.status) : `HTTP ${response.status}: ${message}`);
        return;
      }
      const body = (await response.json().catch(() => undefined)) as { data?: { id?: unknown; kind?: unknown }[] } | undefined;
      if (!body || !Array.isArray(body.data)) {
        takeOut('its /models is not an OpenAI model list');
        return;
      }
      models = body.data.flatMap((entry) => (typeof entry?.id === 'string' ? [{ id: entry.id, ...(typeof entry.kind === 'string' ? { kind: entry.kind } : {}) }] : []));
      if (!healthy) options.onHealth?.({ upstream: spec.name, healthy: true });
      healthy = true;
      lastError = undefined;
    } catch (error) {
      checkedAt = new Date().toISOString();
      takeOut(error instanceof UpstreamRetryable ? error.reason : describe(error));
    }
  };

  /** Counts the time to a request's response headers into its mean latency. */
  const timed = async <T>(sending: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await sending();
    latencyTotal += performance.now() - started;
    latencyCount += 1;
    return value;
  };

  const upstream: Upstream = {
    spec,
    get healthy() {
      return healthy;
    },
    get inFlight() {
      return inFlight;
    },
    get models() {
      return models;
    },
    begin() {
      inFlight += 1;
      requests += 1;
      let ended = false;
      return (failed = false) => {
        if (ended) return;
        ended = true;
        inFlight -= 1;
        if (failed) errors += 1;
      };
    },
    async fetch(path, init) {
      const response = await timed(() => send(path, init, spec.timeoutMs));
      if (isFailure(response.status)) throw refusal(response.status, await upstreamMessage(response));
      return response;
    },
    async request(path, init) {
      const incoming = await timed(() => rawByHttp(`${init.fromRoot ? root : base}${path}`, init, init.body, spec.timeoutMs));
      const status = incoming.statusCode ?? 502;
      if (isFailure(status)) throw refusal(status, messageOf(status, await readBody(incoming).catch(() => '')));
      return incoming;
    },
    async check() {
      // One check at a time: a slow upstream's checks do not pile up behind each other.
      if (closed || checking) return checking;
      checking = runCheck().finally(() => (checking = undefined));
      return checking;
    },
    markDown: (reason) => takeOut(reason),
    status: () => ({
      name: spec.name,
      url: base,
      dialect: spec.dialect,
      healthy,
      inFlight,
      requests,
      errors,
      latencyMs: latencyCount ? Math.round((latencyTotal / latencyCount) * 10) / 10 : 0,
      ...(lastError && !healthy ? { lastError } : {}),
      ...(checkedAt ? { checkedAt } : {}),
      models: models.map((model) => model.id),
    }),
    close() {
      closed = true;
      agent.destroy();
    },
  };
  return upstream;
};
