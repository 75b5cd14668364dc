import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root: the nearest folder above this file holding package.json (works from src and from dist). */
export const projectRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
      dir = parent;
    }
  }
};

export const packageVersion = (): string =>
  (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** The built-in catalog shipped with the package. */
export const builtinCatalogPath = (): string => join(projectRoot(), 'models.json');
