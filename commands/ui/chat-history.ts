import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The chat's input history kept between sessions (MURMUR_HOME/chat_history),
 * as shells and `ollama run` keep theirs: one input a line, written as a
 * JSON string so a multi-line message stays one entry. The file is only
 * the user's own text, readable by the user alone.
 */

/** The most inputs kept; older ones are dropped when the chat starts. */
export const HISTORY_LIMIT = 1000;

const decode = (line: string): string | undefined => {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'string' ? value : undefined;
  } catch {
    // A line written by hand (or by an older murmur) is taken as it is.
    return line;
  }
};

/** The inputs of earlier sessions, oldest first (none when the file is missing or unreadable). */
export const readHistory = async (file: string): Promise<string[]> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter(Boolean);
  const entries = lines.map(decode).filter((entry): entry is string => entry !== undefined && entry !== '');
  const kept = entries.slice(-HISTORY_LIMIT);
  if (lines.length > HISTORY_LIMIT) {
    await writeFile(file, kept.map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 }).catch(() => undefined);
  }
  return kept;
};

/** Adds one input at the end; a history that cannot be written is not worth interrupting the chat for. */
export const appendHistory = async (file: string, entry: string): Promise<void> => {
  try {
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  } catch {
    // Read-only home, full disk: the chat goes on without it.
  }
};
