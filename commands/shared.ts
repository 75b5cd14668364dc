import { resolve } from 'node:path';
import type { Command } from './commander.js';
import type { Catalog } from '../src/catalog/catalog.js';
import type { Config } from '../src/config.js';
import type { Store } from '../src/store/types.js';
import type { CommandContext } from './context.js';

/** Adds the shared `--json` flag. */
export const withJson = (command: Command): Command => command.option('--json', 'print JSON for scripts');

/** Lines of examples, each a command that runs as copied, with its `# comment` (if any) aligned with the others'. */
export const formatExamples = (examples: readonly string[]): string => {
  const split = examples.map((line) => /^(.*?)\s+(# .*)$/.exec(line)?.slice(1) ?? [line]);
  // Commands too long to line up with the rest keep their comment two spaces after them.
  const width = Math.max(0, ...split.filter(([cmd, comment]) => comment && cmd!.length <= 46).map(([cmd]) => cmd!.length));
  return split.map(([cmd, comment]) => `  ${comment ? `${cmd!.padEnd(width)}  ${comment}` : cmd}`).join('\n');
};

/** Adds an "Examples:" section to a command's --help (see formatExamples). */
export const withExamples = (command: Command, examples: readonly string[]): Command =>
  command.addHelpText('after', `\nExamples:\n${formatExamples(examples)}\n`);

/** The config for a command, with the global `--home` flag applied. */
export const commandConfig = (ctx: CommandContext, command: Command): Config => {
  const home = (command.optsWithGlobals() as { home?: string }).home;
  return ctx.config(home ? { home: resolve(home) } : {});
};

export interface OpenedStore {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly store: Store;
}

/** Loads the catalog (built-in plus MURMUR_CATALOG) and opens the store; imports the core lazily. */
export const openStore = async (ctx: CommandContext, command: Command): Promise<OpenedStore> => {
  const config = commandConfig(ctx, command);
  const [{ loadCatalog }, { createStore }] = await Promise.all([import('../src/catalog/catalog.js'), import('../src/store/store.js')]);
  const catalog = await loadCatalog({ userPath: config.catalog });
  return { config, catalog, store: createStore(config, catalog) };
};

/** Writes one JSON value as a line on stdout. */
export const printJson = (ctx: CommandContext, value: unknown, pretty = false): void => {
  ctx.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
};

/** Prints an error's message and hint on stderr without stopping (for verbs that go on to the next model). */
export const warnError = (ctx: CommandContext, error: unknown): void => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = (error as { hint?: string } | undefined)?.hint;
  ctx.stderr.write(`murmur: ${message}\n${hint ? `  ${hint}\n` : ''}`);
};

/**
 * Under --json, a failure as one JSON line on stdout, `{"error":{"message","hint","code"}}`
 * (plus `model` for one of several), so a script has something to parse; the
 * human line stays on stderr.
 */
export const printJsonError = (ctx: CommandContext, error: unknown, model?: string): void => {
  const message = error instanceof Error ? error.message : String(error);
  const { hint, code } = (error ?? {}) as { hint?: string; code?: string };
  printJson(ctx, { error: { message, ...(hint ? { hint } : {}), code: code ?? 'internal_error', ...(model ? { model } : {}) } });
};
