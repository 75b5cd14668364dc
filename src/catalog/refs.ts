import { UsageError } from '../errors.js';
import type { ArchiveType, ModelFile } from './schema.js';

/**
 * Pure helpers for the ways a user can name a model that is not in the
 * catalog: `hf:owner/repo/path[@revision]` URIs, http(s) URLs and local
 * paths. The store uses them too, so they touch neither disk nor network.
 */

/** An `hf:` URI taken apart. */
export interface HfUri {
  readonly owner: string;
  readonly repo: string;
  /** The file's path inside the repository, e.g. `Qwen3-0.6B-Q8_0.gguf` or `onnx/model.onnx`. */
  readonly path: string;
  /** Branch, tag or commit; `main` when the URI names none. */
  readonly revision: string;
  /** The download URL: `https://huggingface.co/<owner>/<repo>/resolve/<revision>/<path>`. */
  readonly url: string;
}

/** True when `ref` is an `hf:` URI (any case). */
export const isHfUri = (ref: string): boolean => /^hf:/i.test(ref.trim());

/** True when `ref` is an http or https URL. */
export const isHttpUrl = (ref: string): boolean => /^https?:\/\//i.test(ref.trim());

/**
 * Parses `hf:owner/repo/path/to/file` or `hf:owner/repo/path/to/file@revision`
 * into its parts and its `resolve` URL. Throws UsageError when the URI names
 * no file (`hf:owner/repo:quant` is parseHfQuantUri's).
 */
export const parseHfUri = (uri: string): HfUri => {
  const body = uri.trim().replace(/^hf:/i, '').replace(/^\/+/, '');
  const example = 'hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf';
  const [owner, repo, ...rest] = body.split('/');
  let path = rest.join('/');
  let revision = 'main';
  const at = path.lastIndexOf('@');
  if (at >= 0) {
    revision = path.slice(at + 1);
    path = path.slice(0, at);
  }
  if (!owner || !repo || !path || !revision || repo.includes(':') || path.endsWith('/')) {
    throw new UsageError(`'${uri}' is not a usable hf: URI; it must name a file (hf:owner/repo/path/to/file[@revision]) or a quantization (hf:owner/repo:Q4_K_M).`, {
      hint: `For example \`murmur pull ${example}\`.`,
      param: 'model',
    });
  }
  return { owner, repo, path, revision, url: hfResolveUrl(owner, repo, revision, path) };
};

/** Where a file of a Hugging Face repository downloads from: `https://huggingface.co/<owner>/<repo>/resolve/<revision>/<path>`. */
const hfResolveUrl = (owner: string, repo: string, revision: string, path: string): string =>
  `https://huggingface.co/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;

/**
 * `hf:owner/repo:QUANT[@revision]`: one quantization of a GGUF repository,
 * as node-llama-cpp and Ollama (`hf.co/owner/repo:Q4_K_M`) name it. The
 * file is found by listing the repository (see store/hf-quant.ts).
 */
export interface HfQuantUri {
  readonly owner: string;
  readonly repo: string;
  /** As typed, e.g. `Q4_K_M`. */
  readonly quant: string;
  readonly revision: string;
  /** The repository's file list: Hugging Face's tree API. */
  readonly listUrl: string;
  /** Where a file of it downloads from, by its path in the repository. */
  readonly fileUrl: (path: string) => string;
}

/** Parses `hf:owner/repo:QUANT[@revision]`; undefined for any other form. */
export const parseHfQuantUri = (uri: string): HfQuantUri | undefined => {
  const match = /^hf:\/*([^/\s:@]+)\/([^/\s:@]+):([^/\s:@]+)(?:@([^/\s:@]+))?$/i.exec(uri.trim());
  if (!match) return undefined;
  const [, owner, repo, quant, revision = 'main'] = match as unknown as [string, string, string, string, string | undefined];
  return {
    owner,
    repo,
    quant,
    revision,
    listUrl: `https://huggingface.co/api/models/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/tree/${encodeURIComponent(revision)}?recursive=true`,
    fileUrl: (path) => hfResolveUrl(owner, repo, revision, path),
  };
};

const archiveSuffixes: readonly (readonly [string, ArchiveType])[] = [
  ['.tar.bz2', 'tar.bz2'],
  ['.tbz2', 'tar.bz2'],
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
  ['.tar', 'tar'],
];

/** Extensions dropped when a model's name is derived from its file name, longest first. */
const strippedExtensions = [...archiveSuffixes.map(([suffix]) => suffix), '.gguf', '.onnx', '.ort', '.bin', '.safetensors'];

/** The last path segment of a URL (query and fragment dropped, percent-decoding applied) or of a file path. */
export const baseNameOf = (pathOrUrl: string): string => {
  let value = pathOrUrl.trim();
  if (isHttpUrl(value)) {
    try {
      value = decodeURIComponent(new URL(value).pathname);
    } catch {
      value = value.replace(/[?#].*$/, '');
    }
  } else if (isHfUri(value)) {
    value = value.replace(/@[^/]*$/, '');
  }
  const segments = value.split(/[\\/]+/).filter(Boolean);
  return segments.at(-1) ?? '';
};

/** The archive type of a URL or file name from its extension (`.tar.bz2`, `.tar.gz`, `.tgz`, `.tar`), or undefined. */
export const archiveTypeOf = (pathOrUrl: string): ArchiveType | undefined => {
  const base = baseNameOf(pathOrUrl).toLowerCase();
  return archiveSuffixes.find(([suffix]) => base.endsWith(suffix))?.[1];
};

/**
 * Turns a file or folder name into a store name: drops one known extension
 * (.gguf, .onnx, .tar.bz2, …), lower-cases it and replaces characters other
 * than a-z, 0-9, '.', '_' and '-' with '-'. E.g. `Qwen3-0.6B-Q8_0.gguf` →
 * `qwen3-0.6b-q8_0`. Returns `model` when nothing usable is left.
 */
export const sanitizeModelName = (fileName: string): string => {
  let base = fileName;
  const lower = base.toLowerCase();
  const extension = strippedExtensions.find((ext) => lower.endsWith(ext) && lower.length > ext.length);
  if (extension) base = base.slice(0, -extension.length);
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-.]+$/, '');
  return name || 'model';
};

/** The store name for an hf: URI, URL or local path: its base name through sanitizeModelName. */
export const deriveModelName = (ref: string): string => sanitizeModelName(baseNameOf(ref));

/** The single download a remote reference stands for: its URL, plus `archive` when the name says it is one. */
export const remoteFile = (url: string): ModelFile => {
  const archive = archiveTypeOf(url);
  return archive ? { url, archive } : { url, path: baseNameOf(url) };
};
