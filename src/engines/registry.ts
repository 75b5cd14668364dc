import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { EngineName } from '../types/models.js';
import { createLlamaCppEngine } from './llm/llama-cpp.js';
import { createSherpaEngine } from './speech/sherpa.js';
import type { EngineFactory, EngineResolver } from './types.js';

/**
 * Which engine factory runs a model: node-llama-cpp for GGUF, sherpa-onnx
 * for speech, each created on first use (neither native package loads
 * before a model does). `overrides` replace an engine by name; the runtime
 * takes the resolver as a dependency, so tests and the process-isolated
 * daemon choose their own.
 */
export const createEngineRegistry = (config: Config, overrides: Partial<Record<EngineName, EngineFactory>> = {}): EngineResolver => {
  const engines: Partial<Record<EngineName, EngineFactory>> = { ...overrides };
  const defaults: Record<EngineName, () => EngineFactory> = {
    'llama-cpp': () => createLlamaCppEngine(config),
    'sherpa-onnx': () => createSherpaEngine(config),
  };
  return (model) => {
    const make = defaults[model.engine];
    const factory = engines[model.engine] ?? (make ? (engines[model.engine] = make()) : undefined);
    if (!factory) throw new AppError('not_supported', `No ${model.engine} engine is available for '${model.name}'.`);
    return factory;
  };
};
