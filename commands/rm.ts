import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { printJson, warnError, withExamples, withJson } from './shared.js';

export const rmCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('rm')
        .alias('remove')
        .description(describeVerb('rm'))
        .argument('<model...>', 'installed model names (see `murmur list`)')
        .option('--local', 'remove from the store here without asking a running daemon to unload it first'),
    ),
    [
      'murmur rm qwen3-0.6b  # its files go; `murmur pull` brings it back',
      'murmur rm piper-en-us-amy-low whisper-tiny.en  # several at once',
      'murmur rm qwen3-0.6b --json  # {"removed": [...], "failed": [...]} on stdout',
    ],
  ).action(async (models: string[], flags: { local?: boolean; json?: boolean }, command: Command) => {
    const { openRuntime } = await import('./runtime.js');
    // A running daemon removes it itself, unloading it first; with --home the store named is this process's own.
    const home = (command.optsWithGlobals() as { home?: string }).home;
    await using runtime = await openRuntime(ctx, { local: flags.local || home !== undefined, command });
    const failures: unknown[] = [];
    const removed: string[] = [];
    const failed: { name: string; error: string }[] = [];
    for (const model of models) {
      try {
        await runtime.remove(model);
        removed.push(model);
        ctx.stderr.write(`removed ${model}\n`);
      } catch (error) {
        failed.push({ name: model, error: error instanceof Error ? error.message : String(error) });
        // One model: its error is the command's (printed once, at the top); with --json the JSON comes first.
        if (models.length === 1 && !flags.json) throw error;
        if (models.length > 1) warnError(ctx, error);
        failures.push(error);
      }
    }
    if (flags.json) printJson(ctx, { removed, failed });
    if (models.length === 1 && failures.length) throw failures[0];
    if (failures.length) {
      const { AppError } = await import('../src/errors.js');
      throw new AppError('model_not_downloaded', `${failures.length} of ${models.length} models could not be removed.`);
    }
  });
