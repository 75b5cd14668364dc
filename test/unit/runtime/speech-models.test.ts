import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/catalog.js';
import { loadConfig } from '../../../src/config.js';
import type { TtsHandle } from '../../../src/engines/speech/tts-types.js';
import type { EngineFactory } from '../../../src/engines/types.js';
import { AppError, ModelNotFoundError } from '../../../src/errors.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { resolveVoice } from '../../../src/runtime/speak.js';
import { OPENAI_ASR_MODELS, OPENAI_TTS_MODELS, resolveSpeechModel } from '../../../src/runtime/speech-models.js';
import type { InstalledModel } from '../../../src/store/types.js';

const model = (name: string, kind: InstalledModel['kind']): InstalledModel => ({
  name,
  kind,
  engine: 'sherpa-onnx',
  family: kind === 'tts' ? 'vits' : 'whisper',
  source: name,
  layout: { model: 'model.onnx' },
  files: [],
  size: 1,
  pulledAt: new Date(0).toISOString(),
  dir: `/models/${name}`,
});

const storeOf = (models: InstalledModel[]) => {
  const get = async (name: string) => models.find((m) => m.name === name);
  return {
    list: async () => models,
    get,
    require: async (name: string) => (await get(name)) ?? Promise.reject(new ModelNotFoundError(name)),
    pull: async () => Promise.reject(new Error('unused')),
    remove: async () => undefined,
    copy: async () => Promise.reject(new Error('unused')),
  };
};

const catalogDefaults = async () => {
  const catalog = await loadCatalog({});
  return { tts: catalog.defaultFor('tts')!.name, asr: catalog.defaultFor('asr')!.name };
};

describe('resolveSpeechModel', () => {
  it("maps every OpenAI name to the catalog default when installed, and to the only model of the kind otherwise", async () => {
    const defaults = await catalogDefaults();
    const withDefault = storeOf([model('other-voice', 'tts'), model(defaults.tts, 'tts'), model(defaults.asr, 'asr')]);
    const config = loadConfig({});
    for (const name of OPENAI_TTS_MODELS) expect(await resolveSpeechModel({ config, store: withDefault }, 'tts', name)).toBe(defaults.tts);
    for (const name of OPENAI_ASR_MODELS) expect(await resolveSpeechModel({ config, store: withDefault }, 'asr', name)).toBe(defaults.asr);
    const onlyOther = storeOf([model('other-voice', 'tts'), model('my-asr', 'asr')]);
    expect(await resolveSpeechModel({ config, store: onlyOther }, 'tts', 'TTS-1')).toBe('other-voice');
    expect(await resolveSpeechModel({ config, store: onlyOther }, 'asr', 'whisper-1')).toBe('my-asr');
    expect(await resolveSpeechModel({ config, store: onlyOther }, 'tts', undefined)).toBe('other-voice');
  });

  it('prefers MURMUR_TTS_MODEL / MURMUR_ASR_MODEL, and an installed model with the exact name', async () => {
    const defaults = await catalogDefaults();
    const store = storeOf([model(defaults.tts, 'tts'), model('picked', 'tts'), model('tts-1', 'tts'), model('heard', 'asr')]);
    const config = loadConfig({ MURMUR_TTS_MODEL: 'picked', MURMUR_ASR_MODEL: 'heard' });
    expect(await resolveSpeechModel({ config, store }, 'tts', 'tts-1-hd')).toBe('picked');
    expect(await resolveSpeechModel({ config, store }, 'tts', undefined)).toBe('picked');
    expect(await resolveSpeechModel({ config, store }, 'asr', 'gpt-4o-transcribe')).toBe('heard');
    // A model really called tts-1 answers for itself.
    expect(await resolveSpeechModel({ config, store }, 'tts', 'tts-1')).toBe('tts-1');
    // Other names pass through untouched, for the store to judge.
    expect(await resolveSpeechModel({ config, store }, 'tts', 'whisper-1')).toBe('whisper-1');
    expect(await resolveSpeechModel({ config, store }, 'tts', 'nosuch')).toBe('nosuch');
  });

  it('with nothing of the kind installed, an OpenAI name is model_not_found naming the catalog default to pull', async () => {
    const defaults = await catalogDefaults();
    const store = storeOf([model('heard', 'asr')]);
    const error = await resolveSpeechModel({ config: loadConfig({}), store }, 'tts', 'tts-1').catch((e: AppError) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'model_not_found', param: 'model', hint: `Run \`murmur pull ${defaults.tts}\`.` });
    // No name at all: the default's name, so the store's error says to pull it.
    expect(await resolveSpeechModel({ config: loadConfig({}), store }, 'tts', undefined)).toBe(defaults.tts);
  });
});

describe('MURMUR_VOICE', () => {
  const handle = { voices: [{ name: 'amy', id: 0 }, { name: 'bob', id: 1 }, { name: 'cy', id: 2 }], defaultVoice: 'amy' };

  it('is the voice for no voice and for OpenAI voice names, when the model has it', () => {
    expect(resolveVoice(handle, undefined, 'm', 'bob').name).toBe('bob');
    expect(resolveVoice(handle, 'alloy', 'm', 'BOB').name).toBe('bob');
    expect(resolveVoice(handle, 'nova', 'm', 'speaker-2').name).toBe('cy');
    expect(resolveVoice(handle, 'cy', 'm', 'bob').name).toBe('cy');
    // Not a voice of this model: the model's own default.
    expect(resolveVoice(handle, 'alloy', 'm', 'af_heart').name).toBe('amy');
    expect(resolveVoice(handle, undefined, 'm').name).toBe('amy');
    expect(() => resolveVoice(handle, 'zed', 'm', 'bob')).toThrow(/'zed' is not a voice of m/);
  });

  it('reaches the engine through LocalRuntime.speak, with tts-1 and alloy', async () => {
    const sids: number[] = [];
    const tts: EngineFactory = async () => {
      const h: TtsHandle = {
        kind: 'tts',
        stats: async () => ({ memoryBytes: 1 }),
        sampleRate: 16000,
        ...handle,
        synthesize: async (text, options) => {
          sids.push(options?.sid ?? -1);
          return new Float32Array(text.length);
        },
        dispose: async () => undefined,
      };
      return h;
    };
    const store = storeOf([model('voice', 'tts')]);
    const runtime = createLocalRuntime(loadConfig({ MURMUR_VOICE: 'cy' }, { keepAliveMs: -1 }), { store, engines: { 'sherpa-onnx': tts } });
    const said = await runtime.speak({ model: 'tts-1', voice: 'alloy', text: 'Hello there.' });
    expect(said).toMatchObject({ model: 'voice', voice: 'cy' });
    const plain = await runtime.speak({ text: 'Hi.' });
    expect(plain.voice).toBe('cy');
    expect(sids).toEqual([2, 2]);
    expect((await runtime.voices('gpt-4o-mini-tts')).map((v) => v.model)).toEqual(['voice']);
    await runtime[Symbol.asyncDispose]();
  });
});
