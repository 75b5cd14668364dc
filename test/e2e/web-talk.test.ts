import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.js';
import { wavHeader } from '../../src/audio/wav.js';
import { readTestWav, SILERO, YESNO } from '../helpers/asr.js';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The page's Talk view on a real `murmur serve`, in Debian's chromium with
 * its fake microphone fed from a yes/no recording: the daemon's realtime
 * door hears the turn, the page shows its transcript and the reply's text,
 * and queues the reply's audio for playback. A microphone the browser
 * refuses is said in the page.
 */

const GGUF = 'stories260K/stories260K.gguf';
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const CLIP = 'yesno-tdnn-ctc/test_wavs/1_0_1_1_1_0_1_0.wav';
const KEY = 'web-talk-key';
/** The key in the page's storage before it loads (a string: the test's types have no DOM). */
const KEY_SCRIPT = `localStorage.setItem('murmur.apiKey', ${JSON.stringify(KEY)})`;
const skip = missingBrowser() ?? missingModels(GGUF, VOICE, YESNO, SILERO, CLIP);

/** The clip as 16-bit mono PCM WAV at 48 kHz (what Chromium's fake capture reads), with silence around it so VAD ends the turn. */
const microphoneWav = (path: string) => {
  const rate = 48_000;
  const wav = readTestWav(testModel(CLIP)!);
  const clip = resample(wav.samples, wav.sampleRate, rate);
  const samples = new Float32Array(Math.round(rate * 0.5) + clip.length + rate * 4);
  samples.set(clip, Math.round(rate * 0.5));
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  writeFileSync(path, Buffer.concat([Buffer.from(wavHeader({ sampleRate: rate, channels: 1, dataBytes: data.length })), data]));
};

describe.skipIf(skip)(`the page's Talk view${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let browser: Browser;
  let wav: string;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: KEY, MURMUR_DEBUG: '', MURMUR_HOST: '', MURMUR_KEEP_ALIVE: '5m', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-talk-'));
    wav = join(home, 'microphone.wav');
    microphoneWav(wav);
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await runCli(env(), 'pull', testModel(SILERO)!, '--name', 'vad');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser({ fakeMicrophone: wav });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('streams the microphone to /v1/realtime, shows the transcript and the reply, and queues its audio', async () => {
    const context = await newContext(browser, daemon.url, { microphone: true });
    await context.addInitScript(KEY_SCRIPT);
    const page = await context.newPage();
    await page.goto('/#talk');
    await page.getByRole('heading', { name: 'Talk' }).waitFor();
    await expect.poll(() => page.getByLabel('Chat model').inputValue()).toBe('tiny');
    await page.getByLabel('Longest reply (tokens)').fill('12');
    await page.getByRole('button', { name: 'Start talking' }).click();
    const talk = page.locator('section.talk');
    await expect.poll(() => page.locator('.talk-log li.talk-user[data-done="true"]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const heard = await page.locator('.talk-log li.talk-user[data-done="true"] .talk-text').first().textContent();
    expect(heard).toBe('YNYYYNYN');
    // The reply's text, its end (the token limit) with the latency breakdown, and its audio queued for playback.
    await expect.poll(() => page.locator('.talk-log li.talk-assistant[data-done="true"]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const reply = page.locator('.talk-log li.talk-assistant[data-done="true"]').first();
    expect((await reply.locator('.talk-text').textContent())!.length).toBeGreaterThan(0);
    expect(await reply.getByLabel('Latency').textContent()).toMatch(/first audio/);
    expect(Number(await talk.getAttribute('data-audio-deltas'))).toBeGreaterThan(0);
    expect(Number(await talk.getAttribute('data-audio-queued'))).toBeGreaterThan(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    // Stop ends the session; the button starts another.
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('button', { name: 'Start talking' }).waitFor();
    await context.close();
  });

  it('speech over a reply silences its playback and marks it interrupted', async () => {
    // The fake microphone loops the recording: its next turn starts while a long reply still plays.
    const context = await newContext(browser, daemon.url, { microphone: true });
    await context.addInitScript(KEY_SCRIPT);
    const page = await context.newPage();
    await page.goto('/#talk');
    await expect.poll(() => page.getByLabel('Chat model').inputValue()).toBe('tiny');
    await page.getByLabel('Longest reply (tokens)').fill('400');
    await page.getByRole('button', { name: 'Start talking' }).click();
    const talk = page.locator('section.talk');
    await expect.poll(async () => Number(await talk.getAttribute('data-interrupted')), { timeout: 40_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.talk-log li.talk-assistant .talk-note').first().textContent()).toMatch(/interrupted after/);
    // The next turn is heard and answered; nothing went wrong on the way (a truncate the daemon refused would show).
    await expect.poll(() => page.locator('.talk-log li.talk-user[data-done="true"]').count(), { timeout: 30_000 }).toBeGreaterThan(1);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('.talk-notice').count()).toBe(0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await context.close();
  });

  it('says so when the socket closes, with its reason, and reconnects on the button', async () => {
    const context = await newContext(browser, daemon.url, { microphone: true });
    await context.addInitScript(KEY_SCRIPT);
    const page = await context.newPage();
    await page.goto('/#talk');
    await expect.poll(() => page.getByLabel('Chat model').inputValue()).toBe('tiny');
    // A model that is not installed: the door refuses the session and closes with its reason.
    await page.evaluate(`{
      const option = document.createElement('option');
      option.value = option.textContent = 'no-such-model';
      document.querySelector('section.talk select').append(option);
    }`);
    await page.getByLabel('Chat model').selectOption('no-such-model');
    await page.getByRole('button', { name: 'Start talking' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/connection closed: .*no-such-model.*\(code 4404\)/);
    await page.getByLabel('Chat model').selectOption('tiny');
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await expect.poll(() => page.locator('section.talk').getAttribute('data-phase')).toBe('live');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await context.close();
  });

  it('says so when the microphone is refused', async () => {
    const refusing = await launchBrowser({ args: ['--use-fake-device-for-media-stream'] });
    try {
      const context = await newContext(refusing, daemon.url);
      await context.addInitScript(KEY_SCRIPT);
      const page = await context.newPage();
      await page.goto('/#talk');
      await expect.poll(() => page.getByLabel('Chat model').inputValue()).toBe('tiny');
      await page.getByRole('button', { name: 'Start talking' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/microphone is blocked/);
      await page.getByRole('button', { name: 'Reconnect' }).waitFor();
      await context.close();
    } finally {
      await refusing.close();
    }
  });
});
