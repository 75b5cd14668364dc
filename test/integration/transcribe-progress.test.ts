import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YESNO, yesnoWavs } from '../helpers/asr.js';
import { runCli } from '../helpers/cli.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * `transcribe`'s progress on stderr, with the real yesno model in process:
 * on a terminal, percent, seconds of the known length and an ETA; on a pipe,
 * nothing but the summary line.
 */

const skip = missingModels(YESNO);

describe.skipIf(skip)(`transcribe progress${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  const env = () => ({ MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1', MURMUR_GPU: 'off', MURMUR_ASR_MODEL: 'yesno' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-transcribe-progress-'));
    expect((await runCli(['pull', dirname(testModel(YESNO)!), '--name', 'yesno'], env())).code).toBe(0);
  });

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('on a terminal shows percent, the audio length and an ETA for a file whose length the header gives', async () => {
    const wav = yesnoWavs()[0]!;
    const run = await runCli(['transcribe', wav.path, '--local'], env(), { tty: true });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('NYYYYYYY\n');
    expect(run.stderr).toMatch(/0_1_1_1_1_1_1_1\.wav \|.*\| \d+% \| [\d.]+\/6\.2 s \| ETA /);
  });

  it('on a pipe draws nothing: only the summary line', async () => {
    const run = await runCli(['transcribe', yesnoWavs()[0]!.path, '--local'], env(), { tty: false });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^1 file · 6\.2 s of audio in [\d.]+ s · real-time factor [\d.]+ · yesno\n$/);
  });
});
