import { createRequire } from 'node:module';
import type { Config } from '../../config.js';
import { AppError, EngineLoadError } from '../../errors.js';
import type { EngineFactory } from '../types.js';
import { withArticle } from '../../text/article.js';

/**
 * sherpa-onnx-node, loaded on first use only (it is CommonJS and ships no
 * types: each speech engine file declares the parts it uses and casts).
 */
let sherpa: unknown;
export const loadSherpa = <T>(): T => {
  if (!sherpa) {
    try {
      sherpa = createRequire(import.meta.url)('sherpa-onnx-node');
    } catch (error) {
      throw new EngineLoadError(`sherpa-onnx could not be loaded: ${(error as Error).message}`, {
        hint: 'Reinstall murmur (`npm ci`); sherpa-onnx-node ships prebuilt binaries for Linux, macOS and Windows.',
        cause: error,
      });
    }
  }
  return sherpa as T;
};

/** Speech models: one factory for the sherpa-onnx engine, dispatching on the model's kind. */
export const createSherpaEngine =
  (config: Config): EngineFactory =>
  async (model, options) => {
    switch (model.kind) {
      case 'tts':
        return (await import('./tts.js')).loadTts(config, model, options);
      case 'asr':
        return (await import('./asr.js')).loadAsr(config, model, options);
      case 'vad':
        return (await import('./vad.js')).loadVad(config, model, options);
      default:
        throw new AppError('model_kind_mismatch', `'${model.name}' is ${withArticle(model.kind)} model; sherpa-onnx runs tts, asr and vad models.`);
    }
  };
