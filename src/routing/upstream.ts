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
  constructor(code: 'upstream_error' | 'upstream_timeout', message: string, hint: string) {
    super(code, message, { hint });
    this.name = 'UpstreamRetryable';
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
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
};

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE']);

/** Reads the upstream's error message from an error body, OpenAI's shape or any other, in at most 300 characters. */
const upstreamMessage = async (response: Response): Promise<string> => {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message ?? body.detail);
    if (typeof message === 'string' && message) return message.slice(0, 300);
  } catch {
    // not JSON: the text itself, if short
  }
  return text.trim().slice(0, 300) || `HTTP ${response.status}`;
};

export const createUpstream = (spec: UpstreamSpec, options: { readonly fetch?: typeof fetch; readonly now?: () => number } = {}): Upstream => {
  const doFetch = options.fetch ?? fetch;
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
    healthy = false;
    lastError = why;
  };

  const send = async (path: string, init: UpstreamInit, timeoutMs: number): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await doFetch(`${init.fromRoot ? root : base}${path}`, {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(spec.apiKey ? { Authorization: `Bearer ${spec.apiKey}` } : {}) },
        body: init.body,
        signal,
      });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      if (controller.signal.aborted) {
        throw new UpstreamRetryable('upstream_timeout', `Upstream '${spec.name}' did not answer within ${Math.round(timeoutMs / 100) / 10} s.`, `Raise its timeout in the config file, or check ${base}.`);
      }
      const code = (error as { cause?: { code?: string } }).cause?.code ?? '';
      const why = describe(error);
      if (CONNECT_CODES.has(code) || error instanceof TypeError) takeOut(why);
      throw new UpstreamRetryable('upstream_error', `Upstream '${spec.name}' cannot be reached (${why}).`, `Check that it runs at ${base}.`);
    } finally {
      clearTimeout(timer);
    }
  };

  const runCheck = async (): Promise<void> => {
    try {
      const response = await send('/models', {}, Math.min(spec.timeoutMs, 5_000));
      checkedAt = new Date().toISOString();
      if (!response.ok) {
        const message = await upstreamMessage(response);
        takeOut(response.status === 401 || response.status === 403 ? `refused murmur's key (HTTP ${response.status})` : `HTTP ${response.status}: ${message}`);
        return;
      }
      const body = (await response.json().catch(() => undefined)) as { data?: { id?: unknown; kind?: unknown }[] } | undefined;
      if (!body || !Array.isArray(body.data)) {
        takeOut('its /models is not an OpenAI model list');
        return;
      }
      models = body.data.flatMap((entry) => (typeof entry?.id === 'string' ? [{ id: entry.id, ...(typeof entry.kind === 'string' ? { kind: entry.kind } : {}) }] : []));
      healthy = true;
      lastError = undefined;
    } catch (error) {
      checkedAt = new Date().toISOString();
      takeOut(error instanceof AppError ? error.message : describe(error));
    }
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
      const started = performance.now();
      const response = await send(path, init, spec.timeoutMs);
      latencyTotal += performance.now() - started;
      latencyCount += 1;
      if (response.status >= 500 || response.status === 401 || response.status === 403) {
        const message = await upstreamMessage(response);
        const keyRefused = response.status === 401 || response.status === 403;
        // The upstream's own words are kept (they cannot hold murmur's key: it went in a header), prefixed with whose they are.
        throw new UpstreamRetryable(
          'upstream_error',
          keyRefused ? `Upstream '${spec.name}' refused murmur's key (HTTP ${response.status}: ${message}).` : `Upstream '${spec.name}' failed (HTTP ${response.status}: ${message}).`,
          keyRefused ? `Check the api-key (or api-key-env) of upstream '${spec.name}' in the config file.` : `See the log of ${base}.`,
        );
      }
      return response;
    },
    async check() {
      // One check at a time: a slow upstream's checks do not pile up behind each other.
      if (closed || checking) return checking;
      checking = runCheck().finally(() => (checking = undefined));
      return checking;
    },
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
    },
  };
  return upstream;
};
