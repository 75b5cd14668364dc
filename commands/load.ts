import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { printJson, withExamples, withJson } from './shared.js';

export const loadCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('load')
        .description(describeVerb('load'))
        .argument('<model>', 'a model, pulled into the daemon\'s store first if not downloaded (see `murmur list --all`)')
        .option('--keep-alive <duration>', 'how long it stays loaded when idle: 30s, 5m, 1h, -1 forever (default: the daemon\'s)')
        .option('--host <url>', 'the daemon to use (default: MURMUR_HOST)'),
    ),
    [
      'murmur load qwen3-0.6b  # into the running daemon, for its keep-alive',
      'murmur load qwen3-0.6b --keep-alive -1  # until unloaded',
      'murmur load qwen3-0.6b --keep-alive 1h --host http://gpu-box:11470  # into another machine\'s daemon',
    ],
  ).action(async (model: string, flags: { keepAlive?: string; host?: string; json?: boolean }, command: Command) => {
    const [{ parseDuration }, { openDaemon }, { formatBytes }, { ensureInstalled }] = await Promise.all([
      import('../src/config.js'),
      import('./runtime.js'),
      import('./ui/format.js'),
      import('./ui/model-choice.js'),
    ]);
    const keepAliveMs = flags.keepAlive === undefined ? undefined : parseDuration(flags.keepAlive, '--keep-alive');
    const runtime = await openDaemon(ctx, { host: flags.host, command });
    // A catalog model not downloaded yet is pulled by the daemon into its store first, as `ollama run` and `murmur chat` do (progress on stderr).
    const name = await ensureInstalled(ctx, runtime, model);
    const loaded = await runtime.load(name, { keepAliveMs, signal: ctx.signal });
    if (flags.json) return printJson(ctx, loaded);
    // A routed model: an OpenAI upstream loads it itself (nothing to say of memory or expiry); a murmur one says as a daemon here does.
    if (loaded.upstream && loaded.known === false) return void ctx.stderr.write(`${loaded.name} runs on upstream '${loaded.upstream}', which loads its models itself\n`);
    const until = loaded.expiresAt ? `until ${loaded.expiresAt.toLocaleTimeString()} if idle` : 'until unloaded';
    ctx.stderr.write(`loaded ${loaded.name}${loaded.upstream ? ` on upstream '${loaded.upstream}'` : ''} (${loaded.kind}, ${formatBytes(loaded.memoryBytes)}), kept ${until}\n`);
  });
