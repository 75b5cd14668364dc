import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Family, ModelKind } from '../types/models.js';
import { AppError } from '../errors.js';
import { isGguf, ggufKind, readGgufMetadata, type GgufHeader } from './gguf-metadata.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { asrDetectors, vadDetector } from './detect-family-asr.js';
import { isMissing, singleModelDetector, ttsDetectors, type Detection, type Detector, type Scan } from './detect-family-speech.js';
import type { Layout } from './types.js';
import { withArticle } from '../text/article.js';

export { findSystemEspeakNgData, SYSTEM_ESPEAK_NG_DATA_DIRS } from './detect-family-speech.js';

/** The kind of model each family is. */
export const familyKinds: Readonly<Record<Family, ModelKind>> = {
  gguf: 'llm',
  vits: 'tts',
  kokoro: 'tts',
  kitten: 'tts',
  matcha: 'tts',
  whisper: 'asr',
  moonshine: 'asr',
  'moonshine-v2': 'asr',
  'sense-voice': 'asr',
  paraformer: 'asr',
  transducer: 'asr',
  'nemo-transducer': 'asr',
  'nemo-ctc': 'asr',
  'zipformer-ctc': 'asr',
  'streaming-transducer': 'asr',
  tdnn: 'asr',
  'silero-vad': 'vad',
  'ten-vad': 'vad',
};

/** GGUF (node-llama-cpp): one .gguf file; the header tells chat from embedding. */
const gguf: Detector = {
  families: ['gguf'],
  async detect(scan) {
    const all = scan.files.filter((f) => /\.gguf$/i.test(f) && !/mmproj/i.test(f));
    // A split model (…-00001-of-00003.gguf) is loaded from its first part.
    const parts = all.filter((f) => /-\d{5}-of-\d{5}\.gguf$/i.test(f));
    const candidates = parts.length && parts.length === all.length ? parts.filter((f) => /-00001-of-/.test(f)) : all;
    if (candidates.length === 0) return { missing: 'needs a .gguf file' };
    if (candidates.length > 1) return { missing: `holds several .gguf files (${candidates.join(', ')}); import one file` };
    const model = candidates[0]!;
    const path = join(scan.dir, model);
    if (!(await isGguf(path))) return { missing: `${model} does not start with the GGUF magic (truncated or not GGUF?)` };
    let header: GgufHeader;
    try {
      header = await readGgufMetadata(path);
    } catch (error) {
      return { missing: error instanceof Error ? error.message : String(error) };
    }
    // A few header facts for `show` (the tokenizer arrays and the rest stay out).
    const arch = String(header.metadata['general.architecture'] ?? '');
    const keys = ['general.architecture', 'general.name', 'general.size_label', `${arch}.context_length`, `${arch}.embedding_length`, `${arch}.pooling_type`];
    const metadata = Object.fromEntries(keys.filter((k) => header.metadata[k] !== undefined).map((k) => [k, String(header.metadata[k])]));
    return { family: 'gguf', kind: ggufKind(header), files: { model }, metadata };
  },
};

/** In the order tried: specific file sets before the generic one-model-plus-tokens layout. */
const detectors: readonly Detector[] = [gguf, ...asrDetectors, ...ttsDetectors, vadDetector, singleModelDetector];

const createScan = (dir: string, files: string[], dirs: string[]): Scan => {
  const cache = new Map<string, Promise<Readonly<Record<string, string>> | undefined>>();
  return {
    dir,
    files,
    dirs,
    meta(name) {
      let found = cache.get(name);
      if (!found) {
        found = readOnnxMetadata(join(dir, name)).catch(() => undefined);
        cache.set(name, found);
      }
      return found;
    },
  };
};

const listDir = async (dir: string): Promise<{ files: string[]; dirs: string[] }> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    // Follow symbolic links (a model folder of links into a cache is common).
    const target = entry.isSymbolicLink() ? await stat(join(dir, entry.name)).catch(() => undefined) : entry;
    if (target?.isFile()) files.push(entry.name);
    else if (target?.isDirectory()) dirs.push(entry.name);
  }
  return { files: files.sort(), dirs: dirs.sort() };
};

/** Files that tell nothing about the engine: an archive's docs and samples. */
const isIncidental = (name: string): boolean =>
  /^(readme|license|model_card|murmur\.json)/i.test(name) || (/\.(md|txt|json|wav)$/i.test(name) && !/tokens\.txt$|lexicon/i.test(name));

/** Folders that belong to a model rather than wrap one. */
const isModelPart = (name: string): boolean => /^(espeak-ng-data|dict|test_wavs)$/.test(name);

const describeFound = (files: readonly string[], dirs: readonly string[]): string => {
  const names = [...files, ...dirs.map((d) => `${d}/`)];
  if (names.length === 0) return 'nothing (the folder is empty)';
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown} (and ${names.length - 12} more)` : shown;
};

const toLayout = (found: Exclude<Detection, { missing: string }>, hintKind?: ModelKind): Layout => {
  // For GGUF the caller's kind (llm or embedding) wins over the header's guess.
  const kind = found.family === 'gguf' && (hintKind === 'llm' || hintKind === 'embedding') ? hintKind : (found.kind ?? familyKinds[found.family]);
  return {
    kind,
    engine: found.family === 'gguf' ? 'llama-cpp' : 'sherpa-onnx',
    family: found.family,
    files: found.files,
    ...(found.sampleRate !== undefined && { sampleRate: found.sampleRate }),
    ...(found.metadata && Object.keys(found.metadata).length > 0 && { metadata: found.metadata }),
  };
};

/**
 * What an unrecognised folder held, on the error recognizeModel throws for
 * it (a pull names the user's path with it, not its staging directory). A
 * registered symbol, so the store reads it without loading this module.
 */
export const UNRECOGNISED = Symbol.for('murmur.unrecognised');

const notSupported = (path: string, scan: Scan, tried: readonly string[]): AppError =>
  Object.assign(
    new AppError(
      'not_supported',
      `murmur does not recognise the model at '${path}'. Found: ${describeFound(scan.files, scan.dirs)}. Tried: ${tried.join('; ')}.`,
      { hint: 'Name a catalog model (`murmur list --all`), or check that the folder holds a complete model as its archive unpacks.' },
    ),
    { [UNRECOGNISED]: { found: describeFound(scan.files, scan.dirs), tried: tried.join('; '), modelFiles: scan.files.some((f) => /\.(onnx|ort|gguf)$/i.test(f)) } },
  );

/**
 * Recognizes which engine, family and files run the model at `path` (a
 * directory, or a single .gguf / VAD .onnx file), reading file names and,
 * where the layout is ambiguous, ONNX metadata or the GGUF header. Paths in
 * `files` are relative to the directory (for a single file: its base name),
 * except a system espeak-ng-data used as `dataDir` (absolute).
 * With `hint.family`, that family's layout is checked first and must fit;
 * with `hint.kind`, only layouts of that kind are accepted.
 * Throws AppError('not_supported') naming the files found and the layouts tried.
 */
export const recognizeModel = async (path: string, hint: { family?: Family; kind?: ModelKind } = {}): Promise<Layout> => {
  const info = await stat(path).catch((cause: unknown) => {
    throw new AppError('not_supported', `'${path}' cannot be read.`, { hint: 'Check the path.', cause });
  });
  let scan: Scan;
  if (info.isDirectory()) {
    let listed = await listDir(path);
    let prefix = '';
    // A folder holding just one folder (an archive unpacked with its top folder): look inside.
    while (listed.dirs.length === 1 && !isModelPart(listed.dirs[0]!) && listed.files.every(isIncidental)) {
      prefix = join(prefix, listed.dirs[0]!);
      const inner = await listDir(join(path, prefix));
      if (inner.files.length === 0 && inner.dirs.length === 0) break;
      listed = inner;
    }
    scan = createScan(join(path, prefix), listed.files, listed.dirs);
    const layout = await recognizeScan(path, scan, hint);
    if (!prefix) return layout;
    const files = Object.fromEntries(
      Object.entries(layout.files).map(([role, rel]) => [role, isAbsolute(rel) ? rel : rel.split(',').map((p) => join(prefix, p)).join(',')]),
    );
    return { ...layout, files };
  }
  scan = createScan(dirname(path), [basename(path)], []);
  return recognizeScan(path, scan, hint);
};

const recognizeScan = async (path: string, scan: Scan, hint: { family?: Family; kind?: ModelKind }): Promise<Layout> => {
  if (hint.family) {
    const detector = detectors.find((d) => d.families.includes(hint.family!))!;
    const found = await detector.detect(scan, hint.family);
    if (isMissing(found)) {
      throw new AppError('not_supported', `'${path}' is not a complete ${hint.family} model: it ${found.missing}. Found: ${describeFound(scan.files, scan.dirs)}.`, {
        hint: 'Check that every file of the model was downloaded or unpacked, or name a catalog model.',
      });
    }
    return toLayout({ ...found, family: hint.family }, hint.kind);
  }
  const tried: string[] = [];
  for (const detector of detectors) {
    const kinds = new Set(detector.families.map((f) => familyKinds[f]));
    if (hint.kind && !kinds.has(hint.kind) && !(hint.kind === 'embedding' && kinds.has('llm'))) continue;
    const found = await detector.detect(scan);
    if (isMissing(found)) {
      tried.push(`${detector.families.join('/')} (${found.missing})`);
      continue;
    }
    const layout = toLayout(found, hint.kind);
    if (hint.kind && layout.kind !== hint.kind) {
      tried.push(`${found.family} (${withArticle(layout.kind)} model, not ${withArticle(hint.kind)} one)`);
      continue;
    }
    return layout;
  }
  throw notSupported(path, scan, tried);
};
