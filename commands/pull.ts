import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { InstalledModel } from '../src/store/types.js';
import type { CommandContext } from './context.js';
import type { CleanReport } from '../src/store/clean.js';
import { commandConfig, openStore, printJson, warnError, withExamples, withJson } from './shared.js';

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** `removed 3 partial downloads (1.2 GB)`, and what was left because a pull is using it. */
const describeClean = async (report: CleanReport): Promise<string> => {
  const { formatBytes } = await import('./ui/format.js');
  const parts = [
    ...(report.partials.length ? [count(report.partials.length, 'partial download', 'partial downloads')] : []),
    ...(report.staging.length ? [count(report.staging.length, 'unfinished staging directory', 'unfinished staging directories')] : []),
  ];
  const lines = [parts.length ? `removed ${parts.join(' and ')} (${formatBytes(report.bytes)})` : 'no partial downloads to remove'];
  if (report.inUse.length) lines.push(`kept ${count(report.inUse.length, 'partial download', 'partial downloads')} that a running pull is writing`);
  return lines.map((line) => `${line}\n`).join('');
};

interface PullFlags {
  force?: boolean;
  clean?: boolean;
  name?: string;
  json?: boolean;
}

export const pullCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('pull')
        .description(describeVerb('pull'))
        .argument('[model...]', 'catalog name (see `murmur list --all`), hf:owner/repo/file, hf:owner/repo:QUANT, an https URL, or a local path')
        .option('--force', 'download again even when installed')
        .option('--clean', 'delete partial downloads and stale staging (what failed or killed pulls left) and say what that freed; then pull any models named')
        .option('--name <name>', 'install under this name (for URLs and local imports)'),
    ),
    [
      'murmur pull qwen3-0.6b',
      'murmur pull piper-en-us-amy-low whisper-tiny.en     # several at once',
      'murmur pull hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf',
      'murmur pull hf:unsloth/Qwen3-0.6B-GGUF:Q4_K_M           # one quantization of a repository',
      'murmur pull ./my-voice/ --name my-voice              # import a local model',
      'MURMUR_MIRROR=/srv/murmur-mirror murmur pull silero-vad --json',
      'murmur pull --clean                                  # free what partial downloads hold (after a disk-full)',
    ],
  ).action(async (models: string[], flags: PullFlags, command: Command) => {
    if (flags.name && models.length > 1) {
      const { UsageError } = await import('../src/errors.js');
      throw new UsageError('--name works with one model at a time.');
    }
    if (!models.length && !flags.clean) {
      const { UsageError } = await import('../src/errors.js');
      throw new UsageError('Name a model to pull (see `murmur list --all`), or pass --clean to delete partial downloads.');
    }
    if (flags.clean) {
      const { cleanStore } = await import('../src/store/clean.js');
      const report = await cleanStore(commandConfig(ctx, command).home);
      ctx.stderr.write(await describeClean(report));
      if (flags.json) printJson(ctx, { status: 'cleaned', ...report });
      if (!models.length) return;
    }
    const { store } = await openStore(ctx, command);
    const { createPullRenderer } = await import('./ui/download-bars.js');
    // Bars only when both streams are a terminal; piped (`murmur pull x | jq`, `$(murmur pull x)`) or logged, JSON lines on stdout.
    const json = Boolean(flags.json) || !ctx.stdout.isTTY || !ctx.stderr.isTTY;
    const failures: unknown[] = [];
    for (const model of models) {
      const renderer = createPullRenderer(ctx, json);
      let installed: InstalledModel;
      try {
        installed = await store.pull(model, { force: flags.force, name: flags.name, onProgress: renderer.onProgress, signal: ctx.signal });
      } catch (error) {
        renderer.stop();
        const { isAbortError } = await import('../src/errors.js');
        if (models.length === 1 || isAbortError(error) || ctx.signal.aborted) throw error;
        warnError(ctx, error);
        failures.push(error);
        continue;
      }
      renderer.stop();
      if (!json) ctx.stdout.write(`${installed.dir}\n`);
    }
    if (failures.length) {
      const { AppError } = await import('../src/errors.js');
      throw new AppError('download_failed', `${failures.length} of ${models.length} pulls failed.`);
    }
  });
