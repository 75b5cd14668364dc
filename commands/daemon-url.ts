import type { Command } from './commander.js';
import type { Config } from '../src/config.js';
import type { CommandContext } from './context.js';
import { commandConfig } from './shared.js';

/** What a murmur daemon's GET /health says about itself (version, pid and uptime since murmur 0.1). */
export interface DaemonHealth {
  readonly status: string;
  readonly loading?: readonly string[];
  readonly version?: string;
  readonly pid?: number;
  readonly started_at?: string;
  readonly uptime_s?: number;
}

/** Where the daemon a command talks to was named: --host, MURMUR_HOST, MURMUR_HOME/serve.json, or the default address. */
export type DaemonSource = '--host' | 'MURMUR_HOST' | 'serve.json' | 'default';

export interface DaemonChoice {
  readonly url: string;
  readonly source: DaemonSource;
  /** For 'serve.json': the file's path. */
  readonly file?: string;
}

/** Whether MURMUR_HOST is set (to anything but blanks) in this environment: then it wins over serve.json. */
const hostIsSet = (env: NodeJS.ProcessEnv): boolean => (env.MURMUR_HOST ?? '').trim() !== '';

/**
 * The daemon to talk to: `--host URL`, else MURMUR_HOST when it is set, else
 * the `murmur serve` that MURMUR_HOME/serve.json names when it runs and
 * answers (one started with `--port 0`, say), else the default address.
 */
export const chooseDaemon = async (ctx: CommandContext, config: Config, host: string | undefined): Promise<DaemonChoice> => {
  const trim = (url: string) => url.replace(/\/+$/, '');
  if (host) {
    const { normaliseHost } = await import('../src/config.js');
    return { url: trim(normaliseHost(host)), source: '--host' };
  }
  if (hostIsSet(ctx.env)) return { url: trim(config.host), source: 'MURMUR_HOST' };
  const { daemonFilePath, discoverDaemon } = await import('./daemon-file.js');
  const found = await discoverDaemon(config.home);
  if (found) return { url: found.url, source: 'serve.json', file: daemonFilePath(config.home) };
  return { url: trim(config.host), source: 'default' };
};

/** The daemon a command talks to (see chooseDaemon), with the config it runs under. */
export const daemonTarget = async (ctx: CommandContext, command: Command, host: string | undefined): Promise<{ config: Config } & DaemonChoice> => {
  const config = commandConfig(ctx, command);
  return { config, ...(await chooseDaemon(ctx, config, host)) };
};

/**
 * The daemon's /health, or undefined when nothing answers at `url` within
 * `timeoutMs`. A server that answers without a murmur health body is
 * reported as `{status: 'foreign'}` with its HTTP status.
 */
export const readHealth = async (url: string, timeoutMs = 2000, signal?: AbortSignal): Promise<(DaemonHealth & { httpStatus: number }) | undefined> => {
  let res: Response;
  try {
    res = await fetch(`${url}/health`, { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if (signal?.aborted) throw error;
    return undefined;
  }
  const body = (await res.json().catch(() => undefined)) as Partial<DaemonHealth> | undefined;
  if (!body || typeof body.status !== 'string') return { status: 'foreign', httpStatus: res.status };
  return { ...(body as DaemonHealth), httpStatus: res.status };
};

/** The one line (and hint) for a daemon that does not answer. */
export const noDaemonError = async (url: string, hint = 'Start one with `murmur serve` (or point MURMUR_HOST or --host at it).') => {
  const { AppError } = await import('../src/errors.js');
  return new AppError('daemon_unreachable', `no daemon answers at ${url}`, { hint });
};
