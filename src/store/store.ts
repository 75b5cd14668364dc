import { cp, copyFile, mkdtemp, readFile, readdir, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Catalog, ModelRef } from '../catalog/catalog.js';
import { closestNames } from '../catalog/resolve.js';
import type { CatalogEntry, Family, ModelFile, ModelKind } from '../catalog/schema.js';
import type { Config } from '../config.js';
import { AppError, ModelNotDownloadedError, ModelNotFoundError, UsageError } from '../errors.js';
import { downloadFile } from './download.js';
import { archiveTypeOf, extractArchive } from './extract.js';
import { quantFiles } from './hf-quant.js';
import { nameTheSource, unreachable } from './import-errors.js';
import { linkTree } from './link-tree.js';
import { withLock } from './lock.js';
import { cleanStaleStaging } from './stale-staging.js';
import { checkTokensFile } from './tokens-check.js';
import { checkOnnxFiles } from './onnx-check.js';
import { checkStreamingTransducer } from './streaming-check.js';
import { shareIdentical } from './share-files.js';
import { sourceFor, toDownloadUrl } from './mirror.js';
import { ensureStoreDirs, isValidModelName, makeStoreDir, MANIFEST, metaPath, partialPath, storeFsError, storePaths, type StorePaths } from './paths.js';
import type { InstalledModel, Layout, Manifest, ManifestFile, PullEvent, PullOptions, PullRestriction, Store } from './types.js';

/** Finds which engine runs the files in a directory (src/store/detect-family.ts by default). */
export type Recognize = (path: string, hint?: { family?: Family; kind?: ModelKind }) => Promise<Layout>;

export interface StoreDeps {
  readonly recognize?: Recognize;
  /** Reads a manifest file (default fs readFile as utf8); tests count the reads. */
  readonly readManifest?: (path: string) => Promise<string>;
  /** Download retries after the first try (default 4). */
  readonly retries?: number;
  /** First retry delay in ms (default 500). */
  readonly retryDelayMs?: number;
  /** Makes a hard link (default fs link); tests make it fail to see copy fall back to copying. */
  readonly linkFile?: (from: string, to: string) => Promise<void>;
}

const defaultRecognize: Recognize = async (path, hint) => (await import('./detect-family.js')).recognizeModel(path, hint);

const readUtf8 = (path: string) => readFile(path, 'utf8');

/** Reads `models/<name>/murmur.json`; undefined when missing or not a manifest. */
const readInstalled = async (paths: StorePaths, name: string, read: (path: string) => Promise<string> = readUtf8): Promise<InstalledModel | undefined> => {
  if (!isValidModelName(name)) return undefined;
  const dir = join(paths.models, name);
  try {
    const manifest = JSON.parse(await read(join(dir, MANIFEST))) as Manifest;
    const ok = typeof manifest?.name === 'string' && typeof manifest.kind === 'string' && typeof manifest.engine === 'string'
      && typeof manifest.family === 'string' && Array.isArray(manifest.files) && typeof manifest.layout === 'object';
    return ok ? { ...manifest, name, dir } : undefined;
  } catch {
    return undefined;
  }
};

/** Every file under `dir` (relative paths, `/`-separated) with its size; a symlink to a file (a `--link` import) counts as its target. */
const walk = async (dir: string, base = dir): Promise<{ path: string; size: number }[]> => {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
    else if (entry.isFile() || entry.isSymbolicLink()) {
      const info = await stat(full).catch(() => undefined);
      if (info?.isFile()) out.push({ path: relative(base, full).split(sep).join('/'), size: info.size });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
};

/** A folder's licence and readme files, kept with the files a layout uses. */
const DOC_FILE = /^(licen[cs]e|readme|notice|copying|authors|model[-_]?card)([-_.].*)?$/i;

/** The relative paths a layout names (lexicons and rule FSTs may be comma-separated lists; a system espeak-ng-data is absolute). */
const layoutPaths = (layout: Layout): string[] =>
  Object.values(layout.files).flatMap((value) => value.split(',')).filter((p) => p && !isAbsolute(p)).map((p) => p.split(sep).join('/').replace(/\/+$/, ''));

/** An imported voice's language, as its ONNX metadata names it (Piper/VITS `language`); the catalog's list for catalog models. */
const importedLanguages = (layout: Layout): string[] | undefined =>
  layout.kind === 'tts' && layout.metadata?.language ? [layout.metadata.language] : undefined;

/** How many speakers an imported voice holds (`n_speakers` in its metadata), when it says. */
const importedSpeakers = (layout: Layout): number | undefined => {
  const count = layout.kind === 'tts' ? Number(layout.metadata?.n_speakers) : NaN;
  return Number.isInteger(count) && count > 0 ? count : undefined;
};

const notInstalled = (name: string) =>
  new AppError('model_not_downloaded', `'${name}' is not installed.`, { hint: 'Run `murmur list` to see what is installed.', param: 'model' });

/** A file's place inside the model directory; refuses paths that would escape it. */
const placeOf = (staging: string, file: ModelFile, url: string): string => {
  const name = file.path ?? decodeURIComponent(basename(new URL(url, 'file:///').pathname));
  const target = resolve(staging, name);
  if (!target.startsWith(staging + sep)) throw new UsageError(`The file path '${name}' would leave the model's directory.`);
  return target;
};

/**
 * The model store under `config.home`: `models/<name>/` (files plus
 * murmur.json, written last), `partial/` (resumable downloads), `tmp/`
 * (staging, renamed into models/ only when complete and verified) and
 * `locks/`. Pulls resolve names through `catalog`, fetch through
 * MURMUR_MIRROR when set, and recognize each model's engine from its files.
 */
export const createStore = (config: Config, catalog: Catalog, deps: StoreDeps = {}): Store => {
  const paths = storePaths(config.home);
  const recognize = deps.recognize ?? defaultRecognize;
  const read = deps.readManifest ?? readUtf8;

  /*
   * The installed models, read once and kept: a request costs one stat of
   * models/, not a manifest read per lookup. Every install and removal
   * renames an entry in or out of models/, which changes its mtime, so
   * another process's pull or rm is seen too. A stamp younger than the
   * clock's coarse tick could hide a second rename made within the same
   * tick, so such an index is not trusted (git's "racy" rule).
   */
  let index: { stamp: number; builtAt: number; models: Map<string, InstalledModel> } | undefined;
  let building: Promise<Map<string, InstalledModel>> | undefined;
  const RACY_MS = 2000;
  /*
   * Lookups that arrive while a stat of models/ is in flight share it: a
   * busy daemon looks models up several times per request, and those stats
   * were 8% of its event loop under load. A lookup never reuses a stat that
   * had finished before it began, so another process's install is seen at
   * once.
   */
  let stamping: Promise<number> | undefined;
  const stampOf = (): Promise<number> => {
    if (!stamping) {
      const current = stat(paths.models).then((s) => s.mtimeMs, () => -1);
      stamping = current;
      void current.finally(() => {
        if (stamping === current) stamping = undefined;
      });
    }
    return stamping;
  };
  const installed = async (): Promise<Map<string, InstalledModel>> => {
    const stamp = await stampOf();
    if (index && index.stamp === stamp && index.builtAt - stamp > RACY_MS) return index.models;
    building ??= (async () => {
      try {
        const builtAt = Date.now();
        const names = await readdir(paths.models).catch(() => [] as string[]);
        const models = (await Promise.all(names.map((name) => readInstalled(paths, name, read)))).filter((m): m is InstalledModel => m !== undefined);
        const map = new Map(models.sort((a, b) => a.name.localeCompare(b.name)).map((m) => [m.name, m]));
        index = { stamp, builtAt, models: map };
        return map;
      } finally {
        building = undefined;
      }
    })();
    return building;
  };
  /** Forgets the index after this store changed models/ (the next lookup reads it again). */
  let cleaned: Promise<string[]> | undefined;
  const changed = () => {
    index = undefined;
    stamping = undefined;
  };

  // Names are matched as typed, then lower-cased (pull lower-cases the names it derives: `Stories260K.gguf` is `stories260k`), then as a catalog alias.
  const get = async (name: string): Promise<InstalledModel | undefined> => {
    const models = await installed();
    return models.get(name) ?? models.get(name.toLowerCase()) ?? (catalog.find(name) ? models.get(catalog.find(name)!.name) : undefined);
  };

  /** The hosts the catalog downloads from: a pull over HTTP may always use those. */
  const catalogHosts = new Set(
    catalog.entries.flatMap((e) => e.files.map((f) => {
      try {
        return new URL(toDownloadUrl(f.url)).hostname.toLowerCase();
      } catch {
        return '';
      }
    })).filter(Boolean).concat(['huggingface.co']),
  );

  /** Refuses what a restricted pull may not fetch; true when its connections must go to public addresses only. */
  const checkRestricted = async (restrict: PullRestriction, resolved: ModelRef, files: readonly ModelFile[]): Promise<boolean> => {
    if (resolved.type === 'local') {
      const real = await realpath(resolved.path).catch(() => resolve(resolved.path));
      const roots = await Promise.all(restrict.importDirs.map((d) => realpath(d).catch(() => resolve(d))));
      if (!roots.some((root) => real === root || real.startsWith(root + sep))) {
        throw new AppError('forbidden', `The daemon does not import local paths asked for over HTTP (${resolved.path}).`, {
          hint: 'Run `murmur pull PATH` on this machine (the CLI imports it itself), or list its directory in MURMUR_IMPORT_DIRS.',
          param: 'model',
        });
      }
      return false;
    }
    if (resolved.type === 'catalog') return true;
    let listed = false;
    for (const file of files) {
      const url = toDownloadUrl(file.url);
      const host = /^https?:\/\//i.test(url) ? new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase() : undefined;
      if (!host) throw new AppError('forbidden', `The daemon fetches only http(s) URLs asked for over HTTP, not ${url}.`, { param: 'model' });
      if (restrict.hosts.includes(host)) listed = true;
      else if (!catalogHosts.has(host) && !restrict.hosts.includes('*')) {
        throw new AppError('forbidden', `The daemon does not download from ${host} for pulls asked over HTTP.`, {
          hint: `Add ${host} to MURMUR_PULL_HOSTS on the daemon, or pull with the CLI on that machine.`,
          param: 'model',
        });
      }
    }
    // A host listed by name is trusted wherever it is; any other must be public.
    return !listed;
  };

  const fetchFile = async (file: ModelFile, staging: string, model: string, emit: (e: PullEvent) => void, archiveGuess: boolean, signal?: AbortSignal, publicOnly = false, daemon = false) => {
    const url = toDownloadUrl(file.url);
    const label = file.path ?? decodeURIComponent(basename(new URL(url, 'file:///').pathname));
    const partial = partialPath(paths.home, url);
    // Two models may share a URL (hence a partial): the partial has its own lock too.
    const result = await withLock(paths.locks, `partial-${basename(partial)}`, () =>
      downloadFile({
        url,
        source: sourceFor(url, config.mirror, publicOnly),
        partial,
        expected: { size: file.size, sha256: file.sha256 },
        signal,
        retries: deps.retries,
        retryDelayMs: deps.retryDelayMs,
        onProgress: (completed, total) => emit({ status: 'downloading', model, file: label, completed, total }),
      }), () => emit({ status: 'waiting', model, reason: `another pull is downloading ${label}` }), signal).catch(async (error: unknown) => {
      // No network on a first run: say which host, for which model, and the ways forward (resuming only when bytes are kept).
      throw await unreachable(error, model, Boolean(config.mirror), /\.gguf$/i.test(label), async () => (await stat(partial)).size, daemon);
    });
    emit({ status: 'verifying', model, file: label });
    const archive = file.archive ?? (archiveGuess ? archiveTypeOf(url) : undefined);
    if (archive) {
      emit({ status: 'extracting', model, file: label });
      try {
        await extractArchive(result.path, archive, staging, label, signal);
      } catch (error) {
        // An archive that cannot be installed would only fail the same way next time: it does not stay in partial/.
        if ((error as AppError).code === 'archive_invalid') await Promise.all([rm(result.path, { force: true }), rm(metaPath(result.path), { force: true })]);
        throw error;
      }
      await rm(result.path, { force: true });
      return undefined;
    }
    const target = placeOf(staging, file, url);
    await makeStoreDir(dirname(target));
    await rename(result.path, target);
    return { path: relative(staging, target).split(sep).join('/'), sha256: result.sha256 };
  };

  /**
   * Copies a local file or folder into staging; with `link`, a file is kept
   * where it is and staging holds a symlink to it. Of a folder murmur
   * recognises, only what its layout uses (and licence/readme files) is
   * copied, not e.g. test_wavs/; one it does not is copied whole, for the
   * recognition in staging to say what is wrong.
   */
  const importLocal = async (source: string, staging: string, link = false): Promise<void> => {
    const info = await stat(source).catch(() => undefined);
    if (!info) throw new AppError('model_not_found', `${source} does not exist.`, { hint: 'Name an existing file or directory.' });
    if (link && !info.isFile()) {
      throw new UsageError(`--link imports a file, and ${source} is a folder.`, { hint: 'Drop --link to copy the folder into the store, or name the .gguf file itself.', param: 'model' });
    }
    if (link) await symlink(source, join(staging, basename(source)));
    else if (info.isDirectory()) {
      const used = await recognize(source).then(layoutPaths, () => undefined);
      await cp(source, staging, {
        recursive: true,
        force: true,
        filter: (src) => {
          if (basename(src) === MANIFEST && dirname(src) === source) return false;
          const rel = relative(source, src).split(sep).join('/');
          return !used || rel === '' || (!rel.includes('/') && DOC_FILE.test(rel)) || used.some((p) => rel === p || rel.startsWith(`${p}/`) || p.startsWith(`${rel}/`));
        },
      });
    }
    else await copyFile(source, join(staging, basename(source)));
  };

  const install = async (staging: string, name: string): Promise<void> => {
    const target = join(paths.models, name);
    const old = `${staging}.old`;
    const hadOld = await rename(target, old).then(() => true, () => false);
    await rename(staging, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  };

  /** The installed model imported from the file at `path` (its recorded source), while the file keeps the size it had then. */
  const importedAs = async (path: string): Promise<InstalledModel | undefined> => {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    return [...(await installed()).values()].find((m) => m.source === path && m.files.length === 1 && m.size === info.size);
  };

  const pullOne = async (ref: string, resolved: ModelRef, name: string, options: PullOptions): Promise<InstalledModel> => {
    const emit = options.onProgress ?? (() => undefined);
    const { signal } = options;
    // Checked before anything, the reuse of an installed copy included: a refused pull learns nothing.
    const publicOnly = options.restrict ? await checkRestricted(options.restrict, resolved, resolved.type === 'remote' ? resolved.files : []) : false;
    if (!options.force) {
      const existing = await readInstalled(paths, name);
      // A model linked to another file is linked again, to the one named now (its old file is often gone: it was moved).
      const relink = Boolean(existing?.linked && options.link && resolved.type === 'local' && existing.linked !== resolve(resolved.path));
      if (existing && !relink) {
        emit({ status: 'success', model: name, path: existing.dir, reused: true });
        return existing;
      }
      // A file imported before (the same path, the same size) is that model, whatever it was named: not a second copy under the file's name.
      const same = !existing && resolved.type === 'local' && !options.name ? await importedAs(resolve(resolved.path)) : undefined;
      if (same) {
        emit({ status: 'success', model: same.name, path: same.dir, reused: true });
        return same;
      }
    }
    const staging = await mkdtemp(join(paths.tmp, `${name}-`)).catch((error) => {
      throw storeFsError(error, paths.tmp) ?? error;
    });
    try {
      const hashes = new Map<string, string | undefined>();
      let entry: CatalogEntry | undefined;
      let source: string;
      let single = false;
      if (resolved.type === 'local') {
        source = resolve(resolved.path);
        single = (await stat(source).catch(() => undefined))?.isFile() ?? false;
        await importLocal(source, staging, options.link);
      } else {
        entry = resolved.type === 'catalog' ? resolved.entry : undefined;
        source = resolved.type === 'catalog' ? resolved.entry.name : resolved.source;
        const files = resolved.type === 'catalog' ? resolved.entry.files : resolved.quant ? await quantFiles(resolved.quant, config.mirror, signal, publicOnly) : resolved.files;
        for (const file of files) {
          const got = await fetchFile(file, staging, name, emit, resolved.type === 'remote', signal, publicOnly, Boolean(options.restrict));
          if (got) hashes.set(got.path, got.sha256);
        }
      }
      signal?.throwIfAborted();
      // An ONNX file that does not parse would abort onnxruntime at first use (an uncaught Ort::Exception): refuse it first, by name.
      const staged = await walk(staging);
      await checkOnnxFiles(staging, staged.map((f) => f.path));
      const layout = await recognize(staging, entry ? { family: entry.family, kind: entry.kind } : undefined).catch((error: unknown) => {
        // About what the user named, not the staging directory.
        throw nameTheSource(error, staging, resolved.type === 'local' ? `'${source}'` : `'${source}' (as downloaded)`, single || staged.length === 1 && resolved.type !== 'local');
      });
      // A tokens file sherpa-onnx cannot read would abort the process at first use: refuse it now.
      if (layout.files.tokens) await checkTokensFile(join(staging, layout.files.tokens), layout.files.tokens, layout.metadata);
      // So would a "VAD" whose graph is not Silero's, and a streaming transducer without the metadata sherpa-onnx reads.
      if (layout.family === 'silero-vad') await checkOnnxFiles(staging, staged.map((f) => f.path), layout.family);
      if (layout.family === 'streaming-transducer') await checkStreamingTransducer(staging, layout.files, typeof entry?.options?.modelType === 'string' ? entry.options.modelType : undefined);
      // A file identical to one already in the store (the same download under another name) becomes a hard link to it.
      const files: ManifestFile[] = options.link
        ? staged
        : await shareIdentical(staging, staged.map((f) => ({ ...f, sha256: hashes.get(f.path) })), (await installed()).values(), { linkFile: deps.linkFile, signal });
      const manifest: Manifest = {
        name,
        kind: layout.kind,
        engine: layout.engine,
        family: layout.family,
        source,
        description: entry?.description,
        license: entry?.license,
        languages: entry?.languages ?? importedLanguages(layout),
        layout: layout.files,
        files,
        size: files.reduce((sum, f) => sum + f.size, 0),
        sampleRate: layout.sampleRate ?? entry?.sampleRate,
        voices: entry?.voices,
        speakerCount: entry ? undefined : importedSpeakers(layout),
        defaultVoice: entry?.defaultVoice,
        options: entry?.options,
        pulledAt: new Date().toISOString(),
        ...(options.link ? { linked: source } : {}),
      };
      await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      await install(staging, name);
      changed();
      const done = { ...manifest, dir: join(paths.models, name) };
      emit({ status: 'success', model: name, path: done.dir, reused: false });
      return done;
    } catch (error) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      throw storeFsError(error, paths.home) ?? error;
    }
  };

  const require = async (name: string): Promise<InstalledModel> => {
    const model = await get(name);
    if (model?.linked && !(await stat(model.linked).then((info) => info.isFile(), () => false))) {
      throw new AppError('model_broken', `'${model.name}' is linked to ${model.linked}, which is no longer there.`, {
        hint: `Put the file back, or import it from where it is now: \`murmur pull --force --link PATH --name ${model.name}\` (or \`murmur rm ${model.name}\`).`,
        param: 'model',
      });
    }
    if (model) return model;
    const entry = catalog.find(name);
    if (entry) throw new ModelNotDownloadedError(entry.name);
    // Installed models close to the name first (a typo of one's own import), then the catalog's.
    const close = closestNames(name, [...(await installed()).keys()], 2);
    throw new ModelNotFoundError(name, [...new Set([...close, ...catalog.suggest(name)])].slice(0, 3));
  };

  /** Under both models' locks: hard links of the source's files staged in tmp/, the manifest last, then one rename into models/. */
  const copyOne = async (model: InstalledModel, destination: string): Promise<InstalledModel> => {
    if (await readInstalled(paths, destination)) {
      throw new AppError('model_exists', `'${destination}' is installed already.`, { hint: `Remove it first (\`murmur rm ${destination}\`) or choose another name.`, param: 'destination' });
    }
    // The source as it is on disk now (another process may have pulled it again since the index was read).
    const current = await readInstalled(paths, model.name);
    if (!current) throw notInstalled(model.name);
    const staging = await mkdtemp(join(paths.tmp, `${destination}-`)).catch((error) => {
      throw storeFsError(error, paths.tmp) ?? error;
    });
    try {
      await linkTree(current.dir, staging, new Set([MANIFEST]), deps.linkFile);
      const { dir: _dir, ...manifest } = current;
      const copied: Manifest = { ...manifest, name: destination, pulledAt: new Date().toISOString() };
      await writeFile(join(staging, MANIFEST), `${JSON.stringify(copied, null, 2)}\n`);
      await install(staging, destination);
      changed();
      return { ...copied, dir: join(paths.models, destination) };
    } catch (error) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      throw storeFsError(error, paths.home) ?? error;
    }
  };

  return {
    root: paths.models,
    get,
    async list() {
      return [...(await installed()).values()];
    },
    require,
    async pull(ref, options = {}) {
      options.onProgress?.({ status: 'resolving', model: ref });
      let resolved: ModelRef;
      let installedName: string | undefined;
      try {
        resolved = catalog.resolve(ref);
      } catch (error) {
        // An installed model that is not in the catalog (a URL or an import): pull it again from where it came (by reference again if it was linked).
        const installed = (error as AppError).code === 'model_not_found' ? await readInstalled(paths, ref) : undefined;
        if (!installed) throw error;
        resolved = catalog.resolve(installed.source);
        installedName = installed.name;
        if (installed.linked && options.link === undefined) options = { ...options, link: true };
      }
      const name = options.name ?? installedName ?? resolved.name;
      if (options.link && resolved.type !== 'local') {
        throw new UsageError(`--link imports a local file by reference; '${ref}' is not a path.`, { hint: 'Drop --link to download it, or name a file: `murmur pull --link ./model.gguf --name NAME`.', param: 'model' });
      }
      if (!isValidModelName(name)) {
        throw new UsageError(`'${name}' cannot be a model name: use letters, digits, '.', '-' and '_'.`, { hint: 'Pass --name NAME.', param: 'name' });
      }
      await ensureStoreDirs(paths);
      // Once per store: what pulls killed earlier (kill -9, a power cut) left in tmp/ goes.
      cleaned ??= cleanStaleStaging(paths).catch(() => []);
      await cleaned;
      const onWait = () => options.onProgress?.({ status: 'waiting', model: name, reason: 'another pull of this model is running' });
      return withLock(paths.locks, name, () => pullOne(ref, resolved, name, options), onWait, options.signal);
    },
    async remove(name) {
      const model = await get(name);
      if (!model) throw notInstalled(name);
      await withLock(paths.locks, model.name, async () => {
        const trash = join(paths.tmp, `${model.name}-removed-${process.pid}-${Date.now()}`);
        try {
          await makeStoreDir(paths.tmp);
          await rename(model.dir, trash);
          changed();
          await rm(trash, { recursive: true, force: true });
        } catch (error) {
          throw storeFsError(error, paths.models) ?? error;
        }
      });
    },
    async copy(source, destination) {
      const model = await require(source);
      if (!isValidModelName(destination)) {
        throw new UsageError(`'${destination}' cannot be a model name: use letters, digits, '.', '-' and '_'.`, { hint: 'Name the copy with letters, digits, \'.\', \'-\' and \'_\'.', param: 'destination' });
      }
      await ensureStoreDirs(paths);
      cleaned ??= cleanStaleStaging(paths).catch(() => []);
      await cleaned;
      // Both locks, taken in name order so that two copies the other way round cannot wait on each other.
      const [first, second] = [model.name, destination].sort();
      return withLock(paths.locks, first!, () => (first === second ? copyOne(model, destination) : withLock(paths.locks, second!, () => copyOne(model, destination))));
    },
  };
};
