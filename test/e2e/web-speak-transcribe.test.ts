import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.js';
import { encodeWav16 } from '../helpers/asr.js';
import { launchBrowser, missingBrowser, newContext } from '../helpers/browser.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/** What the page-side callbacks touch: DOM objects, which the tests' tsconfig (Node's types) does not describe. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type InPage = any;

/**
 * The page's Speak and Transcribe views on a real `murmur serve` with the
 * shared models, in Debian's chromium: speech that plays and downloads, a
 * WAV picked or dropped, a file that is not audio, a microphone refused,
 * and a recording from chromium's fake microphone.
 */

const VOICE = 'tts-synthetic/piper-style/model.onnx';
const YESNO = 'yesno-tdnn-ctc/model.onnx';
const SILERO = 'silero-vad/silero_vad.onnx';
const skip = missingBrowser() ?? missingModels(VOICE, YESNO, SILERO);
const SENTENCE = 'The quick brown fox jumps over the lazy dog. Then it sleeps in the sun.';

const yesnoWav = () => join(dirname(testModel(YESNO)!), 'test_wavs', '1_0_1_1_1_0_1_0.wav');

/** A WAV's 16-bit samples upsampled (linearly) to `rate`: chromium's fake capture reads 16-bit PCM WAV, and 48 kHz is its own rate. */
const resampled = (path: string, rate: number): Uint8Array => {
  const { samples, sampleRate } = readWav(new Uint8Array(readFileSync(path)));
  const out = new Float32Array(Math.floor((samples.length * rate) / sampleRate));
  for (let i = 0; i < out.length; i++) {
    const at = (i * sampleRate) / rate;
    const j = Math.floor(at);
    const next = samples[Math.min(j + 1, samples.length - 1)]!;
    out[i] = samples[j]! + (next - samples[j]!) * (at - j);
  }
  return encodeWav16(out, rate);
};

describe.skipIf(skip)(`the page's Speak and Transcribe views${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let browser: Browser;
  let micBrowser: Browser;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_DEBUG: '', MURMUR_HOST: '', MURMUR_API_KEY: '' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-web-speak-'));
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    await runCli(env(), 'pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await runCli(env(), 'pull', dirname(testModel(SILERO)!), '--name', 'vad');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    browser = await launchBrowser();
    const mic = join(home, 'mic.wav');
    writeFileSync(mic, resampled(yesnoWav(), 48_000));
    micBrowser = await launchBrowser({ fakeMicrophone: mic });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await micBrowser?.close();
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** The duration the API gives `format` audio of SENTENCE, from its WAV: seconds and the voice's rate. */
  const apiWav = async (): Promise<{ seconds: number; rate: number }> => {
    const res = await fetch(`${daemon.url}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'voice', input: SENTENCE, response_format: 'wav' }) });
    expect(res.status).toBe(200);
    const { samples, sampleRate } = readWav(new Uint8Array(await res.arrayBuffer()));
    return { seconds: samples.length / sampleRate, rate: sampleRate };
  };

  const audioDuration = (page: Page) =>
    page.locator('.speak-result audio').evaluate(
      (audio: InPage) =>
        new Promise<number>((resolve) => {
          if (audio.readyState >= 1) resolve(audio.duration);
          else audio.addEventListener('loadedmetadata', () => resolve(audio.duration), { once: true });
        }),
    );

  it('opens Speak without loading a voice model; lists its voices once it has spoken', async () => {
    const loaded = async () => ((await (await fetch(`${daemon.url}/murmur/v1/ps`)).json()) as { models: { name: string }[] }).models.map((m) => m.name);
    await fetch(`${daemon.url}/murmur/v1/unload`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ all: true }) });
    expect(await loaded()).toEqual([]);
    const page = await (await newContext(browser, daemon.url)).newPage();
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto('/#speak');
    await expect.poll(() => page.getByLabel('Voice model').inputValue()).toBe('voice');
    // The view is ready: nothing it asked for loaded a model.
    await page.getByLabel('Text').fill('Hello there.');
    expect(await page.getByRole('button', { name: 'Speak' }).isEnabled()).toBe(true);
    expect(asked.filter((p) => p.startsWith('/v1/audio/voices'))).toEqual([]);
    expect(await loaded()).toEqual([]);
    // Speaking loads it; then its voices are listed (asking loads nothing more).
    await page.getByRole('button', { name: 'Speak' }).click();
    await page.getByRole('link', { name: 'Download wav' }).waitFor();
    await expect.poll(() => page.getByLabel('Voice', { exact: true }).locator('option').allTextContents()).toEqual(['speaker-0']);
    expect(asked.filter((p) => p.startsWith('/v1/audio/voices'))).toEqual(['/v1/audio/voices?model=voice']);
    expect(await loaded()).toEqual(['voice']);
    await page.context().close();
  });

  it('speaks: plays the stream, then offers a file whose <audio> duration is the synthesis', async () => {
    const expected = await apiWav();
    expect(expected.seconds).toBeGreaterThan(0.5);
    const page = await (await newContext(browser, daemon.url)).newPage();
    await page.goto('/#speak');
    await page.getByLabel('Text').fill(SENTENCE);
    await expect.poll(() => page.getByLabel('Voice model').inputValue()).toBe('voice');
    for (const [format, slack] of [
      // A WAV's duration is its sample count: a couple of samples of slack.
      ['wav', 2 / expected.rate],
      // mp3 pads with up to two frames of 1152 samples (the encoder's delay and the last frame's fill).
      ['mp3', (2 * 1152) / expected.rate],
    ] as const) {
      await page.getByLabel('Format').selectOption(format);
      await page.getByRole('button', { name: 'Speak' }).click();
      await page.getByRole('link', { name: `Download ${format}` }).waitFor();
      const duration = await audioDuration(page);
      expect(Math.abs(duration - expected.seconds), `${format}: ${duration} s in the page, ${expected.seconds} s from the API`).toBeLessThanOrEqual(slack + 1e-3);
      expect(await page.getByRole('link', { name: `Download ${format}` }).getAttribute('download')).toBe(`speech.${format}`);
    }
    // What streamed (pcm at 24 kHz, resampled from the voice's rate) is the same audio: the resampler's filter tail aside (a few ms).
    const streamed = Number(/Streamed ([\d.]+) s/.exec((await page.getByTestId('speak-progress').textContent()) ?? '')?.[1]);
    expect(Math.abs(streamed - expected.seconds)).toBeLessThan(0.02 + 1 / 100);
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.context().close();
  });

  it('says why when the daemon refuses the speech', async () => {
    const page = await (await newContext(browser, daemon.url)).newPage();
    await page.goto('/#speak');
    await page.getByLabel('Text').fill('Hello there.');
    await expect.poll(() => page.getByLabel('Voice model').inputValue()).toBe('voice');
    // A voice the model has not: the daemon's 400, in the page.
    await page.getByLabel('Voice', { exact: true }).evaluate((select: InPage) => {
      select.add(new (globalThis as InPage).Option('no-such-voice', 'no-such-voice'));
      select.value = 'no-such-voice';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await page.getByRole('button', { name: 'Speak' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/no-such-voice/);
    await page.context().close();
  });

  const transcript = (page: Page) => page.getByTestId('transcribe-segments').textContent();

  it('transcribes a WAV picked with the file input, with timestamps and the documents', async () => {
    const page = await (await newContext(browser, daemon.url)).newPage();
    await page.goto('/#transcribe');
    await expect.poll(() => page.getByLabel('Model').inputValue()).toBe('yesno');
    await page.getByLabel('Audio file').setInputFiles(yesnoWav());
    await expect.poll(() => transcript(page)).toContain('YNYYYNYN');
    // The times come in (from verbose_json) and the downloads are built from the segments.
    await expect.poll(() => page.locator('.transcribe-time').first().textContent()).toMatch(/^0:00\.\d – 0:0\d\.\d$/);
    const [srt] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download SRT' }).click()]);
    expect(srt.suggestedFilename()).toBe('1_0_1_1_1_0_1_0.srt');
    expect(readFileSync((await srt.path())!, 'utf8')).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\nYNYYYNYN\n/);
    const [vtt] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download VTT' }).click()]);
    expect(readFileSync((await vtt.path())!, 'utf8')).toMatch(/^WEBVTT\n\n00:00:0\d\.\d{3} --> /);
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
    expect(JSON.parse(readFileSync((await json.path())!, 'utf8'))).toMatchObject({ text: 'YNYYYNYN', segments: [{ text: 'YNYYYNYN' }] });
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.context().close();
  });

  it('transcribes a WAV dropped on the view', async () => {
    const page = await (await newContext(browser, daemon.url)).newPage();
    await page.goto('/#transcribe');
    await expect.poll(() => page.getByLabel('Model').inputValue()).toBe('yesno');
    const bytes = [...readFileSync(yesnoWav())];
    const transfer = await page.evaluateHandle((data) => {
      const dt = new (globalThis as InPage).DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'dropped <b>yes</b>.wav', { type: 'audio/wav' }));
      return dt;
    }, bytes);
    await page.getByTestId('transcribe-drop').dispatchEvent('dragover', { dataTransfer: transfer });
    await page.getByTestId('transcribe-drop').dispatchEvent('drop', { dataTransfer: transfer });
    await expect.poll(() => transcript(page)).toContain('YNYYYNYN');
    // The file's name is shown as text, never as HTML.
    expect(await page.getByText('dropped <b>yes</b>.wav').count()).toBe(1);
    expect(await page.locator('.transcribe b').count()).toBe(0);
    await page.context().close();
  });

  it('says clearly that a file is not audio', async () => {
    const page = await (await newContext(browser, daemon.url)).newPage();
    await page.goto('/#transcribe');
    await expect.poll(() => page.getByLabel('Model').inputValue()).toBe('yesno');
    await page.getByLabel('Audio file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('These are notes, not sound.\n'.repeat(20)) });
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/notes\.txt/);
    // The daemon's words: "'notes.txt' is not an audio file murmur recognizes. Send wav, mp3, …".
    expect(await page.getByRole('alert').textContent()).toMatch(/not an audio file/);
    expect(await page.getByTestId('transcribe-segments').locator('li').count()).toBe(0);
    await page.context().close();
  });

  it('says clearly that the microphone is blocked', async () => {
    const context = await newContext(browser, daemon.url);
    await context.addInitScript(() => {
      (globalThis as InPage).navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    const page = await context.newPage();
    await page.goto('/#transcribe');
    await page.getByRole('button', { name: 'Record' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/microphone is blocked/);
    // Nothing is stuck: the button still offers to record.
    await page.getByRole('button', { name: 'Record' }).waitFor();
    await context.close();
  });

  it("records from chromium's fake microphone (fed a yesno WAV) into a transcript", async () => {
    const page = await (await newContext(micBrowser, daemon.url, { microphone: true })).newPage();
    await page.goto('/#transcribe');
    await expect.poll(() => page.getByLabel('Model').inputValue()).toBe('yesno');
    await page.getByRole('button', { name: 'Record' }).click();
    // Record a little more than the clip (5.98 s), which the fake device plays in a loop.
    const stop = page.getByRole('button', { name: /Stop recording/ });
    await expect.poll(async () => Number(/\(([\d.]+) s\)/.exec((await stop.textContent()) ?? '')?.[1]), { timeout: 30_000 }).toBeGreaterThanOrEqual(7);
    await stop.click();
    await expect.poll(() => transcript(page), { timeout: 30_000 }).toMatch(/[YN]{4,}/);
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.context().close();
  }, 60_000);
});
