import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
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
}

export interface RunningServer {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
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
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port: options.port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' || hostname.includes(':') ? `[${info.address}]` : info.address;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          (closing ??= (async () => {
            const http = server as Server;
            // Draining: the listener stays open and new requests get 503 'stopping' (not "connection refused") while those in flight finish, up to the grace period.
            draining.abort();
            const deadline = performance.now() + (options.graceMs ?? 10_000);
            while (metrics.active.count > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
            // What is still running is cut: a stream gets a last error event saying why (streamResponse), given a moment to go out.
            shutdown.abort(new AppError('stopping', 'The daemon shut down before this reply was finished.', { hint: 'Send the request again once it is back.' }));
            const cut = performance.now() + 1000;
            while (metrics.active.count > 0 && performance.now() < cut) await new Promise((r) => setTimeout(r, 10));
            await new Promise<void>((done) => {
              http.close(() => done());
              http.closeAllConnections?.();
            });
          })()),
      });
    }) as Server;
    app.injectWebSocket(server);
    server.once('error', reject);
  });
};
