import type { Config } from '../../config.js';
import { AppError, EngineLoadError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineLoadOptions } from '../types.js';
import type { AsrHandle, AsrOptions, AsrResult, AsrToken, SherpaOfflineRecognizer, SherpaOfflineResult, SherpaOnlineResult, SherpaSpeech } from './asr-types.js';
import { allowedLanguages, checkLanguage } from './asr-languages.js';
import { loadSherpa } from './sherpa.js';

/**
 * Speech-to-text with sherpa-onnx's OfflineRecognizer, for every family the
 * store recognizes. Layout roles are sherpa-onnx-node's config keys, so a
 * family's block is its roles' absolute paths. Language and task are fixed
 * per recognizer in sherpa-onnx, so a whisper or sense-voice request that
 * asks for another one gets its own recognizer (kept, at most a few).
 * Streaming transducers run in an OnlineRecognizer instead (asr-online.ts).
 */

const MAX_VARIANTS = 3;

/** The absolute path of a layout role's file; EngineLoadError when the layout lacks it. */
export const modelPath = (model: InstalledModel, role: string): string => {
  const rel = model.layout[role];
  if (!rel) throw new EngineLoadError(`'${model.name}' (${model.family}) has no ${role} file in its layout.`, { hint: `Pull it again: \`murmur pull ${model.name} --force\`.` });
  return `${model.dir}/${rel}`;
};

export const modelOption = (model: InstalledModel, key: string): string | number | boolean | undefined => model.options?.[key];
const path = modelPath;
const option = modelOption;

interface Variant {
  readonly language: string;
  readonly task: 'transcribe' | 'translate';
}

/** The OfflineRecognizer config of `model` for a language and task. */
export const recognizerConfig = (config: Config, model: InstalledModel, variant: Variant): Record<string, unknown> => {
  const p = (role: string) => path(model, role);
  let family: Record<string, unknown>;
  let modelType: string | undefined;
  let featConfig = { sampleRate: 16000, featureDim: 80 };
  switch (model.family) {
    case 'whisper':
      family = { whisper: { encoder: p('encoder'), decoder: p('decoder'), language: variant.language, task: variant.task, tailPaddings: -1 } };
      break;
    case 'moonshine':
      family = { moonshine: { preprocessor: p('preprocessor'), encoder: p('encoder'), uncachedDecoder: p('uncachedDecoder'), cachedDecoder: p('cachedDecoder') } };
      break;
    case 'moonshine-v2':
      family = { moonshine: { encoder: p('encoder'), mergedDecoder: p('mergedDecoder') } };
      break;
    case 'sense-voice':
      family = {
        senseVoice: { model: p('model'), language: variant.language === 'auto' ? '' : variant.language, useInverseTextNormalization: option(model, 'useInverseTextNormalization') === false ? 0 : 1 },
      };
      break;
    case 'paraformer':
      family = { paraformer: { model: p('model') } };
      break;
    case 'transducer':
    case 'nemo-transducer':
      family = { transducer: { encoder: p('encoder'), decoder: p('decoder'), joiner: p('joiner') } };
      modelType = model.family === 'nemo-transducer' ? 'nemo_transducer' : undefined;
      break;
    case 'nemo-ctc':
      family = { nemoCtc: { model: p('model') } };
      break;
    case 'zipformer-ctc':
      family = { zipformerCtc: { model: p('model') } };
      break;
    case 'tdnn':
      family = { tdnn: { model: p('model') } };
      featConfig = { sampleRate: model.sampleRate ?? 8000, featureDim: Number(option(model, 'featureDim') ?? 23) };
      break;
    default:
      throw new AppError('not_supported', `'${model.name}' is a ${model.family} model, which sherpa-onnx's offline recognizer does not run.`, {
        hint: 'Choose a whisper, moonshine, sense-voice, paraformer, transducer, nemo, tdnn or streaming transducer model (see `murmur list --all`).',
      });
  }
  const type = typeof option(model, 'modelType') === 'string' ? (option(model, 'modelType') as string) : modelType;
  return {
    featConfig,
    modelConfig: { ...family, tokens: p('tokens'), numThreads: config.threads, debug: config.debug ? 1 : 0, provider: 'cpu', ...(type ? { modelType: type } : {}) },
    decodingMethod: 'greedy_search',
  };
};

/** Tokens with start times, when sherpa-onnx reports one time per token. */
export const tokensOf = (result: SherpaOfflineResult | SherpaOnlineResult): AsrToken[] | undefined => {
  const { tokens, timestamps } = result;
  if (!tokens?.length || !timestamps || timestamps.length !== tokens.length) return undefined;
  return tokens.map((text, i) => ({ text, start: timestamps[i]! }));
};

/** Strips sense-voice's `<|en|>` style tags from the detected language. */
const cleanLang = (lang: string | undefined): string | undefined => lang?.replace(/[<|>]/g, '') || undefined;

/** What an offline model's openStream throws. */
export const notStreaming = (model: InstalledModel): AppError =>
  new AppError('not_supported', `'${model.name}' (${model.family}) is not a streaming model; it transcribes whole utterances only.`, {
    param: 'model',
    hint: 'Use a streaming transducer such as streaming-zipformer-en-20m to get text as audio arrives.',
  });

/**
 * Loads an asr model into sherpa-onnx (an offline recognizer is created off
 * the main thread); a streaming transducer goes to asr-online.ts.
 */
export const loadAsr = async (config: Config, model: InstalledModel, loadOptions?: EngineLoadOptions): Promise<AsrHandle> => {
  if (model.family === 'streaming-transducer') return (await import('./asr-online.js')).loadOnlineAsr(config, model, loadOptions);
  const sherpa = loadSherpa<SherpaSpeech>();
  const languages = allowedLanguages(model);
  const canTranslate = model.family === 'whisper' && languages !== undefined && languages.length > 1;
  const defaults: Variant = {
    language: typeof option(model, 'language') === 'string' ? (option(model, 'language') as string) : model.family === 'sense-voice' ? 'auto' : '',
    task: option(model, 'task') === 'translate' ? 'translate' : 'transcribe',
  };
  const create = async (variant: Variant): Promise<SherpaOfflineRecognizer> => {
    try {
      return await sherpa.OfflineRecognizer.createAsync(recognizerConfig(config, model, variant));
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new EngineLoadError(`sherpa-onnx could not load '${model.name}' (${model.family}): ${(error as Error).message}`, {
        hint: `Its files may be damaged: \`murmur pull ${model.name} --force\`.`,
        cause: error,
      });
    }
  };
  const recognizers = new Map<string, Promise<SherpaOfflineRecognizer>>();
  const keyOf = (v: Variant) => `${v.language}|${v.task}`;
  recognizers.set(keyOf(defaults), Promise.resolve(await create(defaults)));
  const recognizerFor = (variant: Variant): Promise<SherpaOfflineRecognizer> => {
    const key = keyOf(variant);
    let found = recognizers.get(key);
    if (!found) {
      // Keep the default and the most recent variants; the oldest extra goes (its in-flight decodes hold it).
      if (recognizers.size > MAX_VARIANTS) recognizers.delete([...recognizers.keys()][1]!);
      found = create(variant);
      recognizers.set(key, found);
      found.catch(() => recognizers.delete(key));
    }
    return found;
  };
  const rate = model.family === 'tdnn' ? (model.sampleRate ?? 8000) : 16000;
  let disposed = false;

  const transcribe = async (samples: Float32Array, sampleRate: number, options: AsrOptions = {}): Promise<AsrResult> => {
    if (disposed) throw new AppError('internal', `'${model.name}' was unloaded.`);
    options.signal?.throwIfAborted();
    if (options.task === 'translate' && !canTranslate) {
      throw new AppError('not_supported', `'${model.name}' cannot translate; only multilingual whisper models can.`, { param: 'model', hint: 'Use a multilingual whisper model such as whisper-tiny.' });
    }
    const checked = checkLanguage(model, languages, options.language);
    const language = checked === 'auto' && model.family === 'whisper' ? undefined : checked;
    const variant: Variant = {
      language: language === undefined || !['whisper', 'sense-voice'].includes(model.family) ? defaults.language : language,
      task: options.task ?? defaults.task,
    };
    const recognizer = await recognizerFor(variant);
    const stream = recognizer.createStream();
    // Resample here rather than in sherpa-onnx's stream, which logs each time it does.
    const input = sampleRate === rate ? samples : new sherpa.LinearResampler(sampleRate, rate).flush(samples);
    stream.acceptWaveform({ samples: input, sampleRate: rate });
    const result = await recognizer.decodeAsync(stream);
    options.signal?.throwIfAborted();
    const tokens = tokensOf(result);
    return { text: result.text.trim(), ...(tokens ? { tokens } : {}), ...(cleanLang(result.lang) ? { lang: cleanLang(result.lang) } : language ? { lang: language } : {}) };
  };

  const bytes = model.files.reduce((sum, f) => sum + f.size, 0);
  return {
    kind: 'asr',
    sampleRate: rate,
    languages: languages ?? [],
    canTranslate,
    streaming: false,
    // ONNX Runtime maps the weights and adds working buffers; about 1.3× the files.
    stats: async () => ({ memoryBytes: Math.round(bytes * 1.3) }),
    transcribe,
    openStream() {
      throw notStreaming(model);
    },
    async dispose() {
      disposed = true;
      recognizers.clear();
    },
  };
};
