import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The built CLI (`npm test`'s pretest or test/global-setup.ts builds it). */
export const builtBin = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', 'bin', 'murmur.js');


const exec = promisify(execFile);

/** Runs the built CLI with `env` and resolves with its output (rejects on a non-zero exit). */
export const runCli = (env: NodeJS.ProcessEnv, ...args: string[]) => exec(process.execPath, [builtBin, ...args], { env });

export interface Daemon {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the daemon wrote on stderr so far. */
  stderr(): string;
  /** The request-log lines (JSON objects) written so far. */
  log(): Record<string, unknown>[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `murmur serve --port 0 ARGS` and resolves once it says where it listens. */
export const startDaemon = async (env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<Daemon> => {
  const child = spawn(process.execPath, [builtBin, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (text += chunk));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const look = () => {
      const match = /murmur: listening on (https?:\/\/\S+)/.exec(text);
      if (match) {
        child.stderr!.off('data', look);
        resolveUrl(match[1]!);
      }
    };
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`serve exited early (${code}): ${text}`)));
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    url,
    process: child,
    stderr: () => text,
    log: () =>
      text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
};
