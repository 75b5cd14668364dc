import type { Readable, Writable } from 'node:stream';
import type { Config } from '../src/config.js';
import { loadConfigWithFile } from '../src/config-file.js';

/**
 * Everything a command touches outside itself, so tests can run commands
 * with captured streams and their own environment.
 */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Fires on Ctrl-C (SIGINT) or SIGTERM. */
  readonly signal: AbortSignal;
  /** The config from MURMUR_* variables, then the config file (`overrides.configFile`, MURMUR_CONFIG or MURMUR_HOME/config.yaml), then the flags in `overrides`. */
  config(overrides?: Partial<Config>): Config;
}

/** The context of the real process. */
export const createProcessContext = (): CommandContext => {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new DOMException('Interrupted', 'AbortError'));
  };
  // 'on', not 'once': signal-exit (pulled in by proper-lockfile and node-llama-cpp) re-raises a signal
  // that it sees no other listener for, which would kill the process mid-shutdown.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A reader that stops early (`murmur list --all | head -3`) closes the pipe: stop quietly, as Unix tools do,
  // rather than crash on EPIPE with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (stream === process.stdout) process.exit(0);
    });
  }
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    config: (overrides) => loadConfigWithFile(process.env, overrides),
  };
};
