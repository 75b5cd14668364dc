import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { InstalledModel, PullEvent } from '../src/store/types.js';
import type { CommandContext } from './context.js';
import type { CleanReport } from '../src/store/clean.js';
import type { Catalog } from '../src/catalog/catalog.js';
import { commandConfig, openStore, printJson, printJsonError, warnError, withExamples, withJson } from './shared.js';

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

/** What `pull --json` prints on stdout for each model: the last progress event's fields and what was installed (`name` as in `ls --json`; `model` kept for scripts that read it). */
const pullResult = (model: InstalledModel, reused: boolean) => ({
  status: 'success',
  name: model.name,
  model: model.name,
  path: model.dir,
  reused,
  kind: model.kind,
  engine: model.engine,
  family: model.family,
  size: model.size,
  source: model.source,
  ...(model.linked ? { linked: model.linked } : {}),
});

interface PullFlags {
  link?: boolean;
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
        .option('--name <name>', 'install under this name (for URLs and local imports)')
        .option('--link', 'import a local file by reference: the store keeps its absolute path instead of a copy'),
    ),
    [
      'murmur pull qwen3  # the default chat model',
      'murmur pull piper-en-us-amy-low whisper-tiny.en  # several at once',
      'murmur pull hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf  # one file of a Hugging Face repository',
      'murmur pull hf:unsloth/Qwen3-0.6B-GGUF:Q4_K_M  # one quantization of a repository',
      'murmur pull ./my-voice/ --name my-voice  # import a local model',
      'murmur pull --link ~/models/big.gguf --name big  # use a local file where it is, no copy',
      'MURMUR_MIRROR=/srv/murmur-mirror murmur pull silero-vad --json  # from a mirror, JSON events',
      'murmur pull --clean  # free what partial downloads hold (after a disk-full)',
    ],
  ).action(async (models: string[], flags: PullFlags, command: Command) => {
    try {
      await pull(ctx, models, flags, command);
    } catch (error) {
      // Under --json a script gets the failure on stdout too (the one line stays on stderr); an interrupt is only "murmur: interrupted".
      const { isAbortError } = await import('../src/errors.js');
      if (flags.json && !isAbortError(error) && !ctx.signal.aborted && !(error as { reported?: boolean }).reported) printJsonError(ctx, error);
      throw error;
    }
  });

/** The catalog model that `name` also names, when the model installed under it is another one (`--name vad` for an import). */
const shadowed = (catalog: Catalog, name: string, installed: InstalledModel) => {
  const entry = catalog.find(name);
  return entry && entry.name !== installed.source ? entry : undefined;
};

const pull = async (ctx: CommandContext, models: string[], flags: PullFlags, command: Command) => {
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
    const { store, catalog } = await openStore(ctx, command);
    const { createPullRenderer } = await import('./ui/download-bars.js');
    // Progress always on stderr (JSON lines with --json, bars on a terminal, plain lines otherwise); stdout carries only the result.
    const json = Boolean(flags.json);
    const failures: unknown[] = [];
    for (const model of models) {
      const renderer = createPullRenderer(ctx, json);
      let installed: InstalledModel;
      let reused = false;
      const onProgress = (event: PullEvent) => {
        if (event.status === 'success') reused = event.reused;
        renderer.onProgress(event);
      };
      // `--link NEWPATH` for a model linked elsewhere links it again (the store does it); say so, naming both files.
      const before = flags.link && flags.name && !flags.force ? await store.get(flags.name) : undefined;
      try {
        installed = await store.pull(model, { force: flags.force, name: flags.name, link: flags.link, onProgress, signal: ctx.signal });
      } catch (error) {
        renderer.stop();
        const { isAbortError } = await import('../src/errors.js');
        if (models.length === 1 || isAbortError(error) || ctx.signal.aborted) throw error;
        warnError(ctx, error);
        if (json) printJsonError(ctx, error, model);
        failures.push(error);
        continue;
      }
      renderer.stop();
      if (before?.linked && installed.linked && before.linked !== installed.linked) ctx.stderr.write(`murmur: ${installed.name} was linked to ${before.linked}; it is linked to ${installed.linked} now.\n`);
      const other = !reused && flags.name ? shadowed(catalog, flags.name, installed) : undefined;
      if (other) ctx.stderr.write(`murmur: '${flags.name}' is also the catalog's name for ${other.name}; the installed model now answers to it.\n`);
      if (json) printJson(ctx, pullResult(installed, reused));
      else ctx.stdout.write(`${installed.name}\n`);
    }
    if (failures.length) {
      const { AppError } = await import('../src/errors.js');
      // Each failure's JSON was printed as it happened.
      throw Object.assign(new AppError('download_failed', `${failures.length} of ${models.length} pulls failed.`), { reported: true });
    }
};
