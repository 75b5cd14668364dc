import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { daemonTarget, noDaemonError, readHealth } from './daemon-url.js';
import { withExamples } from './shared.js';

/** How long past the daemon's grace period `murmur stop` waits for it to go (unloading its models, closing). */
const AFTER_GRACE_MS = 5000;

export const stopCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('stop')
      .description(describeVerb('stop'))
      .option('--host <url>', 'the daemon to stop (default: MURMUR_HOST, else the `murmur serve` of MURMUR_HOME)')
      .option('--wait <duration>', "how long to wait for it to go: 30s, 2m, -1 forever (default: the daemon's grace period + 5s)"),
    ['murmur stop', 'murmur stop --host http://127.0.0.1:11471', 'murmur stop --wait 2m   # let long generations finish'],
  ).action(async (flags: { host?: string; wait?: string }, command: Command) => {
    const [{ AppError }, { parseDuration }, { fromErrorBody }, { setTimeout: sleep }] = await Promise.all([
      import('../src/errors.js'),
      import('../src/config.js'),
      import('../src/api/openai/errors.js'),
      import('node:timers/promises'),
    ]);
    const waitMs = flags.wait === undefined ? undefined : parseDuration(flags.wait, '--wait');
    const { config, url, file } = await daemonTarget(ctx, command, flags.host);
    // Its pid, while it still answers: a daemon on this machine is gone once its process is (engines unloaded), not just its port.
    const before = await readHealth(url, 2000, ctx.signal);
    if (!before) throw await noDaemonError(url, 'Nothing to stop: no `murmur serve` runs there (check MURMUR_HOST or --host).');

    let res: Response;
    try {
      res = await fetch(`${url}/murmur/v1/shutdown`, { method: 'POST', headers: config.apiKey ? { Authorization: `Bearer ${config.apiKey}` } : {}, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]) });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw await noDaemonError(url, 'It stopped answering before it could be asked to stop.');
    }
    const body = (await res.json().catch(() => undefined)) as { grace_ms?: number; error?: { code?: string } } | undefined;
    // 503 'stopping': it was stopping already (another `murmur stop`, a SIGTERM); wait for it all the same.
    const already = res.status === 503 && body?.error?.code === 'stopping';
    if (res.status === 404) {
      throw new AppError('invalid_request', `the server at ${url} cannot be stopped over HTTP: it is not a murmur daemon, or one older than this murmur`, { hint: 'Stop it with SIGTERM (`kill PID`) or with the service manager that runs it.' });
    }
    if (!res.ok && !already) throw fromErrorBody(res.status, body);

    const graceMs = typeof body?.grace_ms === 'number' ? body.grace_ms : 10_000;
    const limit = waitMs ?? (graceMs < 0 ? -1 : graceMs + AFTER_GRACE_MS);
    ctx.stderr.write(`murmur: stopping the daemon at ${url}${file ? ` (found in ${file})` : ''}${already ? ' (it was stopping already)' : graceMs > 0 ? `; requests in flight may finish for up to ${Math.ceil(graceMs / 1000)}s` : ''}\n`);
    const deadline = limit < 0 ? Infinity : performance.now() + limit;
    const local = isLoopback(url) && before.pid !== undefined && owns(before.pid) ? before.pid : undefined;
    const gone = async () => !(await readHealth(url, 1000, ctx.signal)) && (local === undefined || !owns(local));
    while (!(await gone())) {
      if (performance.now() >= deadline) {
        throw new AppError('internal', `the daemon at ${url} is still there after ${Math.round(limit / 1000)}s`, {
          hint: `It may still be finishing requests: check with \`murmur status\`, wait longer with --wait${local === undefined ? '' : `, or end it with \`kill ${local}\``}.`,
        });
      }
      await sleep(100, undefined, { signal: ctx.signal });
    }
    ctx.stderr.write(`murmur: stopped the daemon at ${url}\n`);
  });

const isLoopback = (url: string): boolean => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(new URL(url).hostname);

/** Whether `pid` is a process this user may signal (so, one still running here). */
const owns = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
