import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import cliProgress from 'cli-progress';
import type { Runtime } from '../../src/runtime/types.js';
import type { CommandContext } from '../context.js';
import { outputOf, type BatchItem, type BatchPlan } from './batch-input.js';
import { partialPath } from './speak-output.js';

export interface BatchOptions {
  readonly model: string;
  readonly outDir: string;
  readonly jobs: number;
  readonly voice?: string;
  readonly speed?: number;
}

export interface BatchSummary {
  /** Files written by this run. */
  readonly written: number;
  /** Outputs already present (from an earlier run), left alone. */
  readonly skipped: number;
  readonly failed: number;
  /** Seconds of audio written by this run. */
  readonly audioSeconds: number;
  /** Seconds this run took. */
  readonly wallSeconds: number;
  /** wallSeconds / audioSeconds (below 1 is faster than real time). */
  readonly realTimeFactor: number;
  readonly failures: readonly { readonly line: number; readonly message: string }[];
}

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
 * Runs a batch: `jobs` utterances at a time, skipping outputs already
 * present, a cli-progress bar with ETA on a terminal (a line per failure
 * otherwise), and a summary. Problems found while reading the file count
 * as failures with their line numbers; the rest still runs.
 */
export const runBatch = async (ctx: CommandContext, runtime: Runtime, plan: BatchPlan, options: BatchOptions): Promise<BatchSummary> => {
  const started = performance.now();
  const failures = plan.problems.map((p) => ({ line: p.line, message: p.message }));
  const todo = plan.items.filter((item) => !existsSync(outputOf(options.outDir, item)));
  const skipped = plan.items.length - todo.length;
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
  bar?.start(todo.length, 0, { audio: '0.0' });

  await mkdir(options.outDir, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !ctx.signal.aborted) {
      const item = todo[next++]!;
      try {
        const seconds = await synthesizeItem(runtime, item, options, ctx.signal);
        audioSeconds += seconds;
        written += 1;
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
  }
  if (bar) for (const failure of [...failures].sort((a, b) => a.line - b.line)) ctx.stderr.write(`murmur: line ${failure.line}: ${failure.message}\n`);
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    written,
    skipped,
    failed: failures.length,
    audioSeconds,
    wallSeconds,
    realTimeFactor: audioSeconds > 0 ? wallSeconds / audioSeconds : 0,
    failures: failures.sort((a, b) => a.line - b.line),
  };
};

/** The summary as one line for people. */
export const describeSummary = (s: BatchSummary): string =>
  `${s.written} file${s.written === 1 ? '' : 's'} written, ${s.skipped} already present, ${s.failed} failed · ` +
  `${s.audioSeconds.toFixed(1)} s of audio in ${s.wallSeconds.toFixed(1)} s (real-time factor ${s.realTimeFactor.toFixed(3)})`;
