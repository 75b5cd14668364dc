import { open } from 'node:fs/promises';
import { AppError } from '../errors.js';

/** Larger than any real tokens file (whisper's is about 800 KB). */
const MAX_TOKENS_BYTES = 16 * 1024 * 1024;

const bad = (name: string, detail: string) =>
  new AppError('model_invalid', `The model's ${name} is not a tokens file: ${detail}.`, {
    hint: 'The download may be corrupt or the folder holds the wrong file; pull the model again from its source.',
    param: 'model',
  });

/**
 * Checks a sherpa-onnx tokens file before the model is installed: sherpa-onnx
 * aborts the whole process on one it cannot read (and an empty one hangs
 * every synthesis), so such a model is refused at pull instead. Each
 * non-empty line is `SYMBOL ID` (or a lone `ID`, for a symbol that is
 * itself a space), ids are whole numbers, none twice, and below the model's
 * `vocab_size` when its metadata says one.
 */
export const checkTokensFile = async (path: string, name: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> => {
  const file = await open(path, 'r');
  let text: string;
  try {
    const { size } = await file.stat();
    if (size > MAX_TOKENS_BYTES) throw bad(name, `it is ${size} bytes`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(await file.readFile());
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw bad(name, 'it is not UTF-8 text');
  } finally {
    await file.close();
  }
  const ids = new Set<number>();
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const fields = line.trim().split(/\s+/);
    const id = fields.at(-1)!;
    if (fields.length > 2 || !/^\d+$/.test(id)) throw bad(name, `line ${i + 1} is not "SYMBOL ID" (${JSON.stringify(line.slice(0, 40))})`);
    const n = Number(id);
    if (ids.has(n)) throw bad(name, `id ${n} appears twice (line ${i + 1})`);
    ids.add(n);
  }
  if (!ids.size) throw bad(name, 'it is empty');
  const vocab = Number(metadata.vocab_size);
  const highest = Math.max(...ids);
  if (Number.isInteger(vocab) && vocab > 0 && highest >= vocab) throw bad(name, `it has id ${highest}, but the model's vocabulary has ${vocab} entries`);
};
