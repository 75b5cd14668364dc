import { open, type FileHandle } from 'node:fs/promises';
import type { TranscribeResult, TranscriptSegment } from '../../src/types/transcript.js';
import { srtCue, VTT_HEADER, vttCue, type TranscriptFormat } from '../../src/text/subtitles.js';
import { toTranscriptionJson, toTranscriptionVerbose } from '../../src/api/openai/transcription-response.js';
import { AppError } from '../../src/errors.js';
import type { TranscriptionTask } from '../../src/api/openai/transcription-request.js';

/** What `transcribe --format` takes: the daemon's formats plus jsonl (one JSON object per segment, as decoded). */
export type OutputFormat = TranscriptFormat | 'jsonl';
export const outputFormats: readonly OutputFormat[] = ['text', 'json', 'verbose_json', 'jsonl', 'srt', 'vtt'];

/** json and verbose_json are one object each: written whole once the file is done. Every other format is written segment by segment. */
export const streams = (format: OutputFormat): boolean => format !== 'json' && format !== 'verbose_json';

/** Where a transcript goes: a file opened on the first write (so a run that fails before any segment leaves none), or a stream. */
export type Destination = { readonly path: string } | { readonly stream: { write(text: string): unknown } };

export interface TranscriptWriter {
  /** Called with each segment as it is decoded (synchronously, from the runtime's onSegment). */
  segment(segment: TranscriptSegment): void;
  /** Writes what is left once the whole file is decoded (json formats: all of it). */
  finish(result: TranscribeResult): Promise<void>;
  /** Waits for every write and closes the file; rethrows a write error. Call it on every path, interrupted or not. */
  close(): Promise<void>;
}

export interface WriterOptions {
  readonly format: OutputFormat;
  /** The input as scripts should see it ("-" for stdin). */
  readonly file: string;
  readonly task: TranscriptionTask;
  /** A line naming the input, written before its transcript (several inputs on stdout, text-like formats). */
  readonly header?: string;
}

/**
 * Writes one input's transcript to `destination` as it is decoded: text a
 * line per segment, srt and vtt cue by cue (numbered as they come), jsonl an
 * object per segment; json and verbose_json whole at the end. Writes are
 * queued in order and awaited by close(), so an interrupted run still has
 * every finished segment on disk.
 */
export const createTranscriptWriter = (destination: Destination, options: WriterOptions): TranscriptWriter => {
  const { format, file } = options;
  let handle: Promise<FileHandle> | undefined;
  let queue: Promise<void> = Promise.resolve();
  let failure: unknown;
  let count = 0;
  let started = false;

  const opening = (path: string) => {
    if (handle) return handle;
    handle = open(path, 'w');
    handle.catch(() => {}); // awaited by the queue and close(); not unhandled meanwhile
    return handle;
  };
  const write = (text: string) => {
    if (!text) return;
    if ('stream' in destination) return void destination.stream.write(text);
    const opened = opening(destination.path);
    queue = queue.then(async () => void (await (await opened).write(text))).catch((error: unknown) => void (failure ??= error));
  };
  const begin = () => {
    if (started) return;
    started = true;
    write(`${options.header ?? ''}${format === 'vtt' ? VTT_HEADER : ''}`);
  };
  const ensureFile = () => {
    if ('path' in destination) opening(destination.path);
  };

  return {
    segment: (segment) => {
      if (!streams(format)) return;
      begin();
      count += 1;
      const gap = count > 1 ? '\n' : '';
      if (format === 'text') write(`${segment.text.trim()}\n`);
      else if (format === 'srt') write(`${gap}${srtCue(segment, count)}`);
      else if (format === 'vtt') write(`${gap}${vttCue(segment)}`);
      else write(`${JSON.stringify({ file, id: segment.id, start: segment.start, end: segment.end, text: segment.text, ...(segment.words ? { words: segment.words } : {}) })}\n`);
    },
    finish: async (result) => {
      begin();
      if (format === 'json') write(`${JSON.stringify({ file, ...toTranscriptionJson(result) })}\n`);
      else if (format === 'verbose_json') write(`${JSON.stringify({ file, ...toTranscriptionVerbose(result, options.task, ['segment', 'word']) }, null, 2)}\n`);
      // A transcript with no speech is still a file (an empty one, or a WebVTT header).
      ensureFile();
    },
    close: async () => {
      await queue;
      try {
        if (handle) await (await handle).close();
        if (failure) throw failure;
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message;
        throw new AppError('invalid_request', `Cannot write '${(destination as { path: string }).path}': ${reason}.`, { cause: error });
      }
    },
  };
};
