import { describe, expect, it } from 'vitest';
import type { AsrHandle, AsrResult } from '../../../src/engines/speech/asr-types.js';
import { runTranscription } from '../../../src/runtime/transcribe.js';
import type { TranscribeRequest } from '../../../src/types/transcript.js';
import { memoryAudio } from '../../helpers/asr.js';

/*
 * The transcription pipeline's answers to OpenAI's parameters, over a fake
 * recognizer: which language verbose_json reports, and word times that are
 * required (timestamp_granularities[]=word) but that the model cannot give.
 */

const fakeAsr = (result: AsrResult): AsrHandle => ({
  kind: 'asr',
  sampleRate: 16_000,
  languages: [],
  canTranslate: false,
  streaming: false,
  stats: async () => ({ memoryBytes: 0 }),
  dispose: async () => {},
  transcribe: async () => result,
  openStream: () => {
    throw new Error('not streaming');
  },
});

const run = (result: AsrResult, request: Pick<TranscribeRequest, 'language' | 'requireWords'> = {}, modelLanguage?: string) =>
  runTranscription({
    asr: fakeAsr(result),
    model: 'fake',
    family: 'whisper',
    modelLanguage,
    vadMode: 'off',
    open: async () => memoryAudio(new Float32Array(16_000), 16_000),
    request,
  });

describe('the language a transcript reports', () => {
  it('is the one asked for first, then the one the model detected, then the model’s own', async () => {
    expect((await run({ text: 'hallo', lang: 'de' }, { language: 'FR' }, 'en')).language).toBe('fr');
    expect((await run({ text: 'hallo', lang: 'de' }, { language: 'auto' }, 'en')).language).toBe('de');
    expect((await run({ text: 'hallo', lang: 'de' }, {}, 'en')).language).toBe('de');
    expect((await run({ text: 'hello' }, {}, 'en')).language).toBe('en');
    expect((await run({ text: 'hello' })).language).toBeUndefined();
  });
});

describe('word times asked for', () => {
  it('come from the model’s token times', async () => {
    const result = await run({ text: 'hello world', tokens: [{ text: ' hello', start: 0.1 }, { text: ' world', start: 0.5 }] }, { requireWords: true });
    expect(result.segments[0]!.words).toEqual([
      { word: 'hello', start: 0.1, end: 0.5 },
      { word: 'world', start: 0.5, end: 1 },
    ]);
  });

  it('are refused, naming the model and its family, when the model gives none', async () => {
    await expect(run({ text: 'hello world' }, { requireWords: true })).rejects.toMatchObject({
      code: 'not_supported',
      param: 'timestamp_granularities',
      message: expect.stringMatching(/'fake' \(whisper\) gives no word times/),
    });
    // Not asked for: the transcript comes without them.
    expect((await run({ text: 'hello world' })).segments[0]!.words).toBeUndefined();
    // Silence needs no word times.
    expect((await run({ text: '' }, { requireWords: true })).segments).toEqual([]);
  });
});
