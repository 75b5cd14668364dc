import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { LoadedModel } from '../src/types/models.js';
import type { CommandContext } from './context.js';
import { printJson, withExamples, withJson } from './shared.js';

export const psCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('ps')
        .description(describeVerb('ps'))
        .option('--host <url>', 'the daemon to ask (default: MURMUR_HOST)'),
    ),
    ['murmur ps', 'murmur ps --json | jq -r .[].name'],
  ).action(async (flags: { host?: string; json?: boolean }, command: Command) => {
    const [{ openDaemon }, { formatBytes, formatExpiry, formatTable }] = await Promise.all([import('./runtime.js'), import('./ui/format.js')]);
    const runtime = await openDaemon(ctx, { host: flags.host, command });
    const models: LoadedModel[] = await runtime.ps();
    if (flags.json) return printJson(ctx, models);
    if (!models.length) {
      ctx.stderr.write('no models loaded (load one with `murmur load <model>`)\n');
      return;
    }
    const rows = models.map((m) => [
      m.name,
      m.kind,
      formatBytes(m.memoryBytes),
      m.queued ? `${m.inFlight} (+${m.queued} queued)` : String(m.inFlight),
      formatExpiry(m.expiresAt),
    ]);
    ctx.stdout.write(formatTable(['NAME', 'KIND', 'MEMORY', 'IN-FLIGHT', 'EXPIRES'], rows));
  });
