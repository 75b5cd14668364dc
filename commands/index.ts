import { Command, CommanderError, Help } from './commander.js';
import { describeVariables } from '../src/config.js';
import { AppError } from '../src/errors.js';
import { createProcessContext, type CommandContext } from './context.js';
import { INTERRUPTED, isInterrupt } from './interrupt.js';
import { packageVersion } from '../src/project.js';
import { verbs, type Verb } from './verbs.js';

/** A verb's place-holder: enough for the top-level help and for commander to name it, without loading it. */
const stubOf = (verb: Verb): Command => {
  const stub = new Command(verb.name).description(verb.description);
  if (verb.alias) stub.alias(verb.alias);
  for (const arg of verb.args) stub.argument(arg);
  return stub;
};

/** The top-level help lists place-holders as it lists the full commands ("[options]" included). */
const stubs = new WeakMap<Command, Verb>();
const defaultHelp = new Help();
const subcommandTerm = (command: Command): string => {
  const verb = stubs.get(command);
  if (!verb) return defaultHelp.subcommandTerm(command);
  return [`${verb.name}${verb.alias ? `|${verb.alias}` : ''}`, ...(verb.takesOptions ? ['[options]'] : []), ...verb.args].join(' ');
};

/**
 * Builds the program: the full command of each verb in `load` (all of them
 * when `load` is 'all'), a place-holder for the others. Command files
 * import the core lazily inside their actions, so `--help` stays fast.
 */
export const buildProgram = async (ctx: CommandContext, load: readonly string[] | 'all' = 'all'): Promise<Command> => {
  const program = new Command('murmur')
    .description('Chat, speak and listen with local models, from the terminal or an OpenAI-compatible daemon.')
    .version(packageVersion(), '-v, --version')
    .option('--home <dir>', 'model store and state (default: MURMUR_HOME or ~/.murmur)')
    .configureHelp({ subcommandTerm })
    .addHelpText('after', `\nEnvironment:\n${describeVariables()}\n\nRun \`murmur <command> --help\` for a command's options and examples.`);

  const wanted = (verb: Verb) => load === 'all' || load.includes(verb.name) || (verb.alias !== undefined && load.includes(verb.alias));
  const commands = await Promise.all(
    verbs.map(async (verb) => {
      if (wanted(verb)) return (await verb.load())(ctx);
      const stub = stubOf(verb);
      stubs.set(stub, verb);
      return stub;
    }),
  );
  for (const command of commands) program.addCommand(command);
  return program;
};

/**
 * The verbs a command line runs: its first word that is not an option (the
 * word after `help`, for `murmur help pull`). The global `--home` takes a value.
 */
export const verbsOf = (argv: readonly string[]): string[] => {
  const words: string[] = [];
  for (let i = 2; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--home') i++;
    else if (!arg.startsWith('-')) {
      words.push(arg);
      if (arg !== 'help') break;
    }
  }
  return words;
};

/** `murmur pull`, `murmur service install`: the words that run `command`. */
const commandPath = (command: Command): string => {
  const words: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) words.unshift(at.name());
  return words.join(' ');
};

/**
 * commander's own errors (an unknown option or verb, a missing argument) in
 * murmur's shape: `murmur: unknown option '--x'` and a hint naming the
 * command's help, not commander's `error: …` (the exit code is 2, see run).
 */
export const formatCommanderError = (text: string, command: Command): string => {
  const message = text.replace(/^error: /, '').replace(/\n+$/, '').replace(/\n\((Did you mean .*)\)$/s, ' ($1)');
  return `murmur: ${message}\n  Run \`${commandPath(command)} --help\` for usage.\n`;
};

const applyStreams = (command: Command, ctx: CommandContext): void => {
  command.exitOverride().configureOutput({
    writeOut: (text) => ctx.stdout.write(text),
    writeErr: (text) => ctx.stderr.write(text),
    outputError: (text) => ctx.stderr.write(formatCommanderError(text, command)),
  });
  for (const sub of command.commands) applyStreams(sub, ctx);
};

/** Prints what went wrong: message and hint for AppErrors, a stack for anything unexpected. */
export const reportError = (error: unknown, ctx: CommandContext): number => {
  // The same reading as src/config.ts's MURMUR_DEBUG (which a bad variable may have stopped from loading).
  const debug = !['', '0', 'false', 'no', 'off'].includes((ctx.env.MURMUR_DEBUG ?? '').trim().toLowerCase());
  // Every interrupt reads the same, whatever stopped (an AbortError, or an AppError('aborted') with a hint such as pull's resume).
  if (isInterrupt(error)) {
    ctx.stderr.write(`${INTERRUPTED}\n`);
    if (error instanceof AppError && error.hint) ctx.stderr.write(`  ${error.hint}\n`);
    if (debug) ctx.stderr.write(`${(error as Error).stack}\n`);
    return 130;
  }
  if (error instanceof AppError) {
    ctx.stderr.write(`murmur: ${error.message}\n`);
    if (error.hint) ctx.stderr.write(`  ${error.hint}\n`);
    if (debug) ctx.stderr.write(`${error.stack}\n`);
    return error.code === 'usage' ? 2 : 1;
  }
  ctx.stderr.write(`murmur: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
};

/** Runs the CLI on `argv` (process.argv shape) and returns the exit code. */
export const run = async (argv: readonly string[], ctx: CommandContext = createProcessContext()): Promise<number> => {
  try {
    const program = await buildProgram(ctx, verbsOf(argv));
    applyStreams(program, ctx);
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
