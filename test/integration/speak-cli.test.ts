import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.js';
import { runCli } from '../helpers/cli.js';
import { missingModels, testModel } from '../helpers/models.js';

const CHARS = 'tts-synthetic/characters-style/model.onnx';

describe.skipIf(missingModels(CHARS))('murmur speak (in-process, synthetic voice)', () => {
  let home: string;
  let work: string;
  const env = () => ({ MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1' });
  const speak = async (...args: string[]) => {
    // run() reads process.exitCode, which a failed batch sets; each call starts clean.
    process.exitCode = undefined;
    const result = await runCli(['speak', '--local', '--model', 'chars', ...args], env());
    process.exitCode = undefined;
    return result;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-speak-home-'));
    work = mkdtempSync(join(tmpdir(), 'murmur-speak-out-'));
    const pulled = await runCli(['pull', join(testModel(CHARS)!, '..'), '--name', 'chars'], env());
    expect(pulled.code).toBe(0);
  });

  afterAll(() => {
    for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a WAV file whose length follows the text, and PCM of the same samples', async () => {
    const wav = join(work, 'hello.wav');
    const pcm = join(work, 'hello.pcm');
    expect((await speak('-o', wav, 'Hello world. How are you?')).code).toBe(0);
    expect((await speak('-o', pcm, 'Hello world. How are you?')).code).toBe(0);
    const decoded = readWav(readFileSync(wav));
    expect(decoded.sampleRate).toBe(16000);
    expect(decoded.samples.length % 256).toBe(0);
    expect(decoded.samples.length).toBeGreaterThan(0);
    expect(statSync(pcm).size).toBe(decoded.samples.length * 2);
    expect(readdirSync(work).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('refuses an output path in a missing directory, leaving no file', async () => {
    const target = join(work, 'no', 'such', 'dir', 'x.wav');
    const result = await speak('-o', target, 'Hello.');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does not exist/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(work, 'no'))).toBe(false);
  });

  it('refuses bad flags and values with clear errors', async () => {
    for (const bad of ['9', '5', '0.1', 'fast']) {
      const speed = await speak('--speed', bad, '-o', join(work, 'f.wav'), 'Hi.');
      expect(speed.code).toBe(2);
      expect(speed.stderr).toBe(`murmur: --speed must be between 0.25 and 4, not '${bad}'.\n`);
    }
    expect((await speak('--jobs', 'two', '--batch', 'x.txt', '--out-dir', work)).code).toBe(2);
    expect(existsSync(join(work, 'f.wav'))).toBe(false);
    // An unknown voice is a bad flag value too: exit 2, with the voices listed.
    const voice = await speak('--voice', 'nobody', '-o', join(work, 'v.wav'), 'Hi.');
    expect(voice.code).toBe(2);
    expect(voice.stderr).toMatch(/speaker-0/);
    expect(existsSync(join(work, 'v.wav'))).toBe(false);
    expect((await speak('--format', 'aiff', '-o', '-', 'Hi.')).code).toBe(2);
  });

  it('warns about a flag that does not apply, and still speaks', async () => {
    const out = join(work, 'warned.wav');
    const result = await speak('--jobs', '2', '-o', out, 'Hi.');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('murmur: warning: --jobs applies only with --batch; ignored.\n');
    expect(existsSync(out)).toBe(true);
  });

  it('--json reports what a one-shot speak wrote', async () => {
    const out = join(work, 'report.mp3');
    const result = await speak('-o', out, '--json', 'Hello world, how are you?');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown> & { durationSeconds: number; timings: { totalMs: number; firstAudioMs: number; realTimeFactor: number } };
    expect(report).toMatchObject({ path: out, format: 'mp3', model: 'chars', voice: 'speaker-0', sampleRate: 16000, characters: 'Hello world, how are you?'.length });
    expect(report.durationSeconds).toBeGreaterThan(0);
    expect(report.timings.realTimeFactor).toBeCloseTo(report.timings.totalMs / 1000 / report.durationSeconds, 2);
    expect(report.timings.firstAudioMs).toBeLessThanOrEqual(report.timings.totalMs);
    const wav = join(work, 'report.wav');
    const plain = JSON.parse((await speak('-o', wav, '--json', 'Hello world. How are you?')).stdout) as { durationSeconds: number };
    expect(plain.durationSeconds).toBeCloseTo(readWav(readFileSync(wav)).samples.length / 16000, 3);
  });

  it('lists the voices of a catalog model that is not downloaded, and the speaker range of a many-speaker one', async () => {
    const kokoro = await speak('--voices', '--model', 'kokoro');
    expect(kokoro.code).toBe(0);
    expect(kokoro.stdout).toMatch(/^kokoro\S*  \(not downloaded\)\n {2}af\b.*\[default\]$/m);
    expect(kokoro.stderr).toMatch(/murmur pull kokoro/);
    const libritts = await speak('--voices', '--model', 'libritts');
    expect(libritts.stdout).toMatch(/^ {2}… 904 speakers in all: --voice takes any id 0-903$/m);
    expect(JSON.parse((await speak('--voices', '--model', 'libritts', '--json')).stdout)).toMatchObject({ model: 'piper-en-us-libritts-r-medium', speakerCount: 904, downloaded: false });
    expect((await speak('--voices', '--model', 'no-such-voice')).code).toBe(1);
  });

  it('lists voices as text and JSON', async () => {
    const text = await speak('--voices');
    expect(text.stdout).toMatch(/^chars\n {2}speaker-0 {2}\[default\]$/m);
    expect(JSON.parse((await speak('--voices', '--json')).stdout)).toMatchObject({ model: 'chars', voices: [{ name: 'speaker-0', id: 0 }] });
  });

  it('runs a batch with a bad line: reports its number, writes the rest, exits 1, and resumes', async () => {
    const file = join(work, 'lines.jsonl');
    const out = join(work, 'batch');
    writeFileSync(
      file,
      ['{"text": "First line."}', '{"text": "Second", "out": "second.wav"}', 'not json at all', '{"text": "Fourth.", "voice": "nobody"}', '{"text": "Fifth."}', ''].join('\n'),
    );
    const first = await speak('--batch', file, '--out-dir', out, '--jobs', '2', '--json');
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/line 3: not valid JSON/);
    expect(first.stderr).toMatch(/line 4: .*nobody/);
    expect(readdirSync(out).sort()).toEqual(['.murmur-batch.json', '0001.wav', '0005.wav', 'second.wav']);
    const summary = JSON.parse(first.stdout) as { written: number; skipped: number; failed: number; audioSeconds: number };
    expect(summary).toMatchObject({ written: 3, skipped: 0, failed: 2 });
    expect(summary.audioSeconds).toBeCloseTo(['0001.wav', '0005.wav', 'second.wav'].reduce((s, f) => s + readWav(readFileSync(join(out, f))).samples.length / 16000, 0), 5);

    const again = await speak('--batch', file, '--out-dir', out, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ written: 0, redone: 0, skipped: 3, failed: 2 });
  });

  it('resumes by the manifest: an edited line is made again, an unchanged one skipped, --force redoes all', async () => {
    const file = join(work, 'edit.txt');
    const out = join(work, 'edited');
    writeFileSync(file, 'One.\nTwo.\nThree.\n');
    expect((await speak('--batch', file, '--out-dir', out)).code).toBe(0);
    const before = readWav(readFileSync(join(out, '0002.wav'))).samples.length;
    const manifest = () => JSON.parse(readFileSync(join(out, '.murmur-batch.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    const first = manifest().files;
    expect(Object.keys(first).sort()).toEqual(['0001.wav', '0002.wav', '0003.wav']);

    writeFileSync(file, 'One.\nTwo, and a longer second line.\nThree.\n');
    const edited = await speak('--batch', file, '--out-dir', out, '--json');
    expect(JSON.parse(edited.stdout)).toMatchObject({ written: 1, redone: 1, skipped: 2, failed: 0 });
    expect(edited.stderr).toMatch(/^1 file written \(1 redone: changed since the last run\), 2 unchanged and skipped, 0 failed/m);
    expect(readWav(readFileSync(join(out, '0002.wav'))).samples.length).toBeGreaterThan(before);
    expect(manifest().files['0002.wav']!.sha256).not.toBe(first['0002.wav']!.sha256);
    expect(manifest().files['0001.wav']).toEqual(first['0001.wav']);

    // Another speed is another recipe; a file the manifest does not know is made again.
    writeFileSync(join(out, '0003.wav'), 'not from this batch');
    const faster = await speak('--batch', file, '--out-dir', out, '--json', '--speed', '2');
    expect(JSON.parse(faster.stdout)).toMatchObject({ written: 3, redone: 3, skipped: 0 });
    expect(JSON.parse((await speak('--batch', file, '--out-dir', out, '--json', '--speed', '2')).stdout)).toMatchObject({ written: 0, skipped: 3 });
    expect(JSON.parse((await speak('--batch', file, '--out-dir', out, '--json', '--speed', '2', '--force')).stdout)).toMatchObject({ written: 3, redone: 3, skipped: 0 });
    expect(readdirSync(out).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('numbers plain-text batch lines and skips blank ones', async () => {
    const file = join(work, 'lines.txt');
    const out = join(work, 'plain');
    writeFileSync(file, 'One.\n\nThree.\n');
    expect((await speak('--batch', file, '--out-dir', out)).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.murmur-batch.json', '0001.wav', '0003.wav']);
  });
});
