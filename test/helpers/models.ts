import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unlessCi } from './ci.js';

/**
 * The small real models tests use: MURMUR_TEST_MODELS, or the shared/models
 * folder beside the project's root (as in CI and on development machines).
 */
export const testModelsDir = (): string =>
  process.env.MURMUR_TEST_MODELS
    ? resolve(process.env.MURMUR_TEST_MODELS)
    : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'models');

/** Absolute path of a shared test model file, or undefined when it is missing. */
export const testModel = (relative: string): string | undefined => {
  const path = join(testModelsDir(), relative);
  return existsSync(path) ? path : undefined;
};

/** A reason to skip, naming the missing file, or undefined when all are present. */
export const missingModels = (...relatives: string[]): string | undefined => {
  const missing = relatives.filter((r) => !testModel(r));
  return unlessCi(missing.length ? `missing test model(s) ${missing.map((m) => join(testModelsDir(), m)).join(', ')}; set MURMUR_TEST_MODELS` : undefined);
};
