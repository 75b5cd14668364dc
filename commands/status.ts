import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { LoadedModel } from '../src/types/models.js';
import type { UpstreamStatus } from '../src/routing/upstream.js';
import type { CommandContext } from './context.js';
import { daemonTarget, noDaemonError, readHealth } from './daemon-url.js';
import { printJson, withExamples, withJson } from './shared.js';

export const statusCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('status')
        .description(describeVerb('status'))
        .option('--host <url>', 'the daemon to ask (default: MURMUR_HOST, else the `murmur serve` of MURMUR_HOME)'),
    ),
    ['murmur status', 'murmur status --host http://gpu-box:11470', 'murmur status --json | jq .uptime_s', 'murmur status >/dev/null || murmur serve &'],
  ).action(async (flags: { host?: string; json?: boolean }, command: Command) => {
    const { config, url, source, file } = await daemonTarget(ctx, command, flags.host);
    const health = await readHealth(url, 2000, ctx.signal);
    if (!health) throw await noDaemonError(url);
    const { AppError } = await import('../src/errors.js');
    if (health.status === 'foreign') {
      throw new AppError('daemon_unreachable', `the server at ${url} is not a murmur daemon (GET /health answered HTTP ${health.httpStatus})`, { hint: 'Point MURMUR_HOST or --host at a `murmur serve`.' });
    }
    const { createRemoteRuntime } = await import('../src/client/remote-runtime.js');
    const runtime = createRemoteRuntime(config, { baseUrl: url });
    // A daemon that is stopping refuses /murmur/v1/ps (503); one with an API key this client lacks answers 401: the rest is still worth saying.
    let models: LoadedModel[] | null = null;
    let modelsError: string | undefined;
    let upstreams: UpstreamStatus[] = [];
    if (health.status !== 'stopping') {
      try {
        [models, upstreams] = await Promise.all([runtime.ps(), runtime.upstreams!().catch(() => [])]);
      } catch (error) {
        const hint = (error as { hint?: string }).hint;
        modelsError = `${(error as Error).message}${hint ? ` ${hint}` : ''}`;
      }
    }
    // Daemons from before /health carried a version say it on /api/version.
    const version = health.version ?? (await fetchVersion(url, config.apiKey));
    const answer = {
      url,
      // Where the daemon was named: --host, MURMUR_HOST, MURMUR_HOME/serve.json (a `murmur serve` on another port), or the default address.
      source,
      status: health.status,
      version: version ?? null,
      pid: health.pid ?? null,
      started_at: health.started_at ?? null,
      uptime_s: health.uptime_s ?? null,
      loading: health.loading ?? [],
      models,
      ...(modelsError ? { models_error: modelsError } : {}),
      upstreams,
    };
    if (flags.json) return printJson(ctx, answer);

    const { formatBytes, formatDuration, formatExpiry, formatTable } = await import('./ui/format.js');
    const rows: [string, string][] = [
      ['daemon', `${url} (${health.status})${file ? `, found in ${file}` : ''}`],
      ['version', version ?? '?'],
      ['pid', health.pid === undefined ? '?' : String(health.pid)],
      ['uptime', health.uptime_s === undefined ? '?' : formatDuration(health.uptime_s)],
      ...(health.loading?.length ? [['loading', health.loading.join(', ')] as [string, string]] : []),
      ['models', models === null ? 'unknown' : models.length ? `${models.length} loaded` : 'none loaded'],
      ...(upstreams.length ? [['upstreams', `${upstreams.filter((u) => u.healthy).length} of ${upstreams.length} up`] as [string, string]] : []),
    ];
    const width = Math.max(...rows.map(([k]) => k.length)) + 2;
    ctx.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}${v}\n`).join(''));
    if (models?.length) {
      ctx.stdout.write('\n');
      ctx.stdout.write(formatTable(['NAME', 'KIND', 'MEMORY', 'EXPIRES'], models.map((m) => [m.name, m.kind, formatBytes(m.memoryBytes), formatExpiry(m.expiresAt)])));
    }
    if (upstreams.length) {
      const { formatUpstreams } = await import('./ps.js');
      ctx.stdout.write(`\n${formatUpstreams(upstreams, formatTable)}`);
    }
    if (modelsError) ctx.stderr.write(`murmur: cannot list the loaded models: ${modelsError}\n`);
  });

/** GET /api/version, or undefined. */
const fetchVersion = async (url: string, apiKey: string | undefined): Promise<string | undefined> => {
  try {
    const res = await fetch(`${url}/api/version`, { headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { version?: unknown };
    return res.ok && typeof body.version === 'string' ? body.version : undefined;
  } catch {
    return undefined;
  }
};
