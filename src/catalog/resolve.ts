import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { distance } from 'fastest-levenshtein';
import { AppError, ModelNotFoundError } from '../errors.js';
import type { Catalog } from './catalog.js';
import { deriveModelName, isHfUri, isHttpUrl, parseHfQuantUri, parseHfUri, remoteFile, sanitizeModelName, type HfQuantUri } from './refs.js';
import type { CatalogEntry, ModelFile } from './schema.js';

/** What a model reference typed by a user stands for. */
export type ModelRef =
  | { readonly type: 'catalog'; readonly name: string; readonly entry: CatalogEntry }
  | {
      readonly type: 'remote';
      /** Derived from the file name, e.g. `qwen3-0.6b-q8_0`. */
      readonly name: string;
      /** What the user typed: an hf: URI or a URL. */
      readonly source: string;
      /** Empty for `quant`, whose files are found by listing the repository when it is pulled. */
      readonly files: ModelFile[];
      readonly quant?: HfQuantUri;
    }
  | {
      readonly type: 'local';
      /** Derived from the file or folder name. */
      readonly name: string;
      /** Absolute path of the file or directory. */
      readonly path: string;
    };

export interface ResolveOptions {
  /** Base for relative paths; defaults to process.cwd(). */
  readonly cwd?: string;
  /** What `~` expands to; defaults to the user's home directory. */
  readonly home?: string;
}

/** True for refs written as paths: absolute, `./x`, `../x`, `~` or `~/x` (and their Windows spellings). */
const looksLikePath = (ref: string): boolean =>
  isAbsolute(ref) || /^\.{1,2}([\\/]|$)/.test(ref) || /^~([\\/]|$)/.test(ref) || /^[a-zA-Z]:[\\/]/.test(ref);

const exists = (path: string): boolean => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

const toAbsolute = (ref: string, options: ResolveOptions): string => {
  if (/^~([\\/]|$)/.test(ref)) return resolvePath(options.home ?? homedir(), ref.slice(2));
  return resolvePath(options.cwd ?? process.cwd(), ref);
};

const local = (path: string): ModelRef => ({ type: 'local', name: deriveModelName(path), path });

/**
 * Resolves a model reference against `catalog`, in this order: `hf:` URI,
 * http(s) URL, explicit path (absolute, ./, ../, ~/), catalog name or alias
 * (case-insensitive), then any relative path that exists. Throws
 * ModelNotFoundError with close catalog names when nothing matches, and
 * AppError('model_not_found') when an explicit path does not exist.
 */
export const resolveRef = (ref: string, catalog: Pick<Catalog, 'find' | 'suggest'>, options: ResolveOptions = {}): ModelRef => {
  const value = ref.trim();
  if (isHfUri(value)) {
    const quant = parseHfQuantUri(value);
    // `hf:unsloth/Qwen3-0.6B-GGUF:Q4_K_M` is stored as `qwen3-0.6b-q4_k_m`.
    if (quant) return { type: 'remote', name: sanitizeModelName(`${quant.repo.replace(/[-_.]gguf$/i, '')}-${quant.quant}`), source: value, files: [], quant };
    const hf = parseHfUri(value);
    return { type: 'remote', name: deriveModelName(hf.path), source: value, files: [remoteFile(hf.url)] };
  }
  if (isHttpUrl(value)) {
    return { type: 'remote', name: deriveModelName(value), source: value, files: [remoteFile(value)] };
  }
  if (looksLikePath(value)) {
    const path = toAbsolute(value, options);
    if (exists(path)) return local(path);
    throw new AppError('model_not_found', `No file or directory at '${path}'.`, {
      hint: 'Check the path, or name a catalog model (`murmur list --all`), an hf:owner/repo/file URI or a URL.',
      param: 'model',
    });
  }
  const entry = value ? catalog.find(value) : undefined;
  if (entry) return { type: 'catalog', name: entry.name, entry };
  if (value) {
    const path = toAbsolute(value, options);
    if (exists(path)) return local(path);
  }
  throw new ModelNotFoundError(value || ref, value ? catalog.suggest(value) : []);
};

// Suggestions for names that resolve to nothing.

/** Lower-cased with '-', '_', '.' and spaces removed, so `qwen-3` and `Qwen3` compare equal. */
const squash = (value: string): string => value.toLowerCase().replace(/[-_.\s]/g, '');

/**
 * How far `candidate` is from `query`: the edit distance (the smaller of the
 * plain and the punctuation-free comparison), or, when one contains the
 * other, a score just above an exact match that grows with the length
 * difference so closer prefixes come first. Undefined when not close.
 */
const score = (query: string, candidate: string): number | undefined => {
  const q = query.toLowerCase();
  const c = candidate.toLowerCase();
  const sq = squash(q);
  const sc = squash(c);
  const edit = Math.min(distance(q, c), distance(sq, sc));
  const allowed = Math.max(1, Math.floor(q.length / 3));
  let best = edit <= allowed ? edit : undefined;
  if (sq.length >= 3 && sc.length >= 3 && (sc.includes(sq) || sq.includes(sc))) {
    // A candidate extending the query ranks just after an exact match (prefixes
    // first, shorter first); one the query extends (a generic alias) after edits of 1.
    const base = sc.includes(sq) ? 0.5 : 1.5;
    const contained = base + (sc.startsWith(sq) || sq.startsWith(sc) ? 0 : 0.25) + Math.abs(sc.length - sq.length) / 1000;
    best = best === undefined ? contained : Math.min(best, contained);
  }
  return best;
};

/**
 * The candidates closest to `query`, best first: Levenshtein distance
 * (fastest-levenshtein) within a third of the query's length, plus
 * candidates that contain the query or that it contains. At most `limit`;
 * ties keep the order of `candidates`.
 */
/** Names longer than this get no suggestions (they are not typos of a model name). */
const MAX_SUGGEST_LENGTH = 256;

export const closestNames = (query: string, candidates: Iterable<string>, limit = 3): string[] => {
  // No model name is this long: a suggestion costs length² per candidate, so a megabyte of "name" would cost seconds per 404.
  if (query.length > MAX_SUGGEST_LENGTH) return [];
  const scored = new Map<string, number>();
  for (const candidate of candidates) {
    const value = score(query, candidate);
    if (value === undefined) continue;
    const previous = scored.get(candidate);
    if (previous === undefined || value < previous) scored.set(candidate, value);
  }
  return [...scored]
    // Stable: on a tie the earlier candidate wins (the catalog lists names before aliases).
    .sort(([a, sa], [b, sb]) => sa - sb || a.length - b.length)
    .slice(0, Math.max(0, limit))
    .map(([name]) => name);
};
