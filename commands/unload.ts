import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { printJson, withExamples, withJson } from './shared.js';

export const unloadCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('unload')
        .description(describeVerb('unload'))
        .argument('[model...]', 'loaded models (see `murmur ps`)')
        .option('--all', 'unload every loaded model')
        .option('--host <url>', 'the daemon to use (default: MURMUR_HOST)'),
    ),
    ['murmur unload qwen3-0.6b  # free its memory now', 'murmur unload --all  # everything the daemon holds'],
  ).action(async (models: string[], flags: { all?: boolean; host?: string; json?: boolean }, command: Command) => {
    const { UsageError } = await import('../src/errors.js');
    if (flags.all && models.length) throw new UsageError('Name models or pass --all, not both.');
    if (!flags.all && !models.length) throw new UsageError('Name the models to unload, or pass --all.', { hint: 'Run `murmur ps` to see what is loaded.' });
    const { openDaemon } = await import('./runtime.js');
    const runtime = await openDaemon(ctx, { host: flags.host, command });
    const unloaded = await runtime.unload(flags.all ? 'all' : models);
    if (flags.json) return printJson(ctx, { unloaded });
    for (const name of unloaded) ctx.stderr.write(`unloaded ${name}\n`);
    const missing = flags.all ? [] : models.filter((m) => !unloaded.includes(m));
    if (missing.length) ctx.stderr.write(`not loaded: ${missing.join(', ')}\n`);
    if (flags.all && !unloaded.length) ctx.stderr.write('nothing was loaded\n');
  });
