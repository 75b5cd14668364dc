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
    expect((await speak('--speed', '9', '-o', join(work, 'f.wav'), 'Hi.')).stderr).toMatch(/Speed must be between 0.25 and 4/);
    const voice = await speak('--voice', 'nobody', '-o', join(work, 'v.wav'), 'Hi.');
    expect(voice.code).toBe(1);
    expect(voice.stderr).toMatch(/speaker-0/);
    expect(existsSync(join(work, 'v.wav'))).toBe(false);
    expect((await speak('--format', 'aiff', '-o', '-', 'Hi.')).code).toBe(2);
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
    expect(readdirSync(out).sort()).toEqual(['0001.wav', '0005.wav', 'second.wav']);
    const summary = JSON.parse(first.stdout) as { written: number; skipped: number; failed: number; audioSeconds: number };
    expect(summary).toMatchObject({ written: 3, skipped: 0, failed: 2 });
    expect(summary.audioSeconds).toBeCloseTo(['0001.wav', '0005.wav', 'second.wav'].reduce((s, f) => s + readWav(readFileSync(join(out, f))).samples.length / 16000, 0), 5);

    const again = await speak('--batch', file, '--out-dir', out, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ written: 0, skipped: 3, failed: 2 });
  });

  it('numbers plain-text batch lines and skips blank ones', async () => {
    const file = join(work, 'lines.txt');
    const out = join(work, 'plain');
    writeFileSync(file, 'One.\n\nThree.\n');
    expect((await speak('--batch', file, '--out-dir', out)).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['0001.wav', '0003.wav']);
  });
});
