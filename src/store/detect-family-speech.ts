import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Family } from '../types/models.js';

/*
 * The sherpa-onnx layouts: which files of an unpacked release archive play
 * which role. Role names are sherpa-onnx-node's config keys (model, tokens,
 * dataDir, voices, lexicon, acousticModel, vocoder, encoder, decoder, joiner,
 * preprocessor, uncachedDecoder, cachedDecoder, mergedDecoder) so an engine
 * maps them one to one. Paths are relative to the model's directory, except
 * a system espeak-ng-data fallback (absolute). `lexicon` and `ruleFsts` may be
 * comma-separated lists of relative paths, as sherpa-onnx takes them.
 * Sources: ../shared/catalog-sources.md §2–5 and sherpa-onnx's
 * offline-recognizer-impl.cc (the model_type values it dispatches on).
 */

/** What a detector sees of a model directory. */
export interface Scan {
  readonly dir: string;
  /** Plain file names at the top of `dir`. */
  readonly files: readonly string[];
  /** Sub-directory names at the top of `dir`. */
  readonly dirs: readonly string[];
  /** ONNX metadata of `name` (cached), or undefined when the file is not readable ONNX. */
  meta(name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

export interface Found {
  readonly family: Family;
  readonly files: Record<string, string>;
  readonly sampleRate?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Set where the files decide it (gguf: llm or embedding). */
  readonly kind?: 'llm' | 'embedding';
}
/** Why a layout did not fit: "needs voices.bin", … */
export interface Missing {
  readonly missing: string;
}
export type Detection = Found | Missing;

export interface Detector {
  /** The families this layout can produce; the first is its name in messages. */
  readonly families: readonly Family[];
  /** `family`, when given (a hint), is taken instead of what the metadata says. */
  detect(scan: Scan, family?: Family): Promise<Detection>;
}

/**
 * Where Debian/Ubuntu (multiarch), other Linux distributions and Homebrew put
 * espeak-ng-data. Used only when a model that needs espeak (Piper, Kokoro,
 * Kitten, Matcha) ships without its own `espeak-ng-data/`.
 */
export const SYSTEM_ESPEAK_NG_DATA_DIRS: readonly string[] = [
  '/usr/share/espeak-ng-data',
  '/usr/lib/x86_64-linux-gnu/espeak-ng-data',
  '/usr/lib/aarch64-linux-gnu/espeak-ng-data',
  '/usr/local/share/espeak-ng-data',
  '/opt/homebrew/share/espeak-ng-data',
];

/** The first system espeak-ng-data directory that exists (it holds `phontab`), or undefined. */
export const findSystemEspeakNgData = (): string | undefined =>
  SYSTEM_ESPEAK_NG_DATA_DIRS.find((dir) => existsSync(`${dir}/phontab`));

const precisionRank = (name: string): number =>
  /\.int8\./i.test(name) ? 0 : /\.fp16\./i.test(name) ? 2 : /\.fp32\./i.test(name) ? 3 : 1;

/**
 * The best file matching `pattern`. When both fp32 and int8 of the same part
 * exist we take `.int8.onnx`: it is several times smaller, faster on CPU and
 * what sherpa-onnx's own examples load, at a negligible accuracy cost.
 */
export const pick = (names: readonly string[], pattern: RegExp): string | undefined =>
  names
    .filter((name) => pattern.test(name))
    .sort((a, b) => precisionRank(a) - precisionRank(b) || a.length - b.length || a.localeCompare(b))[0];

/** True when a detection is a miss. */
export const isMissing = (d: Detection): d is Missing => 'missing' in d;

/** The .onnx files of a scan. */
export const onnxOf = (scan: Scan): string[] => scan.files.filter((f) => /\.onnx$/i.test(f));
/** tokens.txt, or `<name>-tokens.txt` as whisper archives have it. */
export const tokensOf = (scan: Scan): string | undefined => pick(scan.files, /(^|[-_.])tokens\.txt$/i);
/** The metadata's sample_rate as a number, else `fallback`. */
export const rate = (meta: Readonly<Record<string, string>> | undefined, fallback?: number): number | undefined => {
  const value = Number(meta?.sample_rate);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};
export const unreadable = (name: string): Missing => ({ missing: `${name} is not a readable ONNX model (truncated?)` });
export const needs = (...names: string[]): Missing => ({
  missing: `needs ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]}`,
});

/** phone, date, number first (the order sherpa-onnx's examples give), then any other .fst. */
const ruleFstsOf = (scan: Scan): string | undefined => {
  const order = (f: string) => ['phone', 'date', 'number'].findIndex((p) => f.startsWith(p));
  const fsts = scan.files
    .filter((f) => f.endsWith('.fst'))
    .sort((a, b) => (order(a) + 4) % 4 - (order(b) + 4) % 4 || a.localeCompare(b));
  return fsts.length ? fsts.join(',') : undefined;
};

/**
 * espeak-ng-data from the folder, else the system's (absolute), else
 * undefined. The folder's own copy always wins: it matches the model.
 */
const espeakOf = (scan: Scan): string | undefined =>
  scan.dirs.includes('espeak-ng-data') ? 'espeak-ng-data' : findSystemEspeakNgData();

/** The text front end of vits / matcha: dataDir (espeak), or lexicon (+ rule FSTs) for lexicon voices. */
const frontEnd = (scan: Scan, wantsEspeak: boolean): { files: Record<string, string> } | Missing => {
  const ruleFsts = ruleFstsOf(scan);
  const rules: Record<string, string> = ruleFsts ? { ruleFsts } : {};
  if (scan.dirs.includes('espeak-ng-data')) return { files: { dataDir: 'espeak-ng-data', ...rules } };
  if (scan.files.includes('lexicon.txt')) return { files: { lexicon: 'lexicon.txt', ...rules } };
  if (!wantsEspeak) return { files: {} };
  const system = findSystemEspeakNgData();
  return system ? { files: { dataDir: system } } : needs('espeak-ng-data/ (or a system espeak-ng-data)');
};

const kokoro: Detector = {
  families: ['kokoro', 'kitten'],
  async detect(scan, forced) {
    const model = pick(onnxOf(scan), /^model[^/]*\.onnx$/i);
    const tokens = tokensOf(scan);
    if (!model || !scan.files.includes('voices.bin') || !tokens) return needs('model.onnx', 'voices.bin', 'tokens.txt');
    const meta = await scan.meta(model);
    if (!meta) return unreadable(model);
    const lexicons = scan.files.filter((f) => /^lexicon.*\.txt$/.test(f));
    const type = meta.model_type ?? '';
    const inferred: Family = type.startsWith('kitten')
      ? 'kitten'
      : type === 'kokoro' || lexicons.length || scan.dirs.includes('dict')
        ? 'kokoro'
        : /\.fp(16|32)\./.test(model) || /kitten/i.test(basename(scan.dir))
          ? 'kitten'
          : 'kokoro';
    const family = forced ?? inferred;
    const dataDir = espeakOf(scan);
    if (!dataDir) return needs('espeak-ng-data/');
    const files: Record<string, string> = { model, voices: 'voices.bin', tokens, dataDir };
    if (family === 'kokoro') {
      // Kokoro 1.0 ships lexicon-us-en, -gb-en and -zh; sherpa-onnx's example passes us-en + zh,
      // and two English lexicons would only shadow each other.
      const chosen = lexicons.includes('lexicon-us-en.txt') ? lexicons.filter((f) => f !== 'lexicon-gb-en.txt') : lexicons;
      if (chosen.length) files.lexicon = chosen.join(',');
      if (scan.dirs.includes('dict')) files.dictDir = 'dict';
      const ruleFsts = ruleFstsOf(scan);
      if (ruleFsts) files.ruleFsts = ruleFsts;
    }
    return { family, files, sampleRate: rate(meta, 24000), metadata: meta };
  },
};

const matcha: Detector = {
  families: ['matcha'],
  async detect(scan) {
    const onnx = onnxOf(scan);
    const vocoder = pick(onnx, /(vocos|hifigan|vocoder)/i);
    const acousticModel = pick(
      onnx.filter((f) => f !== vocoder),
      /^model-steps|matcha/i,
    );
    const tokens = tokensOf(scan);
    if (!acousticModel || !vocoder || !tokens) return needs('model-steps-*.onnx', 'a vocoder (vocos-*.onnx / hifigan_*.onnx)', 'tokens.txt');
    const meta = await scan.meta(acousticModel);
    if (!meta) return unreadable(acousticModel);
    const front = frontEnd(scan, true);
    if ('missing' in front) return front;
    return { family: 'matcha', files: { acousticModel, vocoder, tokens, ...front.files }, sampleRate: rate(meta, 22050), metadata: meta };
  },
};

/** sherpa-onnx's model_type values for the one-model-plus-tokens layouts. */
const singleFamilyOf = (meta: Readonly<Record<string, string>>, scan: Scan): Family | undefined => {
  const type = meta.model_type ?? '';
  if (type === 'vits' || ['piper', 'coqui', 'mms'].includes(meta.comment ?? '')) return 'vits';
  if (type.startsWith('sense_voice') || 'lang_zh' in meta) return 'sense-voice';
  if (type === 'paraformer' || 'lfr_window_size' in meta) return 'paraformer';
  if (['EncDecCTCModelBPE', 'EncDecCTCModel', 'EncDecHybridRNNTCTCBPEModel', 'nemo_ctc'].includes(type)) return 'nemo-ctc';
  if (type === 'zipformer2_ctc') return 'zipformer-ctc';
  if (type === 'tdnn') return 'tdnn';
  // TTS metadata without a model_type (e.g. a character-based VITS): a sample rate plus TTS keys.
  if ('sample_rate' in meta && ('frontend' in meta || 'add_blank' in meta || 'n_speakers' in meta)) return 'vits';
  if (scan.dirs.includes('espeak-ng-data') || scan.files.includes('lexicon.txt')) return 'vits';
  return undefined;
};

const single: Detector = {
  families: ['vits', 'sense-voice', 'paraformer', 'nemo-ctc', 'zipformer-ctc', 'tdnn'],
  async detect(scan, forced) {
    const onnx = onnxOf(scan).filter((f) => !/vad|vocos|hifigan|vocoder/i.test(f));
    const groups = [...new Set(onnx.map((f) => f.replace(/\.(int8|fp16|fp32)\.onnx$/i, '.onnx')))];
    const group = groups.length === 1 ? groups[0] : groups.find((g) => g === 'model.onnx');
    const tokens = tokensOf(scan);
    if (!group || !tokens) return needs(groups.length > 1 ? `one model .onnx (found ${groups.join(', ')})` : 'a model .onnx', 'tokens.txt');
    const model = pick(onnx, new RegExp(`^${group.replace(/\.onnx$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.(int8|fp16|fp32))?\\.onnx$`))!;
    const meta = await scan.meta(model);
    if (!meta) return unreadable(model);
    const family = forced ?? singleFamilyOf(meta, scan);
    if (!family) return { missing: `${model} has no model_type metadata telling vits, sense-voice, paraformer, nemo-ctc, zipformer-ctc or tdnn apart` };
    if (family !== 'vits') {
      return { family, files: { model, tokens }, sampleRate: rate(meta, family === 'tdnn' ? 8000 : 16000), metadata: meta };
    }
    const wantsEspeak = meta.comment === 'piper' || ('voice' in meta && meta.frontend !== 'characters');
    const front = frontEnd(scan, wantsEspeak);
    if ('missing' in front) return front;
    return { family, files: { model, tokens, ...front.files }, sampleRate: rate(meta), metadata: meta };
  },
};

export const ttsDetectors: readonly Detector[] = [matcha, kokoro];
export const singleModelDetector: Detector = single;
