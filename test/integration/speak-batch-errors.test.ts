import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YESNO, yesnoWavs } from '../helpers/asr.js';
import { runCli as runInProcess } from '../helpers/cli.js';
import { builtBin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * Bad input to `speak --batch`, `speak -o -` and `transcribe -o` (trial 14):
 * a file-system failure is one line with a hint (never "unexpected error"
 * and a stack), unknown JSONL keys and -o extensions are a warning, binary
 * audio is not written onto a terminal. The built CLI, so the fs-faults
 * preload can make a directory read-only for a process running as root.
 */

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const PRELOAD = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fs-faults.mjs');

let home: string;
let work: string;
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1', MURMUR_DEBUG: '', ...extra });

const murmur = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [builtBin, ...args], { env: env(extra), cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
const speak = (...args: string[]) => murmur(['speak', '--local', '--model', 'chars', ...args]);

describe.skipIf(missingModels(CHARS, YESNO))('speak --batch, speak -o -, transcribe -o: bad input', () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-batch-err-home-'));
    work = mkdtempSync(join(tmpdir(), 'murmur-batch-err-'));
    expect((await murmur(['pull', join(testModel(CHARS)!, '..'), '--name', 'chars'])).code).toBe(0);
    writeFileSync(join(work, 'lines.txt'), 'One.\nTwo.\n');
  });
  afterAll(() => {
    for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a missing batch file: one line naming it, a hint, exit 1', async () => {
    const run = await speak('--batch', 'nosuch.txt', '--out-dir', 'o');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^murmur: Cannot read the batch file 'nosuch\.txt': no such file or directory\.\n {2}Pass --batch a text file/);
    expect(run.stderr).not.toMatch(/unexpected|\n\s+at /);
  });

  it('a batch "file" that is a directory: one line, exit 1', async () => {
    const run = await speak('--batch', work, '--out-dir', 'o');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^murmur: Cannot read the batch file '.*': it is a directory\.\n/);
  });

  it('--out-dir that is an existing file: one line, a hint, exit 1, the file untouched', async () => {
    writeFileSync(join(work, 'afile'), 'keep');
    const run = await speak('--batch', 'lines.txt', '--out-dir', 'afile');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("murmur: Cannot use 'afile' as --out-dir: it is a file, not a directory.\n  Name a directory (it is made if missing), or move the file away.\n");
    expect(readFileSync(join(work, 'afile'), 'utf8')).toBe('keep');
  });

  it('a read-only --out-dir: one line before anything is synthesized, exit 1', async () => {
    const out = join(work, 'readonly');
    mkdirSync(out);
    const run = await murmur(['speak', '--local', '--model', 'chars', '--batch', 'lines.txt', '--out-dir', out], {
      NODE_OPTIONS: `--import ${PRELOAD}`,
      MURMUR_FAULT_ROOT: out,
      MURMUR_FAULT_CODE: 'EROFS',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`murmur: Cannot write in --out-dir '${out}': the file system is read-only.\n  Choose a directory you can write to, or fix its permissions.\n`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('JSONL keys murmur does not know: one warning per key (not per line) naming the known keys; the lines still run', async () => {
    writeFileSync(join(work, 'keys.jsonl'), '{"text":"One.","file":"a.wav"}\n{"text":"Two.","file":"b.wav","pitch":2}\n{"text":"Three."}\n');
    const run = await speak('--batch', 'keys.jsonl', '--out-dir', 'keys');
    expect(run.code).toBe(0);
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('murmur: warning:'));
    expect(warnings).toEqual([
      'murmur: warning: "file" (lines 1, 2) is not a batch key, so it is ignored; the keys are "text", "voice", "out", "speed".',
      'murmur: warning: "pitch" (line 2) is not a batch key, so it is ignored; the keys are "text", "voice", "out", "speed".',
    ]);
    expect(readdirSync(join(work, 'keys')).filter((f) => f.endsWith('.wav')).sort()).toEqual(['0001.wav', '0002.wav', '0003.wav']);
  });

  it('speak -o - onto a terminal: refused in one line, exit 2, nothing written', async () => {
    const run = await runInProcess(['speak', '--local', '--model', 'chars', '-o', '-', 'Hello.'], env(), { tty: true });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('murmur: not writing binary audio to a terminal; redirect it (> out.wav) or use -o FILE\n');
    expect(run.stdout).toBe('');
    // Redirected (not a terminal), the same command writes the WAV.
    const piped = await runInProcess(['speak', '--local', '--model', 'chars', '-o', '-', 'Hello.'], env());
    expect(piped.code).toBe(0);
    expect(piped.stdout.startsWith('RIFF')).toBe(true);
  });

  it('transcribe -o t.xyz: a warning naming the format used (text) and the known extensions, then the text', async () => {
    expect((await murmur(['pull', dirname(testModel(YESNO)!), '--name', 'yesno'])).code).toBe(0);
    const [wav] = yesnoWavs();
    const run = await murmur(['transcribe', '--local', '-m', 'yesno', wav!.path, '-o', 't.xyz']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("murmur: warning: '.xyz' is not an extension murmur knows, so t.xyz is written as text; the known ones are .txt .srt .vtt .json .jsonl .ndjson (or pass --format).\n");
    expect(readFileSync(join(work, 't.xyz'), 'utf8').trim()).toBe(wav!.expected);
    // Named, or with --format, there is nothing to warn about.
    const known = await murmur(['transcribe', '--local', '-m', 'yesno', wav!.path, '-o', 't.txt']);
    expect(known.stderr).not.toContain('warning');
    const forced = await murmur(['transcribe', '--local', '-m', 'yesno', wav!.path, '-o', 't.xyz', '--format', 'srt']);
    expect(forced.stderr).not.toContain('warning');
  }, 60_000);
});
