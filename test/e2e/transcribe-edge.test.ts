import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16, SILERO, YESNO } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * Audio headers at the edge, sent to a real `murmur serve` with the real
 * recognizer and VAD: rates and channel counts no recording has, and audio
 * shorter than a feature frame, are 400s with a message. Some of these
 * aborted the whole daemon inside sherpa-onnx's resampler (exit 134).
 */

const skip = missingModels(YESNO, SILERO);

/** A 16-bit WAV whose header claims `rate` and `channels`, holding `frames` frames of noise. */
const wavWith = (rate: number, channels: number, frames: number): Buffer => {
  const samples = new Float32Array(frames * channels).map((_, i) => Math.sin(i / 3) * 0.3);
  const wav = encodeWav16(samples, 16000);
  wav.writeUInt16LE(channels, 22);
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE((rate * channels * 2) >>> 0, 28);
  wav.writeUInt16LE((channels * 2) & 0xffff, 32);
  return wav;
};

describe.skipIf(skip)(`transcription input at the edge on a real daemon${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_THREADS: '1', MURMUR_GPU: 'off' });
  const post = (wav: Buffer, fields: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('file', new Blob([wav]), 'edge.wav');
    form.append('model', 'yesno');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return fetch(`${daemon.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-asr-edge-'));
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await runCli(env(), 'pull', dirname(testModel(SILERO)!), '--name', 'silero-vad');
    daemon = await startDaemon(env());
  });

  afterAll(async () => {
    if (daemon && daemon.process.exitCode === null) await daemon.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it.each([
    ['100 samples at 500009 Hz with VAD', wavWith(500_009, 1, 100), { vad: 'true' }, /sample rate is 500009 Hz/],
    ['100 samples at 1000003 Hz with VAD', wavWith(1_000_003, 1, 100), { vad: 'true' }, /1000003 Hz/],
    ['2147483647 Hz', wavWith(2_147_483_647, 1, 1000), {}, /2147483647 Hz/],
    ['4294967295 Hz', wavWith(4_294_967_295, 1, 1000), {}, /4294967295 Hz/],
    ['999 Hz', wavWith(999, 1, 1000), {}, /999 Hz/],
    ['65535 channels', wavWith(16000, 65_535, 2), {}, /65535 channels/],
    ['33 channels', wavWith(16000, 33, 100), {}, /33 channels/],
    ['2 samples', wavWith(16000, 1, 2), {}, /2 samples long/],
    ['2 samples with VAD', wavWith(16000, 1, 2), { vad: 'true' }, /2 samples long/],
    ['100 samples at 384000 Hz with VAD', wavWith(384_000, 1, 100), { vad: 'true' }, /100 samples long/],
    ['3 samples at 8000 Hz with VAD', wavWith(8000, 1, 3), { vad: 'true' }, /3 samples long/],
  ])('refuses %s with a 400 naming the problem', async (_name, wav, fields, message) => {
    const res = await post(wav, fields);
    const body = (await res.json()) as { error: { message: string; type: string; param: string } };
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'file' });
    expect(body.error.message).toMatch(message);
  });

  it('still takes the edges of what is allowed, and is still up after all of it', async () => {
    for (const [rate, channels] of [[1000, 1], [384_000, 1], [16000, 32]] as const) {
      const res = await post(wavWith(rate, channels, Math.ceil(rate * 0.05)), { vad: 'false' });
      expect(res.status, `${rate} Hz, ${channels} channels`).toBe(200);
    }
    const health = await fetch(`${daemon.url}/health`);
    expect(health.status).toBe(200);
    expect(daemon.process.exitCode).toBeNull();
  });
});
