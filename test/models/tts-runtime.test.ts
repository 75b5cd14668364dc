import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { AppError } from '../../src/errors.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import type { AudioChunk } from '../../src/types/speech.js';
import { missingModels, testModel } from '../helpers/models.js';

const CHARS = 'tts-synthetic/characters-style/model.onnx';
const PIPER = 'tts-synthetic/piper-style/model.onnx';
const GGUF = 'stories260K/stories260K.gguf';
/** The synthetic voices make 256 samples per token. */
const PER_TOKEN = 256;

const caught = async (promise: Promise<unknown>): Promise<AppError> => promise.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as AppError);

/** Characters of `text` the characters-style voice has a token for (from its tokens.txt). */
const sayable = (text: string): number => {
  const tokens = new Set(
    readFileSync(join(testModel(CHARS)!, '..', 'tokens.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/ \d+$/, '')),
  );
  return [...text].filter((ch) => tokens.has(ch)).length;
};

describe.skipIf(missingModels(CHARS, PIPER, GGUF))('speech synthesis through LocalRuntime on real sherpa-onnx (synthetic voices)', () => {
  let runtime: LocalRuntime;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-tts-'));
    runtime = await createRuntime(loadConfig({}, { home, threads: 1, gpu: 'off', keepAliveMs: -1 }));
    await runtime.pull(join(testModel(CHARS)!, '..'), { name: 'chars' });
    await runtime.pull(join(testModel(PIPER)!, '..'), { name: 'piper-syn' });
    await runtime.pull(testModel(GGUF)!, { name: 'tiny-llm' });
  });

  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('makes audio whose length follows the text: 256 samples per token', async () => {
    const one = await runtime.speak({ model: 'chars', text: 'Hello world' });
    const two = await runtime.speak({ model: 'chars', text: 'Hello world and more words' });
    expect(one.sampleRate).toBe(16000);
    expect(one.samples.length % PER_TOKEN).toBe(0);
    expect(two.samples.length - one.samples.length).toBe(PER_TOKEN * (sayable('Hello world and more words') - sayable('Hello world')));
    expect(one.voice).toBe('speaker-0');
    expect(one.model).toBe('chars');
    expect(Math.max(...one.samples.map(Math.abs))).toBeGreaterThan(0.01);
  });

  it('speaks a piper-style voice through espeak-ng', async () => {
    const result = await runtime.speak({ model: 'piper-syn', text: 'Hello world.' });
    expect(result.samples.length).toBeGreaterThan(0);
    expect(result.samples.length % PER_TOKEN).toBe(0);
  });

  it('streams a 10-sentence text sentence by sentence, in order, before it finishes', async () => {
    const sentences = Array.from({ length: 10 }, (_, i) => `This is sentence number ${'abcdefghij'[i]} of ten.`);
    const chunks: AudioChunk[] = [];
    let settled = false;
    let settledAtFirst: boolean | undefined;
    const promise = runtime.speak({
      model: 'chars',
      text: sentences.join(' '),
      onAudio: (chunk) => {
        settledAtFirst ??= settled;
        chunks.push(chunk);
      },
    });
    const result = await promise.finally(() => (settled = true));
    expect(settledAtFirst).toBe(false);
    expect(chunks.map((c) => c.text)).toEqual(sentences);
    // Streamed audio is counted, not also kept (a long text would hold all of it).
    expect(result.samples.length).toBe(0);
    expect(chunks.reduce((n, c) => n + c.samples.length, 0)).toBe(result.sampleCount);
    const whole = await runtime.speak({ model: 'chars', text: sentences.join(' ') });
    expect(whole.samples.length).toBe(result.sampleCount);
    expect(whole.samples.subarray(0, chunks[0]!.samples.length)).toEqual(chunks[0]!.samples);
    expect(result.timings.firstAudioMs).toBeLessThanOrEqual(result.timings.totalMs);
  });

  it('skips characters the voice cannot say, and survives a sentence with none', async () => {
    const plain = await runtime.speak({ model: 'chars', text: 'abc' });
    const snowy = await runtime.speak({ model: 'chars', text: 'a☃b☃c' });
    expect(snowy.samples.length).toBe(plain.samples.length);
    const none = await runtime.speak({ model: 'chars', text: '☃☃. Hi there.' });
    expect(none.samples.length).toBeGreaterThan(0);
    const silent = await runtime.speak({ model: 'chars', text: '☃☃☃' });
    expect(silent.samples.length).toBe(0);
  });

  it('lists voices and maps OpenAI voice names to the default', async () => {
    // Listing every model's voices loads none of them (the page lists them on opening its Speak view).
    await runtime.unload('all');
    await runtime.voices();
    expect(runtime.models.ps()).toEqual([]);
    const [list] = await runtime.voices('chars');
    expect(list).toMatchObject({ model: 'chars', defaultVoice: 'speaker-0', voices: [{ name: 'speaker-0', id: 0 }] });
    expect((await runtime.voices()).map((l) => l.model).sort()).toEqual(['chars', 'piper-syn']);
    expect((await runtime.speak({ model: 'chars', text: 'Hi.', voice: 'alloy' })).voice).toBe('speaker-0');
    expect((await runtime.speak({ model: 'chars', text: 'Hi.', voice: '0' })).voice).toBe('speaker-0');
  });

  it('refuses bad requests with invalid_request naming the parameter', async () => {
    const voice = await caught(runtime.speak({ model: 'chars', text: 'Hi.', voice: 'nobody' }));
    expect(voice).toMatchObject({ code: 'invalid_request', param: 'voice' });
    expect(voice.message).toMatch(/speaker-0/);
    expect(await caught(runtime.speak({ model: 'chars', text: '  \n ' }))).toMatchObject({ code: 'invalid_request', param: 'input' });
    expect(await caught(runtime.speak({ model: 'chars', text: 'Hi.', speed: 4.5 }))).toMatchObject({ code: 'invalid_request', param: 'speed' });
    expect(await caught(runtime.speak({ model: 'chars', text: 'Hi.', speed: 0.2 }))).toMatchObject({ code: 'invalid_request', param: 'speed' });
    const long = await caught(runtime.speak({ model: 'chars', text: 'a'.repeat(100_001) }));
    expect(long).toMatchObject({ code: 'invalid_request', param: 'input' });
    expect(long.message).toMatch(/100000/);
  });

  it('will not speak with a language model, nor chat with a voice', async () => {
    expect(await caught(runtime.speak({ model: 'tiny-llm', text: 'Hi.' }))).toMatchObject({ code: 'model_kind_mismatch' });
    expect(await caught(runtime.chat({ model: 'chars', messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ code: 'model_kind_mismatch' });
  });

  it('keeps the voice loaded and shared between requests', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => runtime.speak({ model: 'chars', text: `Request ${i}.` })));
    const loaded = (await runtime.ps()).filter((m) => m.name === 'chars');
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({ kind: 'tts', inFlight: 0 });
  });

  it('stops when the signal fires', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const text = Array.from({ length: 200 }, (_, i) => `Sentence ${i}.`).join(' ');
    const error = await caught(
      runtime.speak({
        model: 'chars',
        text,
        signal: controller.signal,
        onAudio: () => {
          if (++chunks === 2) controller.abort();
        },
      }),
    );
    expect((error as Error).name).toMatch(/Abort/);
    expect(chunks).toBe(2);
  });
});
