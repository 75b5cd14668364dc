import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { daemonTarget, noDaemonError, readHealth } from './daemon-url.js';
import { withExamples } from './shared.js';

export const openCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('open')
      .description(describeVerb('open'))
      .option('--host <url>', 'the daemon whose page to open (default: MURMUR_HOST, else the `murmur serve` of MURMUR_HOME)')
      .option('--print', "print the page's address instead of opening it (over SSH, say)"),
    ['murmur open', 'murmur open --host http://127.0.0.1:11471', 'murmur open --print', 'murmur status >/dev/null || murmur serve --open'],
  ).action(async (flags: { host?: string; print?: boolean }, command: Command) => {
    const { url } = await daemonTarget(ctx, command, flags.host);
    const health = await readHealth(url, 2000, ctx.signal);
    if (!health) throw await noDaemonError(url, 'Start one and open its page with `murmur serve --open` (or point MURMUR_HOST or --host at a running one).');
    const { AppError } = await import('../src/errors.js');
    if (health.status === 'foreign') {
      throw new AppError('daemon_unreachable', `the server at ${url} is not a murmur daemon (GET /health answered HTTP ${health.httpStatus})`, { hint: 'Point MURMUR_HOST or --host at a `murmur serve`.' });
    }
    const { openInBrowser, pageUrl } = await import('./open-browser.js');
    const page = pageUrl(url);
    // The page needs no key; a daemon started with --no-web (MURMUR_WEB=0) answers a browser as Ollama does, one not built with how to build it.
    let res: Response;
    try {
      res = await fetch(page, { method: 'HEAD', headers: { Accept: 'text/html' }, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5000)]) });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw await noDaemonError(url, 'It stopped answering; is it stopping (`murmur status`)?');
    }
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/html')) {
      throw new AppError('not_supported', `the daemon at ${url} serves no browser page`, {
        hint: res.status === 404 ? 'Its page is not built: run `npm run build` in its checkout, then restart it.' : 'It was started with --no-web (or MURMUR_WEB=0); restart it without.',
      });
    }
    if (flags.print) {
      ctx.stdout.write(`${page}\n`);
      return;
    }
    const failed = await openInBrowser(page, ctx.env);
    if (failed) throw new AppError('internal', `cannot open a browser: ${failed}`, { hint: `Open ${page} in a browser yourself (\`murmur open --print\` prints it).` });
    ctx.stderr.write(`murmur: opened ${page}\n`);
  });
