import { Writable } from 'node:stream';
import type { CommandContext } from '../../commands/context.js';
import { run } from '../../commands/index.js';
import { loadConfig } from '../../src/config.js';

/** A writable that keeps what it is given, with an isTTY flag. */
export class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process (`run(argv, ctx)`) with captured streams and its own environment. */
export const runCli = async (args: readonly string[], env: NodeJS.ProcessEnv, options: { signal?: AbortSignal; tty?: boolean; columns?: number } = {}): Promise<CliResult> => {
  const stdout = new Capture(options.tty);
  // A terminal's reported width (0: one that reports none, as a pty at 0x0 does).
  if (options.columns !== undefined) stdout.columns = options.columns;
  const stderr = new Capture(options.tty);
  const ctx: CommandContext = {
    env,
    stdin: process.stdin,
    stdout,
    stderr,
    signal: options.signal ?? new AbortController().signal,
    config: (overrides) => loadConfig(env, overrides),
  };
  const code = await run(['node', 'murmur', ...args], ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
};
