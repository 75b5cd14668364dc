import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { openStore, warnError, withExamples } from './shared.js';

export const rmCommand = (ctx: CommandContext) =>
  withExamples(new Command('rm').alias('remove').description(describeVerb('rm')).argument('<model...>', 'installed model names (see `murmur list`)'), [
    'murmur rm qwen3-0.6b',
    'murmur rm piper-en-us-amy-low whisper-tiny.en',
  ]).action(async (models: string[], _flags: unknown, command: Command) => {
    const { store } = await openStore(ctx, command);
    const failures: unknown[] = [];
    for (const model of models) {
      try {
        await store.remove(model);
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
