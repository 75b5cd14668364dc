import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';
import { fsReason, outputOf, type BatchItem, type BatchPlan } from './batch-input.js';
import { partialPath } from './speak-output.js';

export interface BatchOptions {
  readonly model: string;
  readonly outDir: string;
  readonly jobs: number;
  readonly voice?: string;
  readonly speed?: number;
  /** Make every output again, even those the manifest says are up to date. */
  readonly force?: boolean;
}

export interface BatchSummary {
  /** Files written by this run (redone ones included). */
  readonly written: number;
  /** Of those, files an earlier run had made from something else (a changed line, voice, speed, format or model; or unknown to the manifest). */
  readonly redone: number;
  /** Outputs an earlier run made from the same line and settings, left alone. */
  readonly skipped: number;
  readonly failed: number;
  /** Seconds of audio written by this run. */
  readonly audioSeconds: number;
  /** Seconds this run took. */
  readonly wallSeconds: number;
  /** wallSeconds / audioSeconds (below 1 is faster than real time). */
  readonly realTimeFactor: number;
  readonly failures: readonly { readonly line: number; readonly message: string }[];
  /** True when Ctrl-C stopped the run before every line was done. */
  readonly interrupted: boolean;
}

/**
 * Makes the output directory and checks it takes files (a probe written and
 * removed), so a path that is a file, or a directory that cannot be written,
 * is one clear error before anything is synthesized, not a failure per line.
 */
const prepareOutDir = async (dir: string): Promise<void> => {
  const { AppError } = await import('../../src/errors.js');
  const fail = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const notDir = code === 'EEXIST' || code === 'ENOTDIR';
    return new AppError('invalid_request', notDir ? `Cannot use '${dir}' as --out-dir: it is a file, not a directory.` : `Cannot write in --out-dir '${dir}': ${fsReason(error)}.`, {
      hint: notDir ? 'Name a directory (it is made if missing), or move the file away.' : 'Choose a directory you can write to, or fix its permissions.',
      cause: error,
    });
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw fail(error);
  }
  const probe = join(dir, `.murmur-batch.${process.pid}.probe`);
  try {
    await writeFile(probe, '');
  } catch (error) {
    throw fail(error);
  }
  await rm(probe, { force: true });
};

const concatBytes = (parts: readonly Uint8Array[]): Uint8Array => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

/** Synthesizes one item and writes it under a temporary name, renamed into place once complete. */
const synthesizeItem = async (runtime: Runtime, item: BatchItem, options: BatchOptions, signal: AbortSignal): Promise<number> => {
  const { createEncoder } = await import('../../src/audio/encode.js');
  const result = await runtime.speak({ model: options.model, text: item.text, voice: item.voice ?? options.voice, speed: item.speed ?? options.speed, signal });
  const encoder = createEncoder(item.format, { sampleRate: result.sampleRate });
  const bytes = concatBytes([encoder.push(result.samples), encoder.end()]);
  const path = outputOf(options.outDir, item);
  await mkdir(dirname(path), { recursive: true });
  const temp = partialPath(path);
  try {
    await writeFile(temp, bytes);
    if (item.format === 'wav') {
      const { patchWavSizes } = await import('./speak-output.js');
      await patchWavSizes(temp);
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return result.samples.length / result.sampleRate;
};

/**
 * Runs a batch: `jobs` utterances at a time, skipping outputs the manifest
 * (batch-manifest.ts) says were made from the same line and settings and
 * redoing changed ones (all with `force`), a cli-progress bar with ETA on a terminal (a line per failure
 * otherwise), and a summary. Problems found while reading the file count
 * as failures with their line numbers; the rest still runs.
 */
export const runBatch = async (ctx: CommandContext, runtime: Runtime, plan: BatchPlan, options: BatchOptions): Promise<BatchSummary> => {
  const started = performance.now();
  const failures = plan.problems.map((p) => ({ line: p.line, message: p.message }));
  await prepareOutDir(options.outDir);
  const { openManifest, recipeHash } = await import('./batch-manifest.js');
  const manifest = await openManifest(options.outDir, (message) => ctx.stderr.write(`murmur: ${message}\n`));
  const hashOf = (item: BatchItem) =>
    recipeHash({ text: item.text, voice: item.voice ?? options.voice, speed: item.speed ?? options.speed, format: item.format, model: options.model });
  const planned = plan.items.map((item) => {
    const sha256 = hashOf(item);
    const present = existsSync(outputOf(options.outDir, item));
    return { item, sha256, present, current: present && !options.force && manifest.get(item.out) === sha256 };
  });
  const todo = planned.filter((p) => !p.current);
  const skipped = planned.length - todo.length;
  const tty = Boolean(ctx.stderr.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar(
        { stream: ctx.stderr as NodeJS.WritableStream, format: ' speaking |{bar}| {value}/{total} | {audio}s audio | ETA {eta_formatted}', barsize: 24, hideCursor: true, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const report = (line: number, message: string) => {
    failures.push({ line, message });
    // With a bar on screen, failures are printed once it stops.
    if (!bar) ctx.stderr.write(`murmur: line ${line}: ${message}\n`);
  };
  if (!bar) for (const problem of plan.problems) ctx.stderr.write(`murmur: line ${problem.line}: ${problem.message}\n`);
  let audioSeconds = 0;
  let written = 0;
  let redone = 0;
  bar?.start(todo.length, 0, { audio: '0.0' });

  let next = 0;
  const worker = async () => {
    while (next < todo.length && !ctx.signal.aborted) {
      const { item, sha256, present } = todo[next++]!;
      try {
        const seconds = await synthesizeItem(runtime, item, options, ctx.signal);
        await manifest.record(item.out, sha256);
        audioSeconds += seconds;
        written += 1;
        if (present) redone += 1;
      } catch (error) {
        if (ctx.signal.aborted) break;
        report(item.line, (error as Error).message);
      }
      bar?.increment(1, { audio: audioSeconds.toFixed(1) });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, todo.length || 1)) }, worker));
  } finally {
    bar?.stop();
    await manifest.flush().catch(() => undefined);
  }
  if (bar) for (const failure of [...failures].sort((a, b) => a.line - b.line)) ctx.stderr.write(`murmur: line ${failure.line}: ${failure.message}\n`);
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    written,
    redone,
    skipped,
    failed: failures.length,
    audioSeconds,
    wallSeconds,
    realTimeFactor: audioSeconds > 0 ? wallSeconds / audioSeconds : 0,
    failures: failures.sort((a, b) => a.line - b.line),
    interrupted: ctx.signal.aborted && written + skipped + failures.length - plan.problems.length < plan.items.length,
  };
};

/** The summary as one line for people. */
export const describeSummary = (s: BatchSummary): string =>
  `${s.written} file${s.written === 1 ? '' : 's'} written${s.redone ? ` (${s.redone} redone: changed since the last run)` : ''}, ${s.skipped} unchanged and skipped, ${s.failed} failed · ` +
  `${s.audioSeconds.toFixed(1)} s of audio in ${s.wallSeconds.toFixed(1)} s (real-time factor ${s.realTimeFactor.toFixed(3)})`;
