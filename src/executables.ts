import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first of `names` found executable in a directory of `path` (a PATH value), as its absolute path; undefined when none is. */
export const findOnPath = (names: string | readonly string[], path = process.env.PATH ?? ''): string | undefined => {
  const wanted = typeof names === 'string' ? [names] : names;
  for (const dir of path.split(delimiter).filter(Boolean)) {
    for (const name of wanted) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
};
