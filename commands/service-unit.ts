import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath as findExecutable } from '../src/executables.js';

/** Where the systemd user unit goes: $XDG_CONFIG_HOME/systemd/user/murmur.service (XDG_CONFIG_HOME defaults to ~/.config). */
export const unitPath = (env: NodeJS.ProcessEnv): string => {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'systemd', 'user', 'murmur.service');
};

/** The absolute path of an executable on env.PATH, or undefined. */
export const findOnPath = (name: string, env: NodeJS.ProcessEnv): string | undefined => findExecutable(name, env.PATH ?? '');

/** One word of ExecStart=, quoted: systemd unquotes "…" with C escapes, and expands % specifiers and $ variables. */
const execWord = (word: string): string => `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;

/** An Environment= assignment, quoted (specifiers are expanded there too, variables are not). */
const envAssignment = (name: string, value: string): string => `"${name}=${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;

export interface UnitOptions {
  readonly env: NodeJS.ProcessEnv;
  /** MURMUR_HOME from the global --home flag (absolute), over the environment's. */
  readonly home?: string;
  /** serve's --grace in ms (-1 forever): TimeoutStopSec leaves room past it. */
  readonly graceMs: number;
  /** The --grace text, passed on to serve when given other than its default. */
  readonly graceFlag?: string;
}

/**
 * A systemd user unit that runs `murmur serve` with this node and this
 * murmur (absolute paths, links resolved), the MURMUR_* settings of `env`,
 * restarts it when it fails, and stops it with SIGTERM (murmur's drain),
 * giving it its grace period plus time to unload its models.
 */
export const renderUnit = (options: UnitOptions): string => {
  const bin = realpathSync(fileURLToPath(new URL('../bin/murmur.js', import.meta.url)));
  const settings = Object.entries({ ...options.env, ...(options.home ? { MURMUR_HOME: options.home } : {}) })
    .filter((entry): entry is [string, string] => entry[0].startsWith('MURMUR_') && typeof entry[1] === 'string' && entry[1] !== '')
    .sort(([a], [b]) => a.localeCompare(b));
  const grace = options.graceFlag !== undefined && options.graceFlag !== '10s' ? ['--grace', options.graceFlag] : [];
  const stopSec = options.graceMs < 0 ? 'infinity' : String(Math.ceil(options.graceMs / 1000) + 15);
  return [
    '# Written by `murmur service install`; `murmur service uninstall` removes it.',
    '[Unit]',
    'Description=murmur daemon: local models behind OpenAI-compatible HTTP',
    'Documentation=man:murmur-serve(1)',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[process.execPath, bin, 'serve', ...grace].map(execWord).join(' ')}`,
    ...settings.map(([name, value]) => `Environment=${envAssignment(name, value)}`),
    'Restart=on-failure',
    'RestartSec=2',
    // murmur serve drains on SIGTERM: new requests get 503, those in flight have the grace period; then it unloads its models.
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${stopSec}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
};
