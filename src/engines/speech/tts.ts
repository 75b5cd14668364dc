import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineHandle, EngineLoadOptions } from '../types.js';

/** Placeholder until the tts engine lands. */
export const loadTts = async (_config: Config, model: InstalledModel, _options?: EngineLoadOptions): Promise<EngineHandle> => {
  throw new AppError('not_supported', `Running '${model.name}' (tts) is not built yet.`);
};
