import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { serve } from '@hono/node-server';
import type { Runtime } from '../runtime/types.js';
import { createApp, type AppOptions } from './app.js';
import { createMetrics } from './metrics.js';
import { AppError } from '../errors.js';

export interface ListenOptions extends Omit<AppOptions, 'shutdown' | 'draining'> {
  /** Address to bind; default 127.0.0.1. */
  readonly hostname?: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** How long in-flight requests may run on after close() before they are aborted, in ms; default 10 s. */
  readonly graceMs?: number;
  /** Longest time a client may take to send a request's headers, in ms; default 10 s. Then it gets 408 and the socket is closed. */
  readonly headersTimeoutMs?: number;
  /**
   * Longest time a client may take to send a whole request, headers and
   * body, in ms; default 120 s (a 100 MiB audio upload at 7 Mbit/s). It
   * covers receiving the request only: a reply may stream for as long as it
   * runs, and WebSockets are not timed.
   */
  readonly requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, in ms; default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Most connections open at once; default 512 (half of a common limit of
   * 1024 descriptors). At the cap a new connection closes the one idle the
   * longest (no request in flight: a keep-alive one, or one yet to send its
   * headers); when every connection is busy, the new one is refused.
   */
  readonly maxConnections?: number;
  /**
   * Serve HTTPS (and WSS on the same port) with this PEM certificate and key,
   * as the official OpenAI clients' realtime sockets open only wss:// URLs.
   */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /**
   * More ports that serve the same app (every route, WebSockets included) at
   * the same address, with the same TLS, limits and shutdown: such as
   * Ollama's 11434 for clients that hard-code it. 0 picks a free one.
   */
  readonly extraPorts?: readonly number[];
}

/** The defaults of the ListenOptions limits. */
export const LISTEN_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
} as const;

export interface RunningServer {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  /** `http://host:port` of each of extraPorts as bound, in their order. */
  readonly extraUrls: readonly string[];
  /** Stops accepting, lets in-flight requests finish within the grace period, then aborts them. */
  close(): Promise<void>;
}

/**
 * Serves createApp(runtime) over HTTP/1.1 with @hono/node-server and
 * resolves once it is listening. The runtime is not disposed by close().
 */
export const startServer = (runtime: Runtime, options: ListenOptions): Promise<RunningServer> => {
  const shutdown = new AbortController();
  const draining = new AbortController();
  const metrics = options.metrics ?? createMetrics();
  const hostname = options.hostname ?? '127.0.0.1';
  const app = createApp(runtime, { boundHost: hostname, ...options, metrics, shutdown: shutdown.signal, draining: draining.signal });
  const headersTimeout = options.headersTimeoutMs ?? LISTEN_DEFAULTS.headersTimeoutMs;
  const requested = options.requestTimeoutMs ?? LISTEN_DEFAULTS.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request one (0 turns the request one off).
  const requestTimeout = requested > 0 ? Math.max(headersTimeout, requested) : 0;
  const serverOptions = {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? LISTEN_DEFAULTS.keepAliveTimeoutMs,
    // Node checks the two timeouts above every connectionsCheckingInterval (default 30 s, which would let a 10 s limit run to 40 s).
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(Math.min(headersTimeout || Infinity, requestTimeout || Infinity) / 4))),
  };
  const tls = options.tls;
  // One cap for every listener: it bounds the daemon's descriptors, not each port's.
  const cap = connectionCap(options.maxConnections ?? LISTEN_DEFAULTS.maxConnections);
  const listen = (port: number) =>
    new Promise<{ server: Server; url: string; port: number }>((resolve, reject) => {
      const server = serve(
        tls
          ? { fetch: app.fetch, hostname, port, createServer: createHttpsServer, serverOptions: { ...serverOptions, cert: tls.cert, key: tls.key } }
          : { fetch: app.fetch, hostname, port, serverOptions },
        (info: AddressInfo) => {
          const host = info.family === 'IPv6' || hostname.includes(':') ? `[${info.address}]` : info.address;
          resolve({ server, url: `${tls ? 'https' : 'http'}://${host}:${info.port}`, port: info.port });
        },
      ) as Server;
      // No socket inactivity timeout (server.timeout stays 0): a streamed reply may be silent for long, e.g. while its model loads.
      server.keepAliveTimeout = serverOptions.keepAliveTimeout;
      // Over TLS a request's socket is the TLS one, which 'secureConnection' hands out.
      cap(server, tls ? 'secureConnection' : 'connection');
      app.injectWebSocket(server);
      server.once('error', reject);
    });
  const stop = (http: Server) =>
    new Promise<void>((done) => {
      http.close(() => done());
      http.closeAllConnections?.();
    });
  const started = (async (): Promise<RunningServer> => {
    const bound: Awaited<ReturnType<typeof listen>>[] = [];
    try {
      for (const port of [options.port, ...(options.extraPorts ?? [])]) bound.push(await listen(port));
    } catch (error) {
      // One listener that cannot start stops those already started: the daemon serves on all its ports or on none.
      await Promise.all(bound.map(({ server }) => stop(server)));
      throw error;
    }
    const [main, ...extra] = bound as [Awaited<ReturnType<typeof listen>>, ...Awaited<ReturnType<typeof listen>>[]];
    let closing: Promise<void> | undefined;
    return {
      url: main.url,
      port: main.port,
      extraUrls: extra.map((e) => e.url),
      close: () =>
        (closing ??= (async () => {
          // Draining: the listeners stay open and new requests get 503 'stopping' (not "connection refused") while those in flight finish, up to the grace period.
          draining.abort();
          const deadline = performance.now() + (options.graceMs ?? 10_000);
          while (metrics.active.count > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          // What is still running is cut: a stream gets a last error event saying why (streamResponse), given a moment to go out.
          shutdown.abort(new AppError('stopping', 'The daemon shut down before this reply was finished.', { hint: 'Send the request again once it is back.' }));
          const cut = performance.now() + 1000;
          while (metrics.active.count > 0 && performance.now() < cut) await new Promise((r) => setTimeout(r, 10));
          await Promise.all(bound.map(({ server }) => stop(server)));
        })()),
    };
  })();
  // A server that never listened (a port in use, a bad certificate) leaves nothing running: the app's timers and encoder threads stop.
  return started.catch((error: unknown) => {
    shutdown.abort(error);
    throw error;
  });
};

/**
 * Holds the servers it is given to `max` open connections between them.
 * Each connection counts its requests in flight, from their headers to the end of their reply (an
 * upgraded one stays busy until it closes); with none it is idle: a
 * keep-alive socket between requests, or one that has not sent its headers
 * yet. When a new connection would go over the cap, the one idle the
 * longest is closed to make room; if none is idle, the new one is refused
 * (closed at once). So idle sockets cannot lock clients out, and the daemon
 * never holds more than `max` descriptors for clients. (server.maxConnections
 * would refuse the new connection even when idle ones could make room.)
 */
const connectionCap = (max: number) => {
  const open = new Map<Socket, { busy: number; idleSince: number }>();
  const idlest = (): Socket | undefined => {
    let found: Socket | undefined;
    let since = Infinity;
    for (const [socket, state] of open) {
      if (state.busy === 0 && state.idleSince < since) {
        found = socket;
        since = state.idleSince;
      }
    }
    return found;
  };
  return (server: Server, event: 'connection' | 'secureConnection') => {
    server.on(event, (socket: Socket) => {
      if (open.size >= max) {
        const victim = idlest();
        if (!victim) {
          socket.destroy();
          return;
        }
        open.delete(victim);
        victim.destroy();
      }
      open.set(socket, { busy: 0, idleSince: performance.now() });
      socket.once('close', () => open.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const state = open.get(req.socket);
      if (!state) return;
      state.busy += 1;
      res.once('close', () => {
        state.busy -= 1;
        state.idleSince = performance.now();
      });
    });
    server.on('upgrade', (req: IncomingMessage) => {
      const state = open.get(req.socket);
      if (state) state.busy += 1;
    });
  };
};
