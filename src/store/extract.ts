import { createReadStream } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArchiveType } from '../catalog/schema.js';
import { AppError } from '../errors.js';
import { makeStoreDir, storeFsError } from './paths.js';

const invalid = (label: string, why: string, cause?: unknown) =>
  new AppError('archive_invalid', `${label} is not a valid archive (${why}).`, {
    hint: 'Nothing was installed. The download may be damaged or not an archive at all; check the source (or MURMUR_MIRROR).',
    cause,
  });

const UNSAFE_HINT = 'Nothing was installed. An archive that points outside itself is refused; check where it comes from (or MURMUR_MIRROR).';

/** A tar entry as the `filter` sees it. */
interface TarEntry {
  readonly type: string;
  readonly path: string;
  readonly linkpath?: string;
}

/**
 * Why an entry may not be installed: a path or a link that leaves the
 * model's directory (the archive's top folder, whose contents become the
 * model directory). tar itself keeps paths inside its `cwd`, but it strips
 * a leading `/` from a link's target (`voice/evil → /etc/passwd` would
 * become a link to `etc/passwd`) and lets a symlink point anywhere inside
 * the `cwd`, a sibling model's directory included once the top folder is
 * stripped.
 */
const unsafeEntry = (label: string, entry: TarEntry): AppError | undefined => {
  const path = entry.path;
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (posix.isAbsolute(path) || parts.includes('..')) {
    return new AppError('archive_invalid', `${label} contains a path that leads outside the model's directory (${entry.path}).`, { hint: UNSAFE_HINT });
  }
  if (entry.type !== 'SymbolicLink' && entry.type !== 'Link') return undefined;
  const link = entry.linkpath ?? '';
  const shown = `${entry.path} → ${link}`;
  if (posix.isAbsolute(link)) {
    return new AppError('archive_invalid', `${label} contains a link to an absolute path (${shown}), which would lead outside the model's directory.`, { hint: UNSAFE_HINT });
  }
  // A symlink resolves from its own folder, a hard link from the archive's root.
  const from = entry.type === 'SymbolicLink' ? posix.dirname(parts.join('/')) : '.';
  const target = posix.normalize(posix.join(from, link));
  const top = parts[0];
  if (!top || parts.length < 2 || !(target === top || target.startsWith(`${top}/`))) {
    return new AppError('archive_invalid', `${label} contains a link that leads outside the model's directory (${shown}).`, { hint: UNSAFE_HINT });
  }
  return undefined;
};

/** Guesses an archive type from a file name, or undefined. */
export const archiveTypeOf = (name: string): ArchiveType | undefined => {
  if (/\.(tar\.bz2|tbz2?)$/i.test(name)) return 'tar.bz2';
  if (/\.(tar\.gz|tgz)$/i.test(name)) return 'tar.gz';
  if (/\.tar$/i.test(name)) return 'tar';
  return undefined;
};

/**
 * Unpacks into `into`. After the first entry `unsafeEntry` refuses nothing
 * more is written, and its AppError is what this rejects with.
 */
const unpack = async (file: string, type: ArchiveType, into: string, label: string, signal?: AbortSignal): Promise<void> => {
  const { x } = await import('tar');
  const stages: unknown[] = [createReadStream(file, { highWaterMark: 1 << 20 })];
  if (type === 'tar.bz2') {
    const { default: bz2 } = await import('unbzip2-stream');
    stages.push(bz2());
  }
  // strict: damaged or non-tar input is an error, not a warning. The filter
  // refuses paths and links that lead outside the model's directory.
  let refused: AppError | undefined;
  const extractor = x({
    cwd: into,
    strict: true,
    gzip: type === 'tar.gz' ? true : undefined,
    // After a refusal the rest is read but not written: aborting instead would leave tar's writes
    // still in flight while the work directory is removed.
    filter: (_path, entry) => {
      refused ??= unsafeEntry(label, entry as TarEntry);
      return !refused;
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    extractor.on('close', () => resolve());
    extractor.on('error', reject);
  });
  const run = pipeline as unknown as (...args: unknown[]) => Promise<void>;
  try {
    await Promise.all([run(...stages, extractor, { signal }), done]);
  } catch (error) {
    throw refused ?? error;
  }
  if (refused) throw refused;
};

/**
 * Extracts a .tar.bz2 / .tar.gz / .tar archive (streamed) into `dest`,
 * stripping its single top folder. An archive that cannot be read, or
 * whose top level is not exactly one folder, or that holds a path or a
 * link leading outside that folder (an absolute link, `..`), throws
 * `archive_invalid` and leaves `dest` without any of its files. `label`
 * names it in messages.
 */
export const extractArchive = async (file: string, type: ArchiveType, dest: string, label: string, signal?: AbortSignal): Promise<string[]> => {
  const work = join(dest, `.extract-${process.pid}-${Date.now()}`);
  await makeStoreDir(work);
  try {
    try {
      await unpack(file, type, work, label, signal);
    } catch (error) {
      if (signal?.aborted || error instanceof AppError) throw error;
      const fsError = storeFsError(error, dest);
      if (fsError) throw fsError;
      throw invalid(label, error instanceof Error ? error.message : String(error), error);
    }
    const top = await readdir(work, { withFileTypes: true });
    if (top.length !== 1 || !top[0]!.isDirectory()) {
      throw invalid(label, top.length === 0 ? 'it holds no files' : 'it does not hold a single top folder');
    }
    const inner = join(work, top[0]!.name);
    const names = await readdir(inner);
    for (const name of names) await rename(join(inner, name), join(dest, name));
    return names;
  } finally {
    // Retries: after a damaged stream, tar may still be finishing a write inside `work`.
    await rm(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
};
