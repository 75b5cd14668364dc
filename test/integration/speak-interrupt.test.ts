import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { builtBin, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * Ctrl-C (a real SIGINT to the built CLI) while `murmur speak` writes a
 * file or a batch: exit 130, exactly "murmur: interrupted" (after the
 * batch's summary), no stack trace, no half-written file under a final
 * name, and a batch resumes from what it finished.
 */

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const LINE = `${'Hello world, this is a line to speak. '.repeat(20)}\n`;

let home: string;
let work: string;
const env = (): NodeJS.ProcessEnv => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1', MURMUR_DEBUG: '' });

interface Started {
  readonly exited: Promise<number | null>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  interrupt(): void;
  kill(): void;
}

/** Starts the built `murmur speak --local --model chars ARGS` (through the daemon at `host` instead, when given), writing `input` to its stdin (closed unless `keepOpen`). */
const start = (args: string[], input: string, keepOpen = false, host?: string): Started => {
  const where = host ? [] : ['--local'];
  const child = spawn(process.execPath, [builtBin, 'speak', ...where, '--model', 'chars', ...args], { env: { ...env(), ...(host ? { MURMUR_HOST: host } : {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdin!.on('error', () => undefined);
  child.stdin!.write(input);
  if (!keepOpen) child.stdin!.end();
  return {
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    stdout: () => stdout,
    stderr: () => stderr,
    interrupt: () => child.kill('SIGINT'),
    kill: () => {
      child.stdin!.destroy();
      child.kill('SIGKILL');
    },
  };
};

describe.skipIf(missingModels(CHARS))('murmur speak interrupted (built CLI, SIGINT)', () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-speak-int-home-'));
    work = mkdtempSync(join(tmpdir(), 'murmur-speak-int-'));
    expect((await runCli(['pull', join(testModel(CHARS)!, '..'), '--name', 'chars'], env())).code).toBe(0);
  });
  afterAll(() => {
    for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [format, keepOpen] of [['mp3', false], ['opus', false], ['flac', false], ['wav', false], ['mp3', true]] as const) {
    it(`Ctrl-C while writing ${format}${keepOpen ? ' (stdin still open)' : ''}: exit 130, "murmur: interrupted", no file left`, async () => {
      const dir = join(work, `${format}-${keepOpen ? 'open' : 'closed'}`);
      mkdirSync(dir);
      const speak = start(['-o', join(dir, `x.${format}`)], LINE.repeat(300), keepOpen);
      try {
        // The temporary file exists: the audio is being written.
        await expect.poll(() => readdirSync(dir).length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
        expect(readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`^\\.x\\.${format}\\.\\d+\\.partial$`))]);
        speak.interrupt();
        expect(await speak.exited).toBe(130);
      } finally {
        speak.kill();
      }
      expect(speak.stderr()).toBe('murmur: interrupted\n');
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('Ctrl-C during --batch prints the summary, then "murmur: interrupted", exits 130; the next run makes only the rest', async () => {
    const file = join(work, 'many.txt');
    const out = join(work, 'batch');
    const lines = Array.from({ length: 1500 }, (_, i) => `Line number ${i + 1} of the batch, spoken in full.`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const batch = start(['--batch', file, '--out-dir', out, '--json'], '');
    try {
      await expect.poll(() => (existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.wav')).length : 0), { timeout: 30_000, interval: 20 }).toBeGreaterThan(2);
      batch.interrupt();
      expect(await batch.exited).toBe(130);
    } finally {
      batch.kill();
    }
    const stderr = batch.stderr().trimEnd().split('\n');
    expect(stderr.at(-1)).toBe('murmur: interrupted');
    expect(stderr.at(-2)).toMatch(/^\d+ files? written, 0 unchanged and skipped, 0 failed/);
    const summary = JSON.parse(batch.stdout()) as { written: number; interrupted: boolean };
    expect(summary.interrupted).toBe(true);
    expect(summary.written).toBeLessThan(lines.length);
    const made = readdirSync(out).filter((f) => f.endsWith('.wav')).sort();
    expect(made.length).toBe(summary.written);
    expect(readdirSync(out).filter((f) => f.includes('.partial'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(out, '.murmur-batch.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    expect(Object.keys(manifest.files).sort()).toEqual(made);

    const rest = await runCli(['speak', '--local', '--model', 'chars', '--batch', file, '--out-dir', out, '--json'], env());
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ written: lines.length - made.length, redone: 0, skipped: made.length, failed: 0, interrupted: false });
  }, 120_000);

  /*
   * Through a daemon the audio arrives faster than this process encodes
   * mp3; Ctrl-C used to wait seconds while the queued backlog was encoded
   * (test/unit/ui/speak-output.test.ts holds that the backlog is dropped).
   * Here: the real path ends as an interrupt, the daemon's session is
   * cancelled (DELETE) and no file is left.
   */
  describe('through a daemon', () => {
    let daemon: Daemon;
    beforeAll(async () => {
      daemon = await startDaemon({ ...env(), MURMUR_HOST: '' });
    });
    afterAll(async () => {
      await daemon?.stop();
    });

    it('Ctrl-C while writing mp3: exit 130, "murmur: interrupted", the session is cancelled, no file left', async () => {
      const dir = join(work, 'daemon-mp3');
      mkdirSync(dir);
      const speak = start(['-o', join(dir, 'x.mp3')], LINE.repeat(300), false, daemon.url);
      try {
        await expect.poll(() => readdirSync(dir).length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
        speak.interrupt();
        expect(await speak.exited).toBe(130);
      } finally {
        speak.kill();
      }
      expect(speak.stderr()).toBe('murmur: interrupted\n');
      expect(readdirSync(dir)).toEqual([]);
      await expect
        .poll(() => daemon.log().filter((l) => l.method === 'DELETE' && /^\/v1\/audio\/speech\/sessions\/[^/]+$/.test(String(l.path))).length, { timeout: 10_000 })
        .toBe(1);
    }, 60_000);
  });
});
