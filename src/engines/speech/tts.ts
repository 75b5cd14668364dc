import { isAbsolute, join } from 'node:path';
import type { Config } from '../../config.js';
import { AppError, EngineLoadError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineLoadOptions } from '../types.js';
import { loadSherpa } from './sherpa.js';
import type { SherpaOfflineTts, SherpaOfflineTtsConfig, SherpaTtsModule, TtsHandle, TtsVoice } from './tts-types.js';

/** A path of the layout, absolute; a comma-separated list is resolved item by item. */
const resolver = (model: InstalledModel) => (role: string): string | undefined => {
  const value = model.layout[role];
  if (!value) return undefined;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => (isAbsolute(part) ? part : join(model.dir, part)))
    .join(',');
};

const required = (model: InstalledModel, path: (role: string) => string | undefined, role: string): string => {
  const value = path(role);
  if (!value) {
    throw new EngineLoadError(`'${model.name}' has no '${role}' file in its layout, which a ${model.family} voice needs.`, {
      hint: `Pull it again (\`murmur pull ${model.name} --force\`).`,
    });
  }
  return value;
};

/** Drops keys whose value is undefined (sherpa-onnx reads absent and undefined alike, but logs are cleaner). */
const defined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/**
 * The sherpa-onnx OfflineTts config for an installed model, from its
 * manifest's layout roles (paths relative to the model's directory, except
 * an absolute dataDir such as a system espeak-ng-data).
 */
export const ttsConfigFor = (config: Config, model: InstalledModel): SherpaOfflineTtsConfig => {
  const path = resolver(model);
  const need = (role: string) => required(model, path, role);
  const common = { numThreads: config.threads, debug: config.debug ? 1 : 0, provider: 'cpu' };
  const ruleFsts = path('ruleFsts');
  // murmur splits text into sentences itself; one sentence per batch keeps sherpa from batching them again.
  const top = defined({ ruleFsts, maxNumSentences: 1 });
  switch (model.family) {
    case 'vits':
      return { ...top, model: { ...common, vits: defined({ model: need('model'), tokens: need('tokens'), dataDir: path('dataDir'), lexicon: path('lexicon') }) } };
    case 'matcha':
      return {
        ...top,
        model: { ...common, matcha: defined({ acousticModel: need('acousticModel'), vocoder: need('vocoder'), tokens: need('tokens'), dataDir: path('dataDir'), lexicon: path('lexicon') }) },
      };
    case 'kokoro': {
      const lang = model.options?.lang;
      return {
        ...top,
        model: {
          ...common,
          kokoro: defined({ model: need('model'), voices: need('voices'), tokens: need('tokens'), dataDir: path('dataDir'), lexicon: path('lexicon'), lang: typeof lang === 'string' ? lang : undefined }),
        },
      };
    }
    case 'kitten':
      return { ...top, model: { ...common, kitten: defined({ model: need('model'), voices: need('voices'), tokens: need('tokens'), dataDir: path('dataDir') }) } };
    default:
      throw new AppError('model_kind_mismatch', `'${model.name}' is a ${model.family} model; sherpa-onnx speaks with vits, kokoro, kitten and matcha voices.`, { param: 'model' });
  }
};

/** The manifest's voices, else one `speaker-N` per speaker the model reports. */
export const voicesOf = (model: InstalledModel, numSpeakers: number): TtsVoice[] => {
  if (model.voices?.length) return model.voices.map((v) => ({ name: v.name, id: v.id, language: v.language, gender: v.gender }));
  return Array.from({ length: Math.max(1, numSpeakers) }, (_, id) => ({ name: `speaker-${id}`, id }));
};

const NO_AUDIO = /produced no audio/i;

/**
 * Loads a sherpa-onnx TTS model (Piper/VITS, Kokoro, Kitten, Matcha) and
 * returns a handle whose synthesize() runs on a worker thread. Several
 * synthesize() calls may run at once on one handle: onnxruntime sessions are
 * thread-safe and sherpa-onnx guards espeak-ng with a mutex.
 */
export const loadTts = async (config: Config, model: InstalledModel, options: EngineLoadOptions = {}): Promise<TtsHandle> => {
  const sherpa = loadSherpa<SherpaTtsModule>();
  const ttsConfig = ttsConfigFor(config, model);
  options.signal?.throwIfAborted();
  let tts: SherpaOfflineTts;
  try {
    tts = sherpa.OfflineTts.createAsync ? await sherpa.OfflineTts.createAsync(ttsConfig) : new sherpa.OfflineTts(ttsConfig);
  } catch (error) {
    throw new EngineLoadError(`sherpa-onnx could not load '${model.name}': ${(error as Error).message}`, {
      hint: `Check its files (\`murmur show ${model.name}\`) or pull it again with --force.`,
      cause: error,
    });
  }
  const voices = voicesOf(model, tts.numSpeakers);
  const defaultVoice = model.defaultVoice && voices.some((v) => v.name === model.defaultVoice) ? model.defaultVoice : voices[0]!.name;
  let disposed = false;

  // sherpa-onnx reports no memory figure; the weights on disk are a fair estimate of what they hold.
  const memoryBytes = model.files.filter((f) => /\.(onnx|bin)$/i.test(f.path)).reduce((sum, f) => sum + f.size, 0) || model.size;
  return {
    kind: 'tts',
    stats: async () => ({ memoryBytes }),
    sampleRate: tts.sampleRate,
    voices,
    defaultVoice,
    speakerCount: Math.max(1, tts.numSpeakers),
    async synthesize(text, { sid = 0, speed = 1, signal } = {}) {
      if (disposed) throw new AppError('internal', `'${model.name}' was unloaded.`);
      signal?.throwIfAborted();
      try {
        const audio = await tts.generateAsync({
          text,
          sid,
          speed,
          enableExternalBuffer: false,
          onProgress: signal ? () => !signal.aborted : undefined,
        });
        signal?.throwIfAborted();
        return audio.samples;
      } catch (error) {
        signal?.throwIfAborted();
        if (error instanceof Error && NO_AUDIO.test(error.message)) return new Float32Array(0);
        throw error;
      }
    },
    async dispose() {
      // The native object is freed by its finalizer once unreferenced.
      disposed = true;
    },
  };
};
