import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineHandle, EngineLoadOptions } from '../types.js';

/** Placeholder until the asr engine lands. */
export const loadAsr = async (_config: Config, model: InstalledModel, _options?: EngineLoadOptions): Promise<EngineHandle> => {
  throw new AppError('not_supported', `Running '${model.name}' (asr) is not built yet.`);
};
