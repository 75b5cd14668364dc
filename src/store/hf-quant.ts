import type { HfQuantUri } from '../catalog/refs.js';
import type { ModelFile } from '../catalog/schema.js';
import { DownloadError } from '../errors.js';
import { openSource, sourceFor } from './mirror.js';

/** One entry of Hugging Face's tree API (`/api/models/owner/repo/tree/rev`). */
interface TreeEntry {
  readonly type?: string;
  readonly path?: string;
  readonly size?: number;
  /** Present for LFS files: their sha256 and size. */
  readonly lfs?: { readonly oid?: string; readonly size?: number };
}

const SPLIT = /-(\d{5})-of-\d{5}(?=\.gguf$)/i;
const LISTING_LIMIT = 16 * 1024 * 1024;

/** Reads a small JSON document (through MURMUR_MIRROR like any download). */
const fetchJson = async (url: string, mirror: string | undefined, signal?: AbortSignal, publicOnly = false): Promise<unknown> => {
  const opened = await openSource(sourceFor(url, mirror, publicOnly), 0, undefined, signal);
  const parts: Buffer[] = [];
  let size = 0;
  await opened.body
    ?.forEach((chunk) => {
      size += chunk.length;
      if (size > LISTING_LIMIT) opened.body!.discard();
      else parts.push(Buffer.from(chunk));
    })
    .catch((error: unknown) => {
      if (size <= LISTING_LIMIT) throw error;
    });
  if (size > LISTING_LIMIT) throw new DownloadError(`The file list at ${url} is larger than ${LISTING_LIMIT} bytes.`);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  } catch (error) {
    throw new DownloadError(`The file list at ${url} is not JSON.`, { cause: error });
  }
};

/**
 * Whether a GGUF file name carries the quantization typed: its name, cut at
 * '-' and '.', holds the quantization's own pieces in a row, ignoring case
 * (`Qwen3-0.6B-Q4_K_M.gguf` carries `Q4_K_M`, `gemma-3-UD-Q4_K_XL.gguf`
 * carries `UD-Q4_K_XL`). '_' does not cut: `Q4_K` is not `Q4_K_M`.
 */
const namesQuant = (path: string, quant: string): boolean => {
  const pieces = (text: string) => text.toLowerCase().split(/[-.]/).filter(Boolean);
  const name = pieces((path.split('/').at(-1) ?? path).replace(SPLIT, '').replace(/\.gguf$/i, ''));
  const wanted = pieces(quant);
  return wanted.length > 0 && name.some((_, i) => wanted.every((piece, j) => name[i + j] === piece));
};

/**
 * The files of one quantization of a GGUF repository: lists the repository,
 * keeps the .gguf files (projectors aside) whose name carries `quant`, and
 * takes the one at the shallowest path, or all parts of a split model in
 * order. Sizes and sha256 come from the listing's LFS entries, so the pull
 * verifies them. Errors name the quantizations the repository has.
 */
export const quantFiles = async (uri: HfQuantUri, mirror: string | undefined, signal?: AbortSignal, publicOnly = false): Promise<ModelFile[]> => {
  const repo = `${uri.owner}/${uri.repo}`;
  let listing: unknown;
  try {
    listing = await fetchJson(uri.listUrl, mirror, signal, publicOnly);
  } catch (error) {
    if (error instanceof DownloadError && /^Not found at/.test(error.message)) {
      throw new DownloadError(`Hugging Face has no repository ${repo}${uri.revision === 'main' ? '' : ` at revision ${uri.revision}`}.`, {
        hint: 'Check the owner and name (they are case-sensitive), or name a file: hf:owner/repo/file.gguf.',
        cause: error,
      });
    }
    throw error;
  }
  if (!Array.isArray(listing)) throw new DownloadError(`The file list of ${repo} is not a list.`);
  const ggufs = (listing as TreeEntry[]).filter(
    (entry): entry is TreeEntry & { path: string } => entry?.type === 'file' && typeof entry.path === 'string' && /\.gguf$/i.test(entry.path) && !/mmproj/i.test(entry.path),
  );
  const matching = ggufs.filter((entry) => namesQuant(entry.path, uri.quant));
  if (!matching.length) {
    const names = ggufs.map((entry) => entry.path.replace(SPLIT, ''));
    throw new DownloadError(`${repo} has no GGUF file for '${uri.quant}'.`, {
      hint: names.length
        ? `Its GGUF files: ${[...new Set(names)].slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}.`
        : `${repo} holds no GGUF file at all.`,
    });
  }
  // The shallowest folder first (repositories put the main files at the top), then the split set of the first match.
  const depth = (path: string) => path.split('/').length;
  const first = [...matching].sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path))[0]!;
  const stem = first.path.replace(SPLIT, '');
  const chosen = SPLIT.test(first.path)
    ? matching.filter((entry) => entry.path.replace(SPLIT, '') === stem).sort((a, b) => a.path.localeCompare(b.path))
    : [first];
  return chosen.map((entry) => {
    const size = entry.lfs?.size ?? entry.size;
    const sha256 = entry.lfs?.oid;
    return {
      url: uri.fileUrl(entry.path),
      path: entry.path.split('/').at(-1)!,
      ...(typeof size === 'number' && size > 0 ? { size } : {}),
      ...(typeof sha256 === 'string' && /^[0-9a-f]{64}$/i.test(sha256) ? { sha256: sha256.toLowerCase() } : {}),
    };
  });
};
