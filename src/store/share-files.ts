import { link, lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cannotLink } from './link-tree.js';
import type { InstalledModel } from './types.js';
import { sha256File } from './verify.js';

/** A file staged for install: its path relative to the staging directory, its size, its sha256 where known. */
export interface StagedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256?: string;
}

export interface ShareOptions {
  /** Makes a hard link (default fs link). */
  readonly linkFile?: (from: string, to: string) => Promise<void>;
  readonly signal?: AbortSignal;
}

/**
 * Replaces each staged regular file that is byte-identical to a file of an
 * installed model (the same size, then the same sha256) by a hard link to
 * that file, so four names for one download hold one copy. Files are
 * hashed only when some installed file has their size; a sha256 recorded
 * in a manifest is taken as it is (after checking the size on disk). A
 * hard link shares the data, not the name: removing either model leaves the
 * other whole. Where no link can be made (another device, a file system
 * without links) the staged copy stays. Linked (by-reference) models are
 * not shared from. Returns the staged files with the sha256s learned.
 */
export const shareIdentical = async (staging: string, staged: readonly StagedFile[], installed: Iterable<InstalledModel>, options: ShareOptions = {}): Promise<StagedFile[]> => {
  const linkFile = options.linkFile ?? link;
  const candidates = new Map<number, { path: string; sha256?: string }[]>();
  for (const model of installed) {
    if (model.linked) continue;
    for (const file of model.files) {
      if (file.size <= 0) continue;
      const list = candidates.get(file.size) ?? [];
      list.push({ path: join(model.dir, file.path), sha256: file.sha256 });
      candidates.set(file.size, list);
    }
  }
  const hashed = new Map<string, string | undefined>();
  const hashOf = async (path: string, size: number, recorded?: string): Promise<string | undefined> => {
    if (hashed.has(path)) return hashed.get(path);
    let sha: string | undefined;
    try {
      const info = await lstat(path);
      sha = info.isFile() && info.size === size ? (recorded ?? (await sha256File(path))) : undefined;
    } catch {
      sha = undefined;
    }
    hashed.set(path, sha);
    return sha;
  };
  const out: StagedFile[] = [];
  for (const file of staged) {
    const matches = candidates.get(file.size);
    const target = join(staging, file.path);
    if (!matches?.length || !(await lstat(target).then((i) => i.isFile(), () => false))) {
      out.push(file);
      continue;
    }
    options.signal?.throwIfAborted();
    const sha256 = file.sha256 ?? (await sha256File(target));
    for (const match of matches) {
      if ((await hashOf(match.path, file.size, match.sha256)) !== sha256) continue;
      const temporary = `${target}.shared-${process.pid}`;
      try {
        await linkFile(match.path, temporary);
        await rename(temporary, target);
        // Two names of one file: rename leaves both (POSIX), so the spare goes.
        await rm(temporary, { force: true });
        break;
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        // No link here: keep the staged copy. Anything else (the other model removed meanwhile): try the next match.
        if (cannotLink(error)) break;
      }
    }
    out.push({ ...file, sha256 });
  }
  return out;
};
