import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Runtime } from '../../src/runtime/types.js';
import type { TranscribeResult } from '../../src/types/transcript.js';
import { extensionFor, type TranscriptFormat } from '../../src/text/subtitles.js';
import { AppError, UsageError } from '../../src/errors.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { formatTranscript } from '../../src/api/openai/transcription-response.js';
import type { CommandContext } from '../context.js';
import { chooseModel, ensureInstalled } from './model-choice.js';

export interface TranscribeFlags {
  readonly model?: string;
  readonly language?: string;
  readonly format: TranscriptFormat;
  readonly output?: string;
  readonly outDir?: string;
  readonly vad?: boolean;
  readonly vadModel?: string;
  readonly translate?: boolean;
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

/** Where each input's transcript goes: a file, or undefined for stdout. */
export const outputsFor = (files: readonly string[], flags: TranscribeFlags): (string | undefined)[] => {
  if (flags.output && flags.outDir) throw new UsageError('-o and --out-dir cannot be used together.');
  if (flags.output && files.length > 1) throw new UsageError('-o takes one input; use --out-dir DIR for several (one file per input).');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError("'-' (stdin) can be given once.");
  if (flags.output) return [flags.output === '-' ? undefined : flags.output];
  if (!flags.outDir) return files.map(() => undefined);
  return files.map((f) => join(flags.outDir!, `${f === '-' ? 'stdin' : basename(f, extname(f))}.${extensionFor(flags.format)}`));
};

/** A bar on a terminal's stderr: seconds of audio decoded, per file. */
const progressBar = (ctx: CommandContext, files: number) => {
  if (!ctx.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: ctx.stderr, format: ' {file} | {seconds} s decoded | file {index}/{files}', hideCursor: true, clearOnComplete: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(files, 0, { file: '', seconds: '0.0', index: 0, files });
  return bar;
};

const seconds = (s: number) => s.toFixed(1);

/** Transcribes each input in turn, writes its transcript, and prints a summary on stderr. */
export const transcribeFiles = async (ctx: CommandContext, runtime: Runtime, files: readonly string[], flags: TranscribeFlags): Promise<void> => {
  const outputs = outputsFor(files, flags);
  const model = await chooseAsr(ctx, runtime, flags.model);
  const vad = await chooseVad(ctx, runtime, flags);
  if (flags.outDir) await mkdir(flags.outDir, { recursive: true });
  const started = performance.now();
  const bar = progressBar(ctx, files.length);
  let audio = 0;
  const results: TranscribeResult[] = [];
  try {
    for (const [index, file] of files.entries()) {
      bar?.update(index, { file: file === '-' ? 'stdin' : basename(file), seconds: '0.0', index: index + 1 });
      const result = await runtime.transcribe({
        model,
        input: file === '-' ? { stream: ctx.stdin, filename: 'stdin' } : { path: file },
        language: flags.language,
        task: flags.translate ? 'translate' : 'transcribe',
        vad,
        signal: ctx.signal,
        onSegment: (segment) => bar?.update(index, { seconds: seconds(segment.end) }),
      });
      const text = formatTranscript(result, flags.format, { task: flags.translate ? 'translate' : 'transcribe', indent: flags.format === 'verbose_json' ? 2 : undefined });
      const out = outputs[index];
      if (out) await writeFile(out, text);
      else {
        if (files.length > 1 && !flags.format.includes('json')) ctx.stdout.write(`==> ${file} <==\n`);
        ctx.stdout.write(text);
      }
      audio += result.duration;
      results.push(result);
    }
  } catch (error) {
    if (ctx.signal.aborted) throw new AppError('aborted', 'Stopped.', { cause: error });
    throw error;
  } finally {
    bar?.stop();
  }
  const wall = (performance.now() - started) / 1000;
  const written = outputs.filter(Boolean);
  ctx.stderr.write(
    `${results.length} file${results.length === 1 ? '' : 's'} · ${seconds(audio)} s of audio in ${seconds(wall)} s · real-time factor ${audio > 0 ? (wall / audio).toFixed(3) : '-'} · ${results[0]?.model ?? model}` +
      `${written.length ? ` · wrote ${written.length === 1 ? written[0] : `${written.length} files to ${flags.outDir}`}` : ''}\n`,
  );
};
