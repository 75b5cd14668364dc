import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { withExamples } from './shared.js';

export const cpCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('cp')
      .alias('copy')
      .description(describeVerb('cp'))
      .argument('<source>', 'an installed model (see `murmur list`)')
      .argument('<target>', 'the new name: letters, digits, ".", "-" and "_"')
      .option('--local', 'copy in the store here rather than asking a running daemon to'),
    ['murmur cp qwen3-0.6b my-assistant  # a second name sharing the files', 'murmur cp whisper-tiny.en dictation  # a name that says what it is for'],
  ).action(async (source: string, target: string, flags: { local?: boolean }, command: Command) => {
    const { openRuntime } = await import('./runtime.js');
    // As with rm: a running daemon copies in its own store; with --home the store named is this process's own.
    const home = (command.optsWithGlobals() as { home?: string }).home;
    await using runtime = await openRuntime(ctx, { local: flags.local || home !== undefined, command });
    await runtime.copy(source, target);
    ctx.stderr.write(`copied ${source} to ${target}\n`);
  });
