import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildYesnoFile, encodeWav16, wavHeader16, YESNO, yesnoWavs } from '../helpers/asr.js';
import { builtBin, runCli } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * `murmur transcribe` as a user runs it: the built CLI, the real yesno
 * recognizer, files on disk and real pipes. The interrupt tests feed audio
 * through a pipe they hold open, so the run cannot end before the SIGINT,
 * and wait for the first segment before sending it: no timing involved.
 */

const skip = missingModels(YESNO);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(skip)(`murmur transcribe on the yesno model${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let work: string;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1', MURMUR_GPU: 'off', MURMUR_ASR_MODEL: 'yesno' });
  const wavs = () => yesnoWavs();
  const children = new Set<ChildProcess>();

  /** Runs the built CLI to the end, with `stdin` piped in when given. */
  const transcribe = (args: readonly string[], stdin?: Buffer): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [builtBin, 'transcribe', ...args], { env: env(), cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    });

  /** A WAV header of unknown length (as a recorder streaming to a pipe writes) and `seconds` of the yesno wavs, with gaps. */
  const streamedAudio = (seconds: number): Buffer => {
    const built = buildYesnoFile(1, Math.ceil(seconds / 30) + 1);
    const pcm = encodeWav16(built.samples.subarray(0, Math.round(seconds * built.sampleRate)), built.sampleRate).subarray(44);
    const header = wavHeader16(0, built.sampleRate);
    header.writeUInt32LE(0xffffffff, 4);
    header.writeUInt32LE(0xffffffff, 40);
    return Buffer.concat([header, pcm]);
  };

  /** Starts transcribing a pipe that stays open, and resolves once `ready()` holds (polled), with the child. */
  const startHeldOpen = async (args: readonly string[], ready: (stdout: string) => boolean) => {
    const child: ChildProcess = spawn(process.execPath, [builtBin, 'transcribe', ...args], { env: env(), cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    children.add(child);
    const closed = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    child.stdin!.on('error', () => {});
    // Enough audio for several 30 s windows on any number of cores (the pipeline holds up to 4 decodes), then the pipe is held open.
    child.stdin!.write(streamedAudio(200));
    while (!ready(stdout)) {
      if (child.exitCode !== null) throw new Error(`transcribe ended early (${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, closed };
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-transcribe-cli-'));
    work = mkdtempSync(join(tmpdir(), 'murmur-transcribe-out-'));
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
  });

  afterAll(() => {
    // A test that failed while waiting leaves its run going: stop it.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Ctrl-C keeps the srt cues finished so far in the -o file, exits 130 and says "murmur: interrupted"', async () => {
    const out = join(work, 'partial.srt');
    const { child, closed } = await startHeldOpen(['-', '-o', out], () => existsSync(out) && /-->/.test(readFileSync(out, 'utf8')));
    child.kill('SIGINT');
    const run = await closed;
    expect(run.code).toBe(130);
    expect(run.stderr.trim()).toBe('murmur: interrupted');
    const cues = readFileSync(out, 'utf8').trimEnd().split('\n\n');
    expect(cues.length).toBeGreaterThan(0);
    cues.forEach((cue, i) => expect(cue).toMatch(new RegExp(`^${i + 1}\\n\\d\\d:\\d\\d:\\d\\d,\\d{3} --> \\d\\d:\\d\\d:\\d\\d,\\d{3}\\n[YN]+$`)));
  });

  it('Ctrl-C keeps the text lines already printed on stdout (a line per segment)', async () => {
    const { child, closed } = await startHeldOpen([], (stdout) => stdout.includes('\n'));
    child.kill('SIGINT');
    const run = await closed;
    expect(run.code).toBe(130);
    expect(run.stderr.trim()).toBe('murmur: interrupted');
    expect(run.stdout).toMatch(/^([YN]+\n)+$/);
  });

  it('--format jsonl writes an object per segment as it is decoded, each naming its file', async () => {
    const { child, closed } = await startHeldOpen(['--format', 'jsonl'], (stdout) => stdout.includes('\n'));
    child.kill('SIGINT');
    const run = await closed;
    expect(run.code).toBe(130);
    const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    lines.forEach((line, i) => expect(line).toMatchObject({ file: '-', id: i, text: expect.stringMatching(/^[YN]+$/) }));
  });

  it.each([
    ['srt', /^1\n00:00:00,000 --> 00:00:0\d,\d{3}\nNYYYYYYY\n$/],
    ['vtt', /^WEBVTT\n\n00:00:00.000 --> 00:00:0\d.\d{3}\nNYYYYYYY\n$/],
    ['txt', /^NYYYYYYY\n$/],
    ['jsonl', /^\{"file":".*0_1_1_1_1_1_1_1\.wav","id":0,.*"text":"NYYYYYYY"\}\n$/],
  ])('-o t.%s takes its format from the extension', async (ext, expected) => {
    const out = join(work, `t.${ext}`);
    const run = await transcribe([wavs()[0]!.path, '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(expected);
  });

  it('-o t.json writes json with the file named; --format verbose_json fits .json too', async () => {
    const out = join(work, 't.json');
    expect((await transcribe([wavs()[0]!.path, '-o', out])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ file: wavs()[0]!.path, text: 'NYYYYYYY', usage: { type: 'duration', seconds: 7 } });
    expect((await transcribe([wavs()[0]!.path, '-o', out, '--format', 'verbose_json'])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ file: wavs()[0]!.path, duration: expect.any(Number), segments: [{ text: 'NYYYYYYY' }] });
  });

  it('a --format the -o extension contradicts is a usage error (exit 2) that writes nothing', async () => {
    const out = join(work, 'conflict.srt');
    const run = await transcribe([wavs()[0]!.path, '-o', out, '--format', 'text']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^murmur: -o .*conflict\.srt is a \.srt file, but --format says text\.\n {2}.*\.txt/);
    expect(existsSync(out)).toBe(false);
  });

  it('several inputs say which file each transcript is: a "file" field in json, a header line in text', async () => {
    const [a, b] = [wavs()[0]!, wavs()[1]!];
    const json = await transcribe([a.path, b.path, '-f', 'json']);
    expect(json.code).toBe(0);
    expect(json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { file: a.path, text: a.expected, usage: expect.any(Object) },
      { file: b.path, text: b.expected, usage: expect.any(Object) },
    ]);
    const text = await transcribe([a.path, b.path]);
    expect(text.stdout).toBe(`==> ${a.path} <==\n${a.expected}\n==> ${b.path} <==\n${b.expected}\n`);
  });

  it('-o with several inputs is refused (exit 2) and points to --out-dir, which writes one file per input', async () => {
    const [a, b] = [wavs()[0]!, wavs()[1]!];
    const refused = await transcribe([a.path, b.path, '-o', join(work, 'both.txt')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--out-dir/);
    const dir = join(work, 'subs');
    expect((await transcribe([a.path, b.path, '--out-dir', dir, '-f', 'vtt'])).code).toBe(0);
    expect(readFileSync(join(dir, '0_1_1_1_1_1_1_1.vtt'), 'utf8')).toMatch(/^WEBVTT\n\n.*\nNYYYYYYY\n$/);
    expect(readFileSync(join(dir, '1_0_0_0_0_0_0_0.vtt'), 'utf8')).toMatch(/\nYNNNNNNN\n$/);
  });

  it('--json prints one object per input for scripts: file, text, duration, language, segments, timings', async () => {
    const [a, b] = [wavs()[0]!, wavs()[1]!];
    const run = await transcribe([a.path, b.path, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([a, b].map((w) => ({
      file: w.path,
      model: 'yesno',
      text: w.expected,
      language: null,
      duration: expect.any(Number),
      segments: [{ id: 0, start: 0, end: expect.any(Number), text: w.expected }],
      output: null,
      timings: { totalMs: expect.any(Number), realTimeFactor: expect.any(Number) },
    })));
    const withFile = await transcribe([a.path, '--json', '-o', join(work, 'j.srt')]);
    expect(JSON.parse(withFile.stdout)).toMatchObject({ file: a.path, output: join(work, 'j.srt') });
    expect(readFileSync(join(work, 'j.srt'), 'utf8')).toMatch(/^1\n/);
  });

  it("reads stdin when piped with no file, and with '-'", async () => {
    const wav = readFileSync(wavs()[0]!.path);
    for (const args of [[], ['-']]) {
      const run = await transcribe(args, wav);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('NYYYYYYY\n');
    }
  });

  it('an unknown --language is a usage error (exit 2); one the model takes no setting for is a warning', async () => {
    const bad = await transcribe([wavs()[0]!.path, '--language', 'xx']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^murmur: Unknown language code 'xx'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const ignored = await transcribe([wavs()[0]!.path, '--language', 'de']);
    expect(ignored.code).toBe(0);
    expect(ignored.stderr).toMatch(/warning: 'yesno' takes no language setting; --language de is ignored/);
    expect(ignored.stdout).toBe('NYYYYYYY\n');
  });

  it('draws no progress bar on a pipe', async () => {
    const run = await transcribe([wavs()[0]!.path]);
    expect(run.stderr).not.toMatch(/%|ETA|\r|\x1b/);
  });
});
