import type { Readable } from 'node:stream';

/**
 * The text `murmur speak` says, as batches of whole sentences ready to
 * synthesize. From stdin, sentences are yielded as soon as they are complete
 * (a line ending counts as an end), so `tail -f log | murmur speak` speaks
 * each line as it comes; whatever is complete when the previous batch
 * finishes goes together, up to `maxCharacters`.
 */
export async function* sentenceBatches(source: string | Readable, maxCharacters = 4000): AsyncGenerator<string> {
  const { createSentenceSplitter } = await import('../../src/text/sentences.js');
  const splitter = createSentenceSplitter();
  const ready: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let failure: unknown;

  const add = (sentences: readonly string[]) => {
    for (const s of sentences) if (s.trim()) ready.push(s.trim());
    wake?.();
  };

  if (typeof source === 'string') {
    add(splitter.push(source));
    add(splitter.flush());
    ended = true;
  } else {
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      // A line is a unit of its own: text piped line by line is spoken line by line.
      const lines = chunk.split(/(?<=\n)/);
      for (const line of lines) {
        add(splitter.push(line));
        if (line.endsWith('\n')) add(splitter.flush());
      }
    });
    source.once('end', () => {
      add(splitter.flush());
      ended = true;
      wake?.();
    });
    source.once('error', (error) => {
      failure = error;
      ended = true;
      wake?.();
    });
  }

  for (;;) {
    if (failure) throw failure;
    if (ready.length) {
      let batch = ready.shift()!;
      while (ready.length && batch.length + 1 + ready[0]!.length <= maxCharacters) batch += ` ${ready.shift()!}`;
      yield batch;
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
