import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { LoadedModel, ModelInfo } from '../src/types/models.js';
import type { UpstreamStatus } from '../src/routing/upstream.js';
import type { CommandContext } from './context.js';
import { printJson, withExamples, withJson } from './shared.js';

export const psCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('ps')
        .description(describeVerb('ps'))
        .option('--host <url>', 'the daemon to ask (default: MURMUR_HOST)'),
    ),
    ['murmur ps  # what the daemon holds loaded, and until when', 'murmur ps --json | jq -r ".[].name"  # the names only, for scripts'],
  ).action(async (flags: { host?: string; json?: boolean }, command: Command) => {
    const [{ openDaemon }, { formatBytes, formatExpiry, formatTable }] = await Promise.all([import('./runtime.js'), import('./ui/format.js')]);
    const runtime = await openDaemon(ctx, { host: flags.host, command });
    const [models, installed, upstreams] = await Promise.all([runtime.ps(), runtime.listModels().catch((): ModelInfo[] => []), runtime.upstreams?.().catch(() => []) ?? []]);
    // Models the daemon refuses after crashing their engine too often: on stderr, so --json and the table stay as they were.
    const sayBroken = () => {
      for (const m of installed.filter((i) => i.broken)) ctx.stderr.write(`${m.name} is broken and refused: ${m.broken} (pull it again: \`murmur pull ${m.name} --force\`)\n`);
    };
    // What the daemon's murmur upstreams hold (routed models), each marked with its upstream.
    const remote: LoadedModel[] = upstreams.flatMap((u) =>
      (u.loaded ?? []).map((m) => ({ ...m, queued: 0, loadedAt: new Date(0), expiresAt: m.expiresAt ? new Date(m.expiresAt) : null, kind: m.kind as LoadedModel['kind'], upstream: u.name })),
    );
    if (flags.json) {
      printJson(ctx, [...models, ...remote]);
      return sayBroken();
    }
    if (!models.length && !remote.length) ctx.stderr.write('no models loaded (load one with `murmur load <model>`)\n');
    else {
      models.push(...remote);
      // The engine process of each model, where the daemon isolates them.
      const pids = models.some((m) => m.pid !== undefined);
      const rows = models.map((m) => [
        m.upstream ? `${m.name} (on ${m.upstream})` : m.name,
        m.kind,
        formatBytes(m.memoryBytes),
        m.queued ? `${m.inFlight} (+${m.queued} queued)` : String(m.inFlight),
        formatExpiry(m.expiresAt),
        ...(pids ? [m.pid === undefined ? '-' : String(m.pid)] : []),
      ]);
      ctx.stdout.write(formatTable(['NAME', 'KIND', 'MEMORY', 'IN-FLIGHT', 'EXPIRES', ...(pids ? ['PID'] : [])], rows));
    }
    // The servers routed models run on: after the local models, as `murmur status` lists them.
    if (upstreams.length) {
      ctx.stdout.write(`${models.length ? '\n' : ''}${formatUpstreams(upstreams, formatTable)}`);
    }
    sayBroken();
  });

/** The upstreams as a table: health (with why one is out), in flight, requests, errors, mean latency. */
export const formatUpstreams = (upstreams: readonly UpstreamStatus[], formatTable: (headers: string[], rows: string[][]) => string): string =>
  formatTable(
    ['UPSTREAM', 'URL', 'HEALTH', 'IN-FLIGHT', 'REQUESTS', 'ERRORS', 'LATENCY'],
    upstreams.map((u) => [u.name, u.url, u.healthy ? 'up' : `down${u.lastError ? ` (${u.lastError})` : ''}`, String(u.inFlight), String(u.requests), String(u.errors), u.requests ? `${Math.round(u.latencyMs)} ms` : '-']),
  );
