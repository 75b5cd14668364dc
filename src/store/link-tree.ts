import { copyFile, link, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { makeStoreDir } from './paths.js';

/** Errors after which a hard link cannot be made here, but a copy can: another device, a file system without links, too many links. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** True when `error` means no hard link can be made here (so a copy, or keeping what is there, is the way). */
export const cannotLink = (error: unknown): boolean => NO_LINK.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');

/** Hard-links `from` to `to`, copying where no link can be made (another device, a file system without links). */
export const linkOrCopy = async (from: string, to: string, linkFile: (from: string, to: string) => Promise<void> = link): Promise<void> => {
  await linkFile(from, to).catch(async (error: unknown) => {
    if (!cannotLink(error)) throw error;
    await copyFile(from, to);
  });
};

/**
 * Recreates the tree under `from` in `to` (which exists): directories made
 * anew, files hard-linked (copied where linking fails, e.g. across
 * devices), symlinks made again with the same targets. Entries named in
 * `skip` at the top level are left out. A hard link shares the file, not
 * the name: removing either tree leaves the other whole. `linkFile` is
 * fs.link unless a test stands in for it.
 */
export const linkTree = async (from: string, to: string, skip: ReadonlySet<string> = new Set(), linkFile: (from: string, to: string) => Promise<void> = link): Promise<void> => {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await makeStoreDir(target);
      await linkTree(source, target, new Set(), linkFile);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else if (entry.isFile()) {
      await linkOrCopy(source, target, linkFile);
    }
  }
};
