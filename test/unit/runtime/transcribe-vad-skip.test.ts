import { describe, expect, it } from 'vitest';
import type { AsrHandle, VadHandle } from '../../../src/engines/speech/asr-types.js';
import type { InstalledModel } from '../../../src/store/types.js';
import { transcribeLocal, type TranscribeDeps } from '../../../src/runtime/transcribe-local.js';
import type { TranscribeRequest } from '../../../src/types/transcript.js';
import { memoryAudio } from '../../helpers/asr.js';

/*
 * With VAD left to murmur ('auto'), audio short enough to decode whole
 * (30 s or less, as the container says) is transcribed without even loading
 * the VAD model; longer audio, or VAD asked for, loads it.
 */

const asr: AsrHandle = {
  kind: 'asr',
  sampleRate: 16_000,
  languages: [],
  canTranslate: false,
  streaming: false,
  stats: async () => ({ memoryBytes: 0 }),
  dispose: async () => {},
  transcribe: async () => ({ text: 'hello' }),
  openStream: () => {
    throw new Error('not streaming');
  },
};

const vad: VadHandle = {
  kind: 'vad',
  sampleRate: 16_000,
  stats: async () => ({ memoryBytes: 0 }),
  dispose: async () => {},
  open: () => {
    let held: Float32Array[] = [];
    return {
      accept: async (chunk: Float32Array) => {
        held.push(chunk);
        return [];
      },
      flush: async () => {
        const samples = new Float32Array(held.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const c of held) samples.set(c, (at += c.length) - c.length);
        held = [];
        return [{ samples, samplesStart: 0, start: 0, end: samples.length / 16_000 }];
      },
      close: () => {},
    } as unknown as ReturnType<VadHandle['open']>;
  },
};

const model = (name: string, kind: 'asr' | 'vad') => ({ name, kind, family: kind === 'asr' ? 'whisper' : 'silero', languages: ['en'], layout: { encoder: 'e.onnx' }, pulledAt: '2024-01-01T00:00:00Z' }) as unknown as InstalledModel;

const transcribe = async (seconds: number, request: Partial<TranscribeRequest> = {}) => {
  const loaded: string[] = [];
  const audio = memoryAudio(new Float32Array(seconds * 16_000), 16_000);
  const deps: TranscribeDeps = {
    config: { threads: 1 } as TranscribeDeps['config'],
    store: { list: async () => [model('silero', 'vad'), model('tiny', 'asr')], get: async () => undefined, require: async () => model('tiny', 'asr') },
    catalog: async () => ({ defaultFor: () => undefined }),
    use: (async (name: string, kinds: readonly string[], _verb: string, fn: (h: unknown, m: InstalledModel, w: number) => Promise<unknown>) => {
      loaded.push(name);
      return fn(kinds[0] === 'vad' ? vad : asr, model(name, kinds[0] as 'asr' | 'vad'), 0);
    }) as TranscribeDeps['use'],
    open: async () => audio,
  };
  const result = await transcribeLocal(deps, { input: { bytes: new Uint8Array(1) }, model: 'tiny', ...request } as TranscribeRequest);
  return { loaded, result, audio };
};

describe('VAD for short audio', () => {
  it('is not loaded for a clip of 30 s or less, which is decoded whole', async () => {
    const short = await transcribe(5);
    expect(short.loaded).toEqual(['tiny']);
    expect(short.result.text).toBe('hello');
    expect(short.audio.closed).toBe(true);
    expect((await transcribe(30)).loaded).toEqual(['tiny']);
  });

  it('is loaded for longer audio, and for any length when asked for', async () => {
    const long = await transcribe(31);
    expect(long.loaded).toEqual(['tiny', 'silero']);
    expect(long.audio.closed).toBe(true);
    expect((await transcribe(5, { vad: true })).loaded).toEqual(['tiny', 'silero']);
    expect((await transcribe(5, { vad: false })).loaded).toEqual(['tiny']);
  });
});
