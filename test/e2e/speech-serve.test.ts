import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const skip = missingModels(CHARS);
const TEN = Array.from({ length: 10 }, (_, i) => `Sentence ${'abcdefghij'[i]} is here.`).join(' ');

describe.skipIf(skip)(`murmur serve speaks to the openai client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let client: OpenAI;
  const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_HOST: daemon?.url ?? 'http://127.0.0.1:9' });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-speech-'));
    await runCli(env(), 'pull', join(testModel(CHARS)!, '..'), '--name', 'chars');
    daemon = await startDaemon(env());
    client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('answers wav that decodes to the same length as an in-process run', async () => {
    const res = await client.audio.speech.create({ model: 'chars', voice: 'alloy', input: TEN, response_format: 'wav' });
    const local = await runCli(env(), 'speak', '--local', '--model', 'chars', '-o', join(home, 'local.wav'), TEN);
    expect(local.stderr).toBe('');
    const { readFileSync } = await import('node:fs');
    expect(readWav(Buffer.from(await res.arrayBuffer())).samples.length).toBe(readWav(readFileSync(join(home, 'local.wav'))).samples.length);
  });

  it('sends SSE deltas per sentence and a done event with usage', async () => {
    const res = await client.audio.speech.create({ model: 'chars', voice: 'nova', input: TEN, response_format: 'pcm', stream_format: 'sse' });
    const frames = (await res.text()).split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => JSON.parse(f.slice(6)) as { type: string; text?: string; usage?: { input_tokens: number } });
    // One delta per sentence (with its text); resampling to pcm's 24 kHz may add a last one with the filter's tail.
    expect(frames.filter((f) => f.type === 'speech.audio.delta' && f.text)).toHaveLength(10);
    expect(frames.at(-1)).toMatchObject({ type: 'speech.audio.done', usage: { input_tokens: TEN.length } });
  });

  it("answers OpenAI's model and voice names (tts-1, gpt-4o-mini-tts; alloy) with the installed voice", async () => {
    const named = await client.audio.speech.create({ model: 'chars', voice: 'alloy', input: TEN, response_format: 'wav' });
    const expected = readWav(Buffer.from(await named.arrayBuffer())).samples.length;
    expect(expected).toBeGreaterThan(0);
    for (const model of ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']) {
      const res = await client.audio.speech.create({ model, voice: 'alloy', input: TEN, response_format: 'wav' });
      expect(readWav(Buffer.from(await res.arrayBuffer())).samples.length).toBe(expected);
    }
    const sse = await client.audio.speech.create({ model: 'tts-1', voice: 'shimmer', input: 'Hi there.', response_format: 'pcm', stream_format: 'sse' });
    const done = (await sse.text()).split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => JSON.parse(f.slice(6)) as { type: string; model?: string; voice?: string }).at(-1);
    expect(done).toMatchObject({ type: 'speech.audio.done', model: 'chars', voice: 'speaker-0' });
    // The CLI's --model tts-1 goes the same way (here through the daemon).
    const out = join(home, 'alias.wav');
    await runCli(env(), 'speak', '--model', 'tts-1', '-o', out, TEN);
    const { readFileSync } = await import('node:fs');
    expect(readWav(readFileSync(out)).samples.length).toBe(expected);
  });

  it('speak uses the daemon when one answers', async () => {
    const { stdout } = await runCli(env(), 'speak', '--model', 'chars', '--voices', '--json');
    expect(JSON.parse(stdout)).toMatchObject({ model: 'chars', defaultVoice: 'speaker-0' });
    await runCli(env(), 'speak', '--model', 'chars', '-o', join(home, 'remote.wav'), TEN);
    expect(daemon.log().some((l) => l.path === '/v1/audio/speech' && l.status === 200)).toBe(true);
  });
});
