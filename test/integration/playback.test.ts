import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasOutputDevice, openPlayback } from '../../src/audio/playback.js';
import { floatToS16le } from '../../src/audio/pcm.js';
import { cannotPlay, deviceEverywhere, fileDeviceHome as makeFileDeviceHome } from '../helpers/playback.js';

const dirs: string[] = [];
const tempHome = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'murmur-playback-'));
  dirs.push(dir);
  return dir;
};
const fileDeviceHome = () => {
  const made = makeFileDeviceHome();
  dirs.push(made.home);
  return made;
};
const noPlay = cannotPlay();
const noBareHome = deviceEverywhere();
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const signal = (n: number, rate: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.1 * Math.sin((2 * Math.PI * 1234 * i) / rate));

describe.skipIf(process.platform !== 'linux')('playback (ALSA, Linux only)', () => {
  it('finds the ALSA config that defines a default pcm', () => {
    const { home } = fileDeviceHome();
    expect(hasOutputDevice({ HOME: home })).toBe(true);
  });

  it.skipIf(noBareHome)(`finds no device with an empty HOME and no sound card, and says what to do instead${noBareHome ? ` (skipped: ${noBareHome})` : ''}`, async () => {
    const env = { HOME: tempHome(), PATH: process.env.PATH };
    expect(hasOutputDevice(env)).toBe(false);
    await expect(openPlayback({ sampleRate: 16000, env })).rejects.toMatchObject({ code: 'not_supported', hint: expect.stringContaining('-o out.wav') });
  });

  it('reports a child that fails to start as not_supported, never a crash', async () => {
    const { home } = fileDeviceHome();
    const env = { ...process.env, HOME: home };
    await expect(openPlayback({ sampleRate: 16000, env, childPath: join(home, 'missing-child.js') })).rejects.toMatchObject({ code: 'not_supported' });
  });

  it.skipIf(noPlay)(`plays through an ALSA file device exactly what was written${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const { home, out } = fileDeviceHome();
    const rate = 16000;
    const samples = signal(rate * 1.5, rate);
    const playback = await openPlayback({ sampleRate: rate, env: { ...process.env, HOME: home } });
    // Written in sentence-sized pieces, as speak does.
    for (let i = 0; i < samples.length; i += 4000) await playback.write(samples.subarray(i, i + 4000));
    await playback.end();
    const played = readFileSync(out);
    const sent = floatToS16le(samples);
    // ALSA may pad the last period with silence; everything sent comes first, unchanged.
    expect(played.length).toBeGreaterThanOrEqual(sent.length);
    expect(Buffer.compare(played.subarray(0, sent.length), Buffer.from(sent))).toBe(0);
    expect(played.subarray(sent.length).every((b) => b === 0)).toBe(true);
  });

  it.skipIf(noPlay)(`a device that aborts the audio backend is a not_supported error, not a crash${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const home = tempHome();
    writeFileSync(join(home, '.asoundrc'), 'pcm.!default { type hw card 29 }\n'); // no such card
    const attempt = async (): Promise<void> => {
      const playback = await openPlayback({ sampleRate: 16000, env: { ...process.env, HOME: home } });
      await playback.write(new Float32Array(16000));
      await playback.end();
    };
    await expect(attempt()).rejects.toMatchObject({ code: 'not_supported', message: expect.stringContaining('No audio output device'), hint: expect.stringContaining('-o -') });
  });

  it.skipIf(noPlay)(`abort stops playback without an error${noPlay ? ` (skipped: ${noPlay})` : ''}`, async () => {
    const { home } = fileDeviceHome();
    const playback = await openPlayback({ sampleRate: 22050, env: { ...process.env, HOME: home } });
    await playback.write(signal(22050, 22050));
    playback.abort();
    await expect(playback.write(new Float32Array(10))).rejects.toMatchObject({ code: 'aborted' });
    await playback.end();
  });
});
