import type { ModelEvent } from '../runtime/model-manager.js';
import { formatBytes } from '../text/bytes.js';
import type { EventLogEntry, RequestLogEntry } from './middleware/request-log.js';

/**
 * The daemon's log: one entry per request, per model load, failed load,
 * unload and eviction (with its reason), per engine crash and per error,
 * written as JSON lines (for log collectors; the default when stderr is not
 * a terminal) or as readable lines (on a terminal). The runtime only emits
 * events; what becomes of them is decided here.
 */

export type LogFormat = 'json' | 'pretty';

/** A model manager event, timed. */
export type ModelLogEntry = ModelEvent & { readonly time: string };

/** Something that went wrong outside a request's own line. */
export interface ErrorLogEntry {
  readonly time: string;
  readonly event: 'error';
  readonly message: string;
  readonly hint?: string;
}

/** An upstream server taken out of its routes (with why) or put back (routing/upstream.ts). */
export interface UpstreamLogEntry {
  readonly time: string;
  readonly event: 'upstream_down' | 'upstream_up';
  readonly upstream: string;
  readonly reason?: string;
}

/** The daemon going: asked to stop (SIGTERM, SIGINT, `murmur stop`), then gone. */
export interface LifecycleLogEntry {
  readonly time: string;
  readonly event: 'shutdown' | 'stopped';
}

export type LogEntry = RequestLogEntry | EventLogEntry | ModelLogEntry | ErrorLogEntry | LifecycleLogEntry | UpstreamLogEntry;

export interface DaemonLogger {
  /** Writes one entry (the request log and app.ts's crash lines call this). */
  (entry: LogEntry): void;
  /** Writes a model manager event, timed now. */
  model(event: ModelEvent): void;
  /** Writes an error line. */
  error(message: string, hint?: string): void;
  /** Says the daemon is shutting down or has stopped: a JSON event, or the plain `murmur: shutting down` / `murmur: stopped`. */
  lifecycle(event: LifecycleLogEntry['event']): void;
  readonly format: LogFormat;
}

/** The format: the one asked for (--log-format, MURMUR_LOG_FORMAT), else pretty on a terminal and JSON otherwise. */
export const chooseLogFormat = (asked: LogFormat | undefined, isTTY: boolean | undefined): LogFormat => asked ?? (isTTY ? 'pretty' : 'json');

const budget = (used: number, total: number) => `${formatBytes(used)} of ${Number.isFinite(total) ? `${formatBytes(total)} budget` : 'memory (no budget)'}`;

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`);

/** One entry as a readable line (without the time). */
export const describeEntry = (entry: LogEntry): string => {
  if (!('event' in entry)) {
    const extra = [entry.model && `model=${entry.model}`, entry.upstream && `upstream=${entry.upstream}`, entry.tenant && `tenant=${entry.tenant}`, entry.headersMs !== undefined && `headers=${entry.headersMs}ms`, entry.requestId, entry.error && `error: ${entry.error}`].filter(Boolean);
    return `${entry.method} ${entry.path} ${entry.status} ${entry.ms}ms${extra.length ? ` ${extra.join(' ')}` : ''}`;
  }
  switch (entry.event) {
    case 'load':
      return `loaded ${entry.model} (${entry.kind}) in ${seconds(entry.ms)}, holding ${formatBytes(entry.memoryBytes)}: ${entry.loaded} of ${entry.maxLoaded} models, ${budget(entry.usedBytes, entry.budgetBytes)}`;
    case 'load_failed':
      return `failed to load ${entry.model}: ${entry.error}`;
    case 'unload':
      return `unloaded ${entry.model} (${entry.reason}), freeing ${formatBytes(entry.memoryBytes)}`;
    case 'evict': {
      const why = entry.limit === 'count' ? `${entry.loaded} of ${entry.maxLoaded} models loaded (MURMUR_MAX_LOADED)` : budget(entry.usedBytes, entry.budgetBytes);
      return `evicted ${entry.model} (${entry.reason}) to make room${entry.for ? ` for ${entry.for}` : ''}: ${why}`;
    }
    case 'engine_crashed':
      return `the engine of ${entry.model} crashed (${entry.reason}), ${entry.inARow} in a row${entry.broken ? '; it is refused as broken now' : '; it loads afresh on the next request'}`;
    case 'error':
      return `error: ${entry.message}${entry.hint ? ` (${entry.hint})` : ''}`;
    case 'upstream_down':
      return `upstream ${entry.upstream} is down (${entry.reason ?? 'failed'}); its routes use the other replicas until it answers again`;
    case 'upstream_up':
      return `upstream ${entry.upstream} answers again`;
    case 'shutdown':
      return 'shutting down';
    case 'stopped':
      return 'stopped';
  }
};

/** JSON has no Infinity: an unbounded budget is written as null. */
const toJson = (entry: LogEntry): string => JSON.stringify(entry, (_key, value: unknown) => (value === Number.POSITIVE_INFINITY ? null : value));

/**
 * The requests a client sends to find a daemon (the CLI's GET /health before
 * each command, HEAD / from tools that check a port): answered ones stay out
 * of the log unless asked for (MURMUR_DEBUG); /metrics counts them all the same.
 */
export const isProbe = (entry: RequestLogEntry): boolean =>
  entry.status < 400 && ((entry.method === 'GET' && entry.path === '/health') || (entry.method === 'HEAD' && entry.path === '/'));

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly write: (line: string) => void;
  /** Log answered probes (GET /health, HEAD /) too (default false; MURMUR_DEBUG turns it on in `murmur serve`). */
  readonly probes?: boolean;
}

/** A logger writing whole lines through `write`. */
export const createLogger = ({ format, write, probes = false }: LoggerOptions): DaemonLogger => {
  const line = (text: string) => {
    try {
      write(text);
    } catch {
      // A log that cannot be written must not take a request down with it.
    }
  };
  const logger = ((entry: LogEntry) => {
    if (!probes && !('event' in entry) && isProbe(entry)) return;
    line(format === 'json' ? `${toJson(entry)}\n` : `${entry.time} ${describeEntry(entry)}\n`);
  }) as DaemonLogger;
  logger.model = (event) => logger({ time: new Date().toISOString(), ...event });
  logger.error = (message, hint) => logger({ time: new Date().toISOString(), event: 'error', message, ...(hint ? { hint } : {}) });
  // On a terminal these stay the plain lines they always were, beside `murmur: listening on URL`.
  logger.lifecycle = (event) =>
    format === 'json' ? logger({ time: new Date().toISOString(), event }) : line(`murmur: ${event === 'shutdown' ? 'shutting down' : 'stopped'}\n`);
  Object.defineProperty(logger, 'format', { value: format });
  return logger;
};
