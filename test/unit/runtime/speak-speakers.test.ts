import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { TtsHandle } from '../../../src/engines/speech/tts-types.js';
import type { EngineFactory } from '../../../src/engines/types.js';
import { ModelNotFoundError } from '../../../src/errors.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { resolveVoice } from '../../../src/runtime/speak.js';
import type { InstalledModel } from '../../../src/store/types.js';

/* A multi-speaker model (libritts: 904 speakers) names only a few voices; any id below its speaker count is a voice. */

const named = [0, 1, 2, 3, 4].map((id) => ({ name: `speaker-${id}`, id }));
const handle = { voices: named, defaultVoice: 'speaker-0', speakerCount: 904 };

describe('voices by speaker id', () => {
  it('takes any id below the speaker count, bare or as speaker-N, and refuses the rest naming the range', () => {
    expect(resolveVoice(handle, '100', 'libritts')).toEqual({ name: 'speaker-100', id: 100 });
    expect(resolveVoice(handle, 'speaker-903', 'libritts')).toEqual({ name: 'speaker-903', id: 903 });
    expect(resolveVoice(handle, '3', 'libritts')).toBe(named[3]);
    expect(() => resolveVoice(handle, '904', 'libritts')).toThrow(/'904' is not a voice of libritts; .*or any speaker id 0-903\./);
    // Without a speaker count, only the named voices.
    expect(() => resolveVoice({ voices: named, defaultVoice: 'speaker-0' }, '100', 'm')).toThrow(/'100' is not a voice of m/);
  });

  it('passes the id to the engine through an opened speech session', async () => {
    const sids: number[] = [];
    const tts: EngineFactory = async () =>
      ({
        kind: 'tts',
        stats: async () => ({ memoryBytes: 1 }),
        sampleRate: 16000,
        ...handle,
        synthesize: async (text: string, options?: { sid?: number }) => {
          sids.push(options?.sid ?? -1);
          return new Float32Array(text.length);
        },
        dispose: async () => undefined,
      }) satisfies TtsHandle;
    const model: InstalledModel = {
      name: 'libritts',
      kind: 'tts',
      engine: 'sherpa-onnx',
      family: 'vits',
      source: 'libritts',
      layout: { model: 'model.onnx' },
      files: [],
      size: 1,
      pulledAt: new Date(0).toISOString(),
      dir: '/models/libritts',
      voices: named,
    };
    const get = async (name: string) => (name === model.name ? model : undefined);
    const store = {
      list: async () => [model],
      get,
      require: async (name: string) => (await get(name)) ?? Promise.reject(new ModelNotFoundError(name)),
      pull: async () => Promise.reject(new Error('unused')),
      remove: async () => undefined,
      copy: async () => Promise.reject(new Error('unused')),
    };
    const runtime = createLocalRuntime(loadConfig({}, { keepAliveMs: -1 }), { store, engines: { 'sherpa-onnx': tts } });
    try {
      const session = await runtime.openSpeech({ model: 'libritts', voice: '100' });
      expect(session.voice).toBe('speaker-100');
      session.append('Hello there.');
      session.close();
      for await (const _ of session);
      expect(sids).toEqual([100]);
    } finally {
      await runtime[Symbol.asyncDispose]();
    }
  });
});
