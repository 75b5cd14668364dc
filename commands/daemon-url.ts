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

/** The daemon a command talks to (`--host URL`, else MURMUR_HOST), with the config it runs under. */
export const daemonTarget = async (ctx: CommandContext, command: Command, host: string | undefined): Promise<{ config: Config; url: string }> => {
  const config = commandConfig(ctx, command);
  const { normaliseHost } = await import('../src/config.js');
  return { config, url: (host ? normaliseHost(host) : config.host).replace(/\/+$/, '') };
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
