import type { Config } from '../../config.js';
import { AppError, EngineLoadError } from '../../errors.js';
import { readOnnxMetadata } from '../../store/onnx-metadata.js';
import { checkStreamingTransducer } from '../../store/streaming-check.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineLoadOptions } from '../types.js';
import type { AsrHandle, AsrOptions, AsrResult, AsrStream, SherpaOnlineRecognizer, SherpaOnlineStream, SherpaSpeech } from './asr-types.js';
import { allowedLanguages, checkLanguage } from './asr-languages.js';
import { modelOption, modelPath, tokensOf } from './asr.js';
import { loadSherpa } from './sherpa.js';

/**
 * Streaming transducers (icefall's zipformer, zipformer2, lstm, conformer
 * exports, such as sherpa-onnx-streaming-zipformer-en-20M) in sherpa-onnx's
 * OnlineRecognizer. It decodes fixed chunks of features as they fill, so
 * the same recognizer serves both a whole file (`transcribe`: the samples
 * go through one stream) and audio as it arrives (`openStream`: partial
 * text after each push). Decoding is synchronous in sherpa-onnx-node; a
 * long decode yields to the event loop between chunks.
 */

const RATE = 16_000;
/** Work done between yields to the event loop, in ms. */
const YIELD_MS = 50;

/** The OnlineRecognizer config of a streaming transducer (endpointing off: the caller decides where an utterance ends). */
export const onlineRecognizerConfig = (config: Config, model: InstalledModel): Record<string, unknown> => {
  const type = modelOption(model, 'modelType');
  return {
    featConfig: { sampleRate: RATE, featureDim: Number(modelOption(model, 'featureDim') ?? 80) },
    modelConfig: {
      transducer: { encoder: modelPath(model, 'encoder'), decoder: modelPath(model, 'decoder'), joiner: modelPath(model, 'joiner') },
      tokens: modelPath(model, 'tokens'),
      numThreads: config.threads,
      debug: config.debug ? 1 : 0,
      provider: 'cpu',
      ...(typeof type === 'string' ? { modelType: type } : {}),
    },
    decodingMethod: 'greedy_search',
    enableEndpoint: 0,
  };
};

/**
 * Seconds of silence fed after the last sample: the recognizer decodes only
 * whole chunks (`T` feature frames of 10 ms, from the encoder's metadata),
 * so without it the end of an utterance would stay undecoded.
 */
const tailSeconds = async (model: InstalledModel): Promise<number> => {
  const meta = await readOnnxMetadata(modelPath(model, 'encoder')).catch(() => ({}) as Record<string, string>);
  const frames = Number(meta.T);
  return Number.isInteger(frames) && frames > 0 ? Math.max(0.4, (frames + 10) / 100) : 1;
};

/** Decodes every chunk that is ready, yielding to the event loop after YIELD_MS of work. */
const decodeReady = async (recognizer: SherpaOnlineRecognizer, stream: SherpaOnlineStream, signal?: AbortSignal): Promise<void> => {
  let since = performance.now();
  while (recognizer.isReady(stream)) {
    recognizer.decode(stream);
    if (performance.now() - since > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      since = performance.now();
    }
  }
};

/** Loads a streaming transducer into an OnlineRecognizer (created on this thread: sherpa-onnx-node has no async constructor for it). */
export const loadOnlineAsr = async (config: Config, model: InstalledModel, _options?: EngineLoadOptions): Promise<AsrHandle> => {
  const sherpa = loadSherpa<SherpaSpeech>();
  const recognizerConfig = onlineRecognizerConfig(config, model);
  // Checked at pull too; again here for a model installed before that check, since sherpa-onnx exits on what it lacks.
  const type = modelOption(model, 'modelType');
  await checkStreamingTransducer(model.dir, model.layout, typeof type === 'string' ? type : undefined);
  const tail = new Float32Array(Math.round((await tailSeconds(model)) * RATE));
  let recognizer: SherpaOnlineRecognizer;
  try {
    recognizer = new sherpa.OnlineRecognizer(recognizerConfig);
  } catch (error) {
    throw new EngineLoadError(`sherpa-onnx could not load '${model.name}' (${model.family}): ${(error as Error).message}`, {
      hint: `Its files may be damaged: \`murmur pull ${model.name} --force\`.`,
      cause: error,
    });
  }
  const languages = allowedLanguages(model);
  let disposed = false;
  const live = () => {
    if (disposed) throw new AppError('internal', `'${model.name}' was unloaded.`);
  };
  const resultOf = (stream: SherpaOnlineStream): AsrResult => {
    const result = recognizer.getResult(stream);
    const tokens = tokensOf(result);
    return { text: result.text.trim(), ...(tokens ? { tokens } : {}) };
  };
  /** Ends a stream: the tail of silence, the features' last frames, and the chunks they complete. */
  const finishStream = async (stream: SherpaOnlineStream, signal?: AbortSignal): Promise<AsrResult> => {
    stream.acceptWaveform({ samples: tail, sampleRate: RATE });
    stream.inputFinished();
    await decodeReady(recognizer, stream, signal);
    return resultOf(stream);
  };

  const transcribe = async (samples: Float32Array, sampleRate: number, options: AsrOptions = {}): Promise<AsrResult> => {
    live();
    options.signal?.throwIfAborted();
    if (options.task === 'translate') {
      throw new AppError('not_supported', `'${model.name}' cannot translate; only multilingual whisper models can.`, { param: 'model', hint: 'Use a multilingual whisper model such as whisper-tiny.' });
    }
    const language = checkLanguage(model, languages, options.language);
    const stream = recognizer.createStream();
    // Resampled here rather than in the stream, which logs each time it does.
    const input = sampleRate === RATE ? samples : new sherpa.LinearResampler(sampleRate, RATE).flush(samples);
    stream.acceptWaveform({ samples: input, sampleRate: RATE });
    await decodeReady(recognizer, stream, options.signal);
    const result = await finishStream(stream, options.signal);
    options.signal?.throwIfAborted();
    return { ...result, ...(language && language !== 'auto' ? { lang: language } : {}) };
  };

  const openStream = (inputRate: number): AsrStream => {
    live();
    if (!Number.isFinite(inputRate) || inputRate <= 0) throw new AppError('invalid_request', `Sample rate ${inputRate} is not a positive number.`);
    let stream: SherpaOnlineStream | undefined = recognizer.createStream();
    const resampler = inputRate === RATE ? undefined : new sherpa.LinearResampler(inputRate, RATE);
    let text = '';
    // Calls run one after another, in the order made (a decode may yield in between).
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <T>(work: () => Promise<T>): Promise<T> => {
      const next = queue.then(work, work);
      queue = next.catch(() => undefined);
      return next;
    };
    return {
      accept: (samples) =>
        serial(async () => {
          if (!stream) return text;
          live();
          const input = resampler ? resampler.resample(samples) : samples;
          if (input.length) stream.acceptWaveform({ samples: input, sampleRate: RATE });
          await decodeReady(recognizer, stream);
          if (stream) text = recognizer.getResult(stream).text.trim();
          return text;
        }),
      finish: () =>
        serial(async () => {
          if (!stream) return { text };
          live();
          const current = stream;
          if (resampler) {
            const rest = resampler.flush(new Float32Array(0));
            if (rest.length) current.acceptWaveform({ samples: rest, sampleRate: RATE });
          }
          const result = await finishStream(current);
          stream = undefined;
          text = result.text;
          return result;
        }),
      close() {
        // The native stream is freed with its last reference.
        stream = undefined;
      },
    };
  };

  const roles = new Set(['encoder', 'decoder', 'joiner', 'tokens'].map((role) => model.layout[role]));
  const bytes = model.files.filter((f) => roles.has(f.path)).reduce((sum, f) => sum + f.size, 0) || model.size;
  return {
    kind: 'asr',
    sampleRate: RATE,
    languages: languages ?? [],
    canTranslate: false,
    streaming: true,
    // ONNX Runtime maps the weights and adds working buffers (and each stream its states); about 1.3× the files.
    stats: async () => ({ memoryBytes: Math.round(bytes * 1.3) }),
    transcribe,
    openStream,
    async dispose() {
      disposed = true;
    },
  };
};
