import { copyFile, link, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { makeStoreDir } from './paths.js';

/** Errors after which a hard link cannot be made here, but a copy can: another device, a file system without links, too many links. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

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
      await linkFile(source, target).catch(async (error: NodeJS.ErrnoException) => {
        if (!NO_LINK.has(error.code ?? '')) throw error;
        await copyFile(source, target);
      });
    }
  }
};
