import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { AudioFormat } from '../../src/audio/encode.js';
import { formatFromPath } from '../../src/audio/formats.js';
import { AppError } from '../../src/errors.js';

/** A file-system error in a few words ("no such file", "permission denied"), for a one-line message. */
export const fsReason = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    EEXIST: 'a file of that name exists',
    ENOSPC: 'no space left on the device',
  };
  return (code && reasons[code]) ?? (error as Error).message;
};

const readBatchFile = async (file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('invalid_request', `Cannot read the batch file '${file}': ${fsReason(error)}.`, {
      hint: 'Pass --batch a text file with one utterance a line (or JSONL: {"text": …} a line).',
      cause: error,
    });
  }
};

/** One utterance of a batch file. */
export interface BatchItem {
  /** 1-based line number in the batch file. */
  readonly line: number;
  readonly text: string;
  readonly voice?: string;
  readonly speed?: number;
  /** Output path inside the output directory. */
  readonly out: string;
  readonly format: AudioFormat;
}

/** A line that could not be read as an utterance. */
export interface BatchProblem {
  readonly line: number;
  readonly message: string;
}

export interface BatchPlan {
  readonly items: BatchItem[];
  readonly problems: BatchProblem[];
  /** Things read but not used (a JSONL key murmur does not know), one per key name. */
  readonly warnings: string[];
}

/** The keys a JSONL batch line may have. */
export const BATCH_KEYS = ['text', 'voice', 'out', 'speed'] as const;

/**
 * Reads a batch file: JSON Lines (`{"text", "voice"?, "out"?, "speed"?}`,
 * when the file ends in .jsonl/.ndjson or its first utterance line starts
 * with `{`) or plain text, one utterance a line. Blank lines are skipped.
 * Outputs are named by line number (`0001.wav`) unless `out` says
 * otherwise, so names are stable and a re-run finds what it made before.
 */
export const readBatch = async (file: string, format: AudioFormat = 'wav'): Promise<BatchPlan> => {
  const text = await readBatchFile(file);
  const lines = text.split(/\r?\n/);
  const jsonl = /\.(jsonl|ndjson)$/i.test(file) || lines.find((l) => l.trim())?.trim().startsWith('{') === true;
  const width = Math.max(4, String(lines.length).length);
  const items: BatchItem[] = [];
  const problems: BatchProblem[] = [];
  const seen = new Map<string, number>();
  const unknown = new Map<string, number[]>();

  lines.forEach((raw, index) => {
    const line = index + 1;
    if (!raw.trim()) return;
    const numbered = `${String(line).padStart(width, '0')}.${format}`;
    let item: BatchItem;
    if (!jsonl) {
      item = { line, text: raw.trim(), out: numbered, format };
    } else {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        problems.push({ line, message: `not valid JSON (${(error as Error).message})` });
        return;
      }
      const entry = value as { text?: unknown; voice?: unknown; out?: unknown; speed?: unknown };
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const key of Object.keys(value)) if (!(BATCH_KEYS as readonly string[]).includes(key)) unknown.set(key, [...(unknown.get(key) ?? []), line]);
      }
      if (!value || typeof value !== 'object' || typeof entry.text !== 'string' || !entry.text.trim()) {
        problems.push({ line, message: 'needs a non-empty "text" string' });
        return;
      }
      if (entry.voice !== undefined && typeof entry.voice !== 'string') return void problems.push({ line, message: '"voice" must be a string' });
      if (entry.speed !== undefined && typeof entry.speed !== 'number') return void problems.push({ line, message: '"speed" must be a number' });
      let out = numbered;
      let itemFormat = format;
      if (entry.out !== undefined) {
        if (typeof entry.out !== 'string' || !entry.out.trim()) return void problems.push({ line, message: '"out" must be a file name' });
        const name = normalize(entry.out);
        if (isAbsolute(name) || name.startsWith('..')) return void problems.push({ line, message: `"out" must stay inside the output directory, not '${entry.out}'` });
        const named = formatFromPath(name);
        itemFormat = named ?? format;
        out = named ? name : `${name}.${format}`;
      }
      item = { line, text: entry.text, out, format: itemFormat, ...(entry.voice ? { voice: entry.voice } : {}), ...(entry.speed !== undefined ? { speed: entry.speed } : {}) };
    }
    const earlier = seen.get(item.out);
    if (earlier !== undefined) return void problems.push({ line, message: `writes ${item.out}, as line ${earlier} already does` });
    seen.set(item.out, line);
    items.push(item);
  });
  const lineList = (lines: number[]) => (lines.length > 5 ? `${lines.slice(0, 5).join(', ')} and ${lines.length - 5} more` : lines.join(', '));
  const warnings = [...unknown].map(
    ([key, at]) => `"${key}" (line${at.length > 1 ? 's' : ''} ${lineList(at)}) is not a batch key, so it is ignored; the keys are ${BATCH_KEYS.map((k) => `"${k}"`).join(', ')}.`,
  );
  return { items, problems, warnings };
};

/** The output path of an item inside `dir`. */
export const outputOf = (dir: string, item: BatchItem): string => join(dir, item.out);
