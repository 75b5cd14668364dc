import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What `murmur speak --batch` made, kept beside its outputs in
 * OUT_DIR/.murmur-batch.json: for each output file, a sha256 of everything
 * that decides its audio (text, voice, speed, format, model). A resumed run
 * redoes a file whose line changed or that the manifest does not list, not
 * only one that is missing. Written atomically (a temporary file renamed)
 * each time a file completes, so an interrupted run keeps what it finished.
 */
export const MANIFEST_NAME = '.murmur-batch.json';

export interface ManifestEntry {
  readonly sha256: string;
}

interface ManifestFile {
  readonly version: 1;
  readonly files: Record<string, ManifestEntry>;
}

/** What decides one output's audio. */
export interface OutputRecipe {
  readonly text: string;
  readonly voice?: string;
  readonly speed?: number;
  readonly format: string;
  readonly model: string;
}

/** The sha256 (hex) of a recipe; an absent voice or speed hashes as the default it means. */
export const recipeHash = (recipe: OutputRecipe): string =>
  createHash('sha256')
    .update(JSON.stringify([recipe.text, recipe.voice ?? '', recipe.speed ?? 1, recipe.format, recipe.model]))
    .digest('hex');

export interface BatchManifest {
  /** The hash recorded for `out`, if any. */
  get(out: string): string | undefined;
  /** Records `out` as made from `sha256` and saves the manifest (saves are queued, one at a time). */
  record(out: string, sha256: string): Promise<void>;
  /** Waits for the saves queued so far. */
  flush(): Promise<void>;
}

/** Opens the manifest of `dir` (empty when it is missing or unreadable: every output is then redone). */
export const openManifest = async (dir: string, onWarning: (message: string) => void = () => undefined): Promise<BatchManifest> => {
  const path = join(dir, MANIFEST_NAME);
  let files: Record<string, ManifestEntry> = {};
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ManifestFile>;
    if (parsed && typeof parsed.files === 'object' && parsed.files) files = { ...parsed.files };
    else onWarning(`${path} is not a batch manifest; every file is made again.`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') onWarning(`${path} could not be read (${(error as Error).message}); every file is made again.`);
  }
  let saving: Promise<void> = Promise.resolve();
  const save = async () => {
    const temp = `${path}.${process.pid}.partial`;
    try {
      await writeFile(temp, `${JSON.stringify({ version: 1, files } satisfies ManifestFile, null, 1)}\n`);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  };
  return {
    get: (out) => (typeof files[out]?.sha256 === 'string' ? files[out]!.sha256 : undefined),
    record(out, sha256) {
      files[out] = { sha256 };
      saving = saving.catch(() => undefined).then(save);
      return saving;
    },
    flush: () => saving,
  };
};
