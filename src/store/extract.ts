import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArchiveType } from '../catalog/schema.js';
import { AppError } from '../errors.js';
import { storeFsError } from './paths.js';

const invalid = (label: string, why: string, cause?: unknown) =>
  new AppError('archive_invalid', `${label} is not a valid archive (${why}).`, {
    hint: 'Nothing was installed. The download may be damaged or not an archive at all; check the source (or MURMUR_MIRROR).',
    cause,
  });

/** Guesses an archive type from a file name, or undefined. */
export const archiveTypeOf = (name: string): ArchiveType | undefined => {
  if (/\.(tar\.bz2|tbz2?)$/i.test(name)) return 'tar.bz2';
  if (/\.(tar\.gz|tgz)$/i.test(name)) return 'tar.gz';
  if (/\.tar$/i.test(name)) return 'tar';
  return undefined;
};

const unpack = async (file: string, type: ArchiveType, into: string, signal?: AbortSignal): Promise<void> => {
  const { x } = await import('tar');
  const stages: unknown[] = [createReadStream(file, { highWaterMark: 1 << 20 })];
  if (type === 'tar.bz2') {
    const { default: bz2 } = await import('unbzip2-stream');
    stages.push(bz2());
  }
  // strict: damaged or non-tar input is an error, not a warning. tar refuses
  // entries that would land outside `cwd` (absolute paths, `..`).
  const extractor = x({ cwd: into, strict: true, gzip: type === 'tar.gz' ? true : undefined });
  const done = new Promise<void>((resolve, reject) => {
    extractor.on('close', () => resolve());
    extractor.on('error', reject);
  });
  const run = pipeline as unknown as (...args: unknown[]) => Promise<void>;
  await Promise.all([run(...stages, extractor, { signal }), done]);
};

/**
 * Extracts a .tar.bz2 / .tar.gz / .tar archive (streamed) into `dest`,
 * stripping its single top folder. An archive that cannot be read, or
 * whose top level is not exactly one folder, throws `archive_invalid` and
 * leaves `dest` without any of its files. `label` names it in messages.
 */
export const extractArchive = async (file: string, type: ArchiveType, dest: string, label: string, signal?: AbortSignal): Promise<string[]> => {
  const work = join(dest, `.extract-${process.pid}-${Date.now()}`);
  try {
    await mkdir(work, { recursive: true });
  } catch (error) {
    throw storeFsError(error, dest) ?? error;
  }
  try {
    try {
      await unpack(file, type, work, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
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
    await rm(work, { recursive: true, force: true });
  }
};
