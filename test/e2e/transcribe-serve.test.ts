import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildYesnoFile, encodeWav16, SILERO, YESNO, yesnoWavs } from '../helpers/asr.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

const skip = missingModels(YESNO, SILERO);

let home: string;
let daemon: Daemon | undefined;
let url: string;
let client: OpenAI;
let longWav: string;

const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: url, MURMUR_THREADS: '1', MURMUR_GPU: 'off' });
const cli = (...args: string[]) => runCli(env(), ...args);

describe.skipIf(skip)(`transcription through a real \`murmur serve\`, driven by the openai client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-asr-e2e-'));
    url = 'http://127.0.0.1:9';
    await cli('pull', dirname(testModel(YESNO)!), '--name', 'yesno');
    await cli('pull', dirname(testModel(SILERO)!), '--name', 'silero-vad');
    const { samples, sampleRate } = buildYesnoFile(2);
    longWav = join(home, 'long.wav');
    writeFileSync(longWav, encodeWav16(samples, sampleRate));
    daemon = await startDaemon(env());
    url = daemon.url;
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(() => {
    if (daemon && daemon.process.exitCode === null) daemon.process.kill('SIGKILL');
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const first = () => yesnoWavs()[1]!;

  it('json', async () => {
    const result = await client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'yesno' });
    expect(result.text).toBe(first().expected);
  });

  it('verbose_json with VAD segments', async () => {
    const result = await client.audio.transcriptions.create({ file: createReadStream(longWav), model: 'yesno', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
    expect(result.segments!.map((s) => s.text)).toEqual(yesnoWavs().map((w) => w.expected));
    expect(result.duration).toBeGreaterThan(30);
    for (const s of result.segments!) expect(s.end).toBeGreaterThan(s.start);
  });

  it('text and srt', async () => {
    const text = await client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'yesno', response_format: 'text' });
    expect(String(text).trim()).toBe(first().expected);
    const srt = await client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'yesno', response_format: 'srt' });
    expect(String(srt)).toMatch(new RegExp(`^1\\n\\d{2}:\\d{2}:\\d{2},\\d{3} --> \\d{2}:\\d{2}:\\d{2},\\d{3}\\n${first().expected}\\n`));
  });

  it('stream: deltas then done', async () => {
    const stream = await client.audio.transcriptions.create({ file: createReadStream(longWav), model: 'yesno', stream: true });
    const events: { type: string; delta?: string; text?: string }[] = [];
    for await (const event of stream) events.push(event as never);
    expect(events.at(-1)!.type).toBe('transcript.text.done');
    expect(events.filter((e) => e.type === 'transcript.text.delta')).toHaveLength(yesnoWavs().length);
    expect(events.at(-1)!.text).toBe(yesnoWavs().map((w) => w.expected).join(' '));
  });

  it('the CLI reaches the daemon and writes srt', async () => {
    const out = join(home, 'long.srt');
    const { stderr: chatter } = await cli('transcribe', longWav, '--model', 'yesno', '--format', 'srt', '-o', out, '--host', url);
    expect(readFileSync(out, 'utf8').split('\n\n').filter(Boolean)).toHaveLength(yesnoWavs().length);
    expect(chatter).toMatch(/real-time factor/);
  });

  it("answers OpenAI's model names (whisper-1, gpt-4o-mini-transcribe) with the installed transcriber", async () => {
    const result = await client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'whisper-1' });
    expect(result.text).toBe(first().expected);
    const text = await client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'gpt-4o-mini-transcribe', response_format: 'text' });
    expect(String(text).trim()).toBe(first().expected);
    // Translation reaches the same model, which says it cannot translate.
    await expect(client.audio.translations.create({ file: createReadStream(first().path), model: 'whisper-1' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining("'yesno' cannot translate") });
  });

  it('answers tts-1 with 404 and the model to pull when no voice model is installed', async () => {
    const error = (await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello.' }).catch((e: unknown) => e)) as { status: number; error: { code: string; hint: string } };
    expect(error.status).toBe(404);
    expect(error.error).toMatchObject({ code: 'model_not_found', hint: expect.stringMatching(/^Run `murmur pull \S+`\.$/) });
  });

  it('rejects an unknown language through the client as a 400', async () => {
    await expect(client.audio.transcriptions.create({ file: createReadStream(first().path), model: 'yesno', language: 'xx' })).rejects.toMatchObject({ status: 400 });
  });
});
