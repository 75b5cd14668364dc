import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { printJson, withExamples, withJson } from './shared.js';

export const loadCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('load')
        .description(describeVerb('load'))
        .argument('<model>', 'an installed model (see `murmur list`)')
        .option('--keep-alive <duration>', 'how long it stays loaded when idle: 30s, 5m, 1h, -1 forever (default: the daemon\'s)')
        .option('--host <url>', 'the daemon to use (default: MURMUR_HOST)'),
    ),
    [
      'murmur load qwen3-0.6b  # into the running daemon, for its keep-alive',
      'murmur load qwen3-0.6b --keep-alive -1  # until unloaded',
      'murmur load qwen3-0.6b --keep-alive 1h --host http://gpu-box:11470  # into another machine\'s daemon',
    ],
  ).action(async (model: string, flags: { keepAlive?: string; host?: string; json?: boolean }, command: Command) => {
    const [{ parseDuration }, { openDaemon }, { formatBytes }] = await Promise.all([import('../src/config.js'), import('./runtime.js'), import('./ui/format.js')]);
    const keepAliveMs = flags.keepAlive === undefined ? undefined : parseDuration(flags.keepAlive, '--keep-alive');
    const runtime = await openDaemon(ctx, { host: flags.host, command });
    const loaded = await runtime.load(model, { keepAliveMs, signal: ctx.signal });
    if (flags.json) return printJson(ctx, loaded);
    const until = loaded.expiresAt ? `until ${loaded.expiresAt.toLocaleTimeString()} if idle` : 'until unloaded';
    ctx.stderr.write(`loaded ${loaded.name} (${loaded.kind}, ${formatBytes(loaded.memoryBytes)}), kept ${until}\n`);
  });
