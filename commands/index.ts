import { Command, CommanderError } from 'commander';
import { describeVariables } from '../src/config.js';
import { AppError } from '../src/errors.js';
import { createProcessContext, type CommandContext } from './context.js';
import { packageVersion } from '../src/project.js';
import { pullCommand } from './pull.js';
import { listCommand } from './list.js';
import { showCommand } from './show.js';
import { rmCommand } from './rm.js';
import { serveCommand } from './serve.js';
import { loadCommand } from './load.js';
import { unloadCommand } from './unload.js';
import { psCommand } from './ps.js';
import { chatCommand } from './chat.js';
import { transcribeCommand } from './transcribe.js';
import { speakCommand } from './speak.js';

/** Builds the program. Command files import the core lazily inside their actions so `--help` stays fast. */
export const buildProgram = (ctx: CommandContext): Command => {
  const program = new Command('murmur')
    .description('Chat, speak and listen with local models, from the terminal or an OpenAI-compatible daemon.')
    .version(packageVersion(), '-v, --version')
    .option('--home <dir>', 'model store and state (default: MURMUR_HOME or ~/.murmur)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nEnvironment:\n${describeVariables()}\n\nRun \`murmur <command> --help\` for a command's options and examples.`);

  for (const make of [pullCommand, listCommand, showCommand, rmCommand, chatCommand, speakCommand, serveCommand, loadCommand, unloadCommand, psCommand, transcribeCommand]) program.addCommand(make(ctx));
  return program;
};

const applyStreams = (command: Command, ctx: CommandContext): void => {
  command.exitOverride().configureOutput({
    writeOut: (text) => ctx.stdout.write(text),
    writeErr: (text) => ctx.stderr.write(text),
  });
  for (const sub of command.commands) applyStreams(sub, ctx);
};

/** Prints what went wrong: message and hint for AppErrors, a stack for anything unexpected. */
export const reportError = (error: unknown, ctx: CommandContext): number => {
  // The same reading as src/config.ts's MURMUR_DEBUG (which a bad variable may have stopped from loading).
  const debug = !['', '0', 'false', 'no', 'off'].includes((ctx.env.MURMUR_DEBUG ?? '').trim().toLowerCase());
  if (error instanceof AppError) {
    ctx.stderr.write(`murmur: ${error.message}\n`);
    if (error.hint) ctx.stderr.write(`  ${error.hint}\n`);
    if (debug) ctx.stderr.write(`${error.stack}\n`);
    return error.code === 'usage' ? 2 : error.code === 'aborted' ? 130 : 1;
  }
  if (error instanceof Error && error.name === 'AbortError') {
    ctx.stderr.write('murmur: interrupted\n');
    if (debug) ctx.stderr.write(`${error.stack}\n`);
    return 130;
  }
  ctx.stderr.write(`murmur: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
};

/** Runs the CLI on `argv` (process.argv shape) and returns the exit code. */
export const run = async (argv: readonly string[], ctx: CommandContext = createProcessContext()): Promise<number> => {
  const program = buildProgram(ctx);
  applyStreams(program, ctx);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, ctx);
  }
};
