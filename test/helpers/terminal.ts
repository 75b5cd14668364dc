import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import xterm from '@xterm/headless';

const driver = join(dirname(fileURLToPath(import.meta.url)), 'pty-driver.py');

/** A reason to skip, or undefined when python3 (which opens the pseudo-terminal) is here. */
export const missingPython = (): string | undefined =>
  spawnSync('python3', ['-c', 'import pty, fcntl, termios'], { stdio: 'ignore' }).status === 0 ? undefined : 'python3 (with pty, fcntl, termios) is not installed';

/**
 * A command run on a real pseudo-terminal (test/helpers/pty-driver.py), its
 * output rendered by a headless xterm.js, so a test reads the screen a user
 * sees: what was erased, rewrapped and redrawn, not the bytes written.
 */
export class PtyTerminal {
  readonly term: InstanceType<typeof xterm.Terminal>;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Every byte the command wrote, for a failure's message. */
  raw = '';
  private writes = Promise.resolve();

  constructor(command: readonly string[], options: { cols: number; rows: number; env: NodeJS.ProcessEnv }) {
    this.term = new xterm.Terminal({ cols: options.cols, rows: options.rows, allowProposedApi: true, scrollback: 1000 });
    this.child = spawn('python3', [driver, String(options.cols), String(options.rows), ...command], { env: options.env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.raw += chunk.toString('utf8');
      // The bytes are rendered in the order they came, each chunk after the last has been parsed.
      this.writes = this.writes.then(() => new Promise<void>((done) => this.term.write(chunk, done)));
    });
    this.exited = new Promise((done) => this.child.on('close', (code) => done(code)));
  }

  private send(step: object): void {
    this.child.stdin!.write(`${JSON.stringify(step)}\n`);
  }

  /** Keystrokes, as a terminal sends them ('\r' for Enter, '\x03' for Ctrl-C). */
  type(text: string): void {
    this.send({ write: text });
  }

  /**
   * The window resized: the emulator reflows what it shows (as a real
   * terminal does), then the pty's size changes and the command gets SIGWINCH.
   */
  async resize(cols: number, rows: number): Promise<void> {
    await this.writes;
    this.term.resize(cols, rows);
    this.send({ resize: [cols, rows] });
  }

  /** The lines on screen now (the viewport), trailing blanks trimmed. */
  async screen(): Promise<string[]> {
    await this.writes;
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < this.term.rows; row++) lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
    while (lines.length && !lines.at(-1)) lines.pop();
    return lines;
  }

  /** Every line the terminal holds, scrollback included, trailing blanks trimmed. */
  async allLines(): Promise<string[]> {
    await this.writes;
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < buffer.length; row++) lines.push(buffer.getLine(row)?.translateToString(true) ?? '');
    while (lines.length && !lines.at(-1)) lines.pop();
    return lines;
  }

  /** Resolves once the command has written nothing for `quietMs` (the screen has settled). */
  async settle(quietMs = 300): Promise<void> {
    for (;;) {
      const before = this.raw.length;
      await new Promise((done) => setTimeout(done, quietMs));
      if (this.raw.length === before) return void (await this.writes);
    }
  }

  /** Waits until the screen satisfies `test`; fails with the screen after `timeoutMs`. */
  async waitFor(test: (lines: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.screen();
      if (test(lines)) return lines;
      if (Date.now() > deadline) throw new Error(`the screen never showed what was awaited; it shows:\n${lines.join('\n')}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  /** Ends the command (SIGHUP, as when a terminal is closed) and waits for it. */
  async close(): Promise<number | null> {
    if (this.child.exitCode === null) this.send({ close: true });
    this.child.stdin!.end();
    return this.exited;
  }
}
