import { access, constants, mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Runtime } from '../../src/runtime/types.js';
import type { TranscribeResult } from '../../src/types/transcript.js';
import { AppError, abortReason, UsageError } from '../../src/errors.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { WHISPER_LANGUAGES } from '../../src/engines/speech/asr-languages.js';
import type { CommandContext } from '../context.js';
import { chooseModel, ensureInstalled } from './model-choice.js';
import { createTranscriptWriter, type OutputFormat, type TranscriptWriter } from './transcript-writer.js';
import { createTranscribeProgress } from './transcribe-progress.js';

export interface TranscribeFlags {
  readonly model?: string;
  readonly language?: string;
  /** --format as given; undefined: from -o's extension, else text. */
  readonly format?: OutputFormat;
  readonly output?: string;
  readonly outDir?: string;
  readonly vad?: boolean;
  readonly vadModel?: string;
  readonly translate?: boolean;
  readonly json?: boolean;
}

/** The transcriber: the one named, else MURMUR_ASR_MODEL, else the catalog default or another installed asr model, pulled if missing. */
export const chooseAsr = (ctx: CommandContext, runtime: Runtime, named: string | undefined): Promise<string> =>
  chooseModel(ctx, runtime, { named, configured: runtime.config.asrModel, role: 'asr', kind: 'asr', label: 'speech-to-text model' });

/**
 * The VAD setting for the request: off with --no-vad; with --vad or
 * --vad-model, that model (the catalog default for a bare --vad), pulled if
 * missing; otherwise left to the runtime (an installed VAD for long audio).
 */
export const chooseVad = async (ctx: CommandContext, runtime: Runtime, flags: TranscribeFlags): Promise<boolean | string | undefined> => {
  if (flags.vad === false) return false;
  if (flags.vad !== true && !flags.vadModel) return undefined;
  const name = flags.vadModel ?? (await loadCatalog({ userPath: runtime.config.catalog })).defaultFor('vad')?.name;
  if (!name) throw new UsageError('--vad needs a VAD model, and the catalog names no default.', { hint: 'Name one with --vad-model.' });
  return ensureInstalled(ctx, runtime, name, `The voice-activity model ${name} is not installed`);
};

/** The formats each -o extension stands for (the first when --format is not given). */
const byExtension: Record<string, readonly OutputFormat[]> = {
  '.txt': ['text'],
  '.srt': ['srt'],
  '.vtt': ['vtt'],
  '.json': ['json', 'verbose_json'],
  '.jsonl': ['jsonl'],
  '.ndjson': ['jsonl'],
};

const extensionOf: Record<OutputFormat, string> = { text: 'txt', json: 'json', verbose_json: 'json', jsonl: 'jsonl', srt: 'srt', vtt: 'vtt' };

/**
 * The output format: --format when given, else the one -o's extension names
 * (as `speak -o` does), else text. A --format the extension contradicts
 * (`-o t.srt --format text`) is a usage error.
 */
export const formatFor = (flags: Pick<TranscribeFlags, 'format' | 'output'>): OutputFormat => {
  const ext = flags.output && flags.output !== '-' ? extname(flags.output).toLowerCase() : '';
  const implied = byExtension[ext];
  if (!flags.format) return implied?.[0] ?? 'text';
  if (implied && !implied.includes(flags.format)) {
    throw new UsageError(`-o ${flags.output} is a ${ext} file, but --format says ${flags.format}.`, {
      hint: `Leave out --format (the extension decides), or name the file .${extensionOf[flags.format]}.`,
    });
  }
  return flags.format;
};

/** The warning for an -o extension murmur does not know (`-o t.xyz`), when no --format decides: the transcript is then written as text. */
export const unknownExtensionWarning = (flags: Pick<TranscribeFlags, 'format' | 'output'>): string | undefined => {
  const ext = flags.output && flags.output !== '-' ? extname(flags.output).toLowerCase() : '';
  if (flags.format || !ext || byExtension[ext]) return undefined;
  return `murmur: warning: '${ext}' is not an extension murmur knows, so ${flags.output} is written as text; the known ones are ${Object.keys(byExtension).join(' ')} (or pass --format).`;
};

/** Where each input's transcript goes: a file, or undefined for stdout. */
export const outputsFor = (files: readonly string[], flags: TranscribeFlags): (string | undefined)[] => {
  if (flags.output && flags.outDir) throw new UsageError('-o and --out-dir cannot be used together.');
  if (flags.output && files.length > 1) throw new UsageError('-o takes one input; use --out-dir DIR for several (one file per input).');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError("'-' (stdin) can be given once.");
  if (flags.json && !flags.outDir && (!flags.output || flags.output === '-') && flags.format) {
    throw new UsageError('--json prints the result as JSON on stdout; --format is for the files -o or --out-dir write.', { hint: 'Drop --format, or add -o FILE.' });
  }
  if (flags.output) return [flags.output === '-' ? undefined : flags.output];
  if (!flags.outDir) return files.map(() => undefined);
  return files.map((f) => join(flags.outDir!, `${f === '-' ? 'stdin' : basename(f, extname(f))}.${extensionOf[formatFor(flags)]}`));
};

/**
 * The language to send: undefined when none is asked for, or when the model
 * takes no language setting (a warning on stderr says it is ignored). A code
 * no model knows is a usage error; one the model refuses is turned into one
 * where the runtime answers (see asUsageError).
 */
const languageFor = async (ctx: CommandContext, runtime: Runtime, model: string, language: string | undefined): Promise<string | undefined> => {
  const code = language?.trim().toLowerCase();
  if (!code || code === 'auto') return code || undefined;
  const info = await runtime.getModel(model).catch(() => undefined);
  const declared = (info?.languages ?? []).filter((l) => l !== 'multi');
  const takesLanguage = info?.family === 'whisper' || info?.family === 'sense-voice' || declared.length > 0;
  if (!info || takesLanguage) return code;
  if (!WHISPER_LANGUAGES.includes(code)) {
    throw new UsageError(`Unknown language code '${language}': a language is an ISO 639-1 code such as en or de.`, { hint: 'Leave --language out to let the model decide.' });
  }
  ctx.stderr.write(`murmur: warning: '${info.name}' takes no language setting; --language ${code} is ignored.\n`);
  return undefined;
};

/** The runtime's refusal of a language (an unknown code, one the model does not know) is a usage error on the command line. */
const asUsageError = (error: unknown): unknown =>
  error instanceof AppError && error.param === 'language' && error.code !== 'usage' ? new UsageError(error.message, { hint: error.hint, cause: error }) : error;

/** Stdin as the runtime reads it, ending with AbortError on Ctrl-C even while no bytes arrive (a pipe held open). */
async function* untilAborted(stdin: CommandContext['stdin'], signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const iterator = stdin[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Stop reading (an open pipe would keep the process alive after an interrupt).
    if (signal.aborted) stdin.destroy();
  }
}

/** Seconds of audio in a file, when its container says up front (for the progress bar's percent and ETA). */
const probeDuration = async (file: string): Promise<number | undefined> => {
  if (file === '-') return undefined;
  try {
    const { openAudioStream } = await import('../../src/audio/decode.js');
    const stream = await openAudioStream({ path: file }, { ffmpegPath: null });
    await stream.close();
    return stream.duration !== undefined && Number.isFinite(stream.duration) ? stream.duration : undefined;
  } catch {
    return undefined; // the runtime reports what is wrong with the file
  }
};

/** What --json prints for each input once it is done. */
const jsonLine = (file: string, result: TranscribeResult, output: string | undefined) => ({
  file,
  model: result.model,
  text: result.text,
  language: result.language ?? null,
  duration: result.duration,
  segments: result.segments.map(({ id, start, end, text }) => ({ id, start, end, text })),
  output: output ?? null,
  timings: result.timings,
});

const seconds = (s: number) => s.toFixed(1);

/**
 * Transcribes each input in turn, writing its transcript as it is decoded
 * (see transcript-writer.ts), and prints a summary on stderr. Ctrl-C stops
 * at once: what was written stays (the files hold every finished segment)
 * and the AbortError goes up ("murmur: interrupted", exit 130).
 */
export const transcribeFiles = async (ctx: CommandContext, runtime: Runtime, files: readonly string[], flags: TranscribeFlags): Promise<void> => {
  const outputs = outputsFor(files, flags);
  const format = formatFor(flags);
  const task = flags.translate ? 'translate' : 'transcribe';
  for (const out of outputs) {
    if (out && !flags.outDir) await access(dirname(out), constants.W_OK).catch((error: unknown) => {
      throw new AppError('invalid_request', `Cannot write '${out}': ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : 'permission denied'}.`, { cause: error });
    });
  }
  const model = await chooseAsr(ctx, runtime, flags.model);
  const vad = await chooseVad(ctx, runtime, flags);
  const language = await languageFor(ctx, runtime, model, flags.language);
  if (flags.outDir) await mkdir(flags.outDir, { recursive: true });
  const started = performance.now();
  const progress = createTranscribeProgress(ctx, files.length);
  let audio = 0;
  const results: TranscribeResult[] = [];
  try {
    for (const [index, file] of files.entries()) {
      const label = file === '-' ? 'stdin' : basename(file);
      progress?.begin(index, label, await probeDuration(file));
      const out = outputs[index];
      let writer: TranscriptWriter | undefined;
      if (!flags.json || out) {
        const header = !out && files.length > 1 && (format === 'text' || format === 'srt' || format === 'vtt') ? `==> ${file} <==\n` : undefined;
        writer = createTranscriptWriter(out ? { path: out } : { stream: progress ? progress.above(ctx.stdout) : ctx.stdout }, { format, file, task, header });
      }
      try {
        const result = await runtime.transcribe({
          model,
          input: file === '-' ? { stream: untilAborted(ctx.stdin, ctx.signal), filename: 'stdin' } : { path: file },
          language,
          task,
          vad,
          signal: ctx.signal,
          onSegment: (segment) => {
            writer?.segment(segment);
            progress?.advance(segment.end);
          },
        });
        await writer?.finish(result);
        if (flags.json) ctx.stdout.write(`${JSON.stringify(jsonLine(file, result, out))}\n`);
        audio += result.duration;
        results.push(result);
      } finally {
        await writer?.close();
      }
    }
  } catch (error) {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    throw asUsageError(error);
  } finally {
    progress?.stop();
  }
  const wall = (performance.now() - started) / 1000;
  const written = outputs.filter(Boolean);
  ctx.stderr.write(
    `${results.length} file${results.length === 1 ? '' : 's'} · ${seconds(audio)} s of audio in ${seconds(wall)} s · real-time factor ${audio > 0 ? (wall / audio).toFixed(3) : '-'} · ${results[0]?.model ?? model}` +
      `${written.length ? ` · wrote ${written.length === 1 ? written[0] : `${written.length} files to ${flags.outDir}`}` : ''}\n`,
  );
};
