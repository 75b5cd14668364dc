import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { warnError, withExamples } from './shared.js';

export const rmCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('rm')
      .alias('remove')
      .description(describeVerb('rm'))
      .argument('<model...>', 'installed model names (see `murmur list`)')
      .option('--local', 'remove from the store here without asking a running daemon to unload it first'),
    ['murmur rm qwen3-0.6b', 'murmur rm piper-en-us-amy-low whisper-tiny.en'],
  ).action(async (models: string[], flags: { local?: boolean }, command: Command) => {
    const { openRuntime } = await import('./runtime.js');
    // A running daemon removes it itself, unloading it first; with --home the store named is this process's own.
    const home = (command.optsWithGlobals() as { home?: string }).home;
    await using runtime = await openRuntime(ctx, { local: flags.local || home !== undefined, command });
    const failures: unknown[] = [];
    for (const model of models) {
      try {
        await runtime.remove(model);
        ctx.stderr.write(`removed ${model}\n`);
      } catch (error) {
        if (models.length === 1) throw error;
        warnError(ctx, error);
        failures.push(error);
      }
    }
    if (failures.length) {
      const { AppError } = await import('../src/errors.js');
      throw new AppError('model_not_downloaded', `${failures.length} of ${models.length} models could not be removed.`);
    }
  });
