import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { commandConfig, withExamples } from './shared.js';

const ENABLE = 'systemctl --user daemon-reload && systemctl --user enable --now murmur';
const DISABLE = 'systemctl --user disable --now murmur';

interface ServiceFlags {
  print?: boolean;
  grace?: string;
}

export const serviceCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('service')
      .description(describeVerb('service'))
      .argument('<action>', 'install or uninstall')
      .option('--print', 'only print the unit (install) or what would be done (uninstall); change nothing')
      .option('--grace <duration>', "the daemon's --grace: how long in-flight requests may finish when it is stopped", '10s'),
    [
      'murmur service install                 # then: ' + ENABLE,
      'MURMUR_HOST=http://127.0.0.1:11471 murmur service install   # MURMUR_* settings go into the unit',
      'murmur service install --print > murmur.service',
      'murmur service uninstall',
    ],
  ).action(async (action: string, flags: ServiceFlags, command: Command) => {
    if (action !== 'install' && action !== 'uninstall') {
      const { UsageError } = await import('../src/errors.js');
      throw new UsageError(`service takes install or uninstall, not '${action}'.`, { hint: 'Run `murmur service install` to write the systemd unit, `murmur service uninstall` to remove it.' });
    }
    const [{ existsSync }, { mkdir, readFile, rm, writeFile }, { dirname }, { parseDuration }, { AppError }, { renderUnit, unitPath, findOnPath }] = await Promise.all([
      import('node:fs'),
      import('node:fs/promises'),
      import('node:path'),
      import('../src/config.js'),
      import('../src/errors.js'),
      import('./service-unit.js'),
    ]);
    const config = commandConfig(ctx, command);
    const path = unitPath(ctx.env);
    const systemctl = findOnPath('systemctl', ctx.env);
    const say = (line: string) => ctx.stderr.write(`${line}\n`);

    if (action === 'install') {
      const globalHome = (command.optsWithGlobals() as { home?: string }).home;
      const unit = renderUnit({ env: ctx.env, home: globalHome ? config.home : undefined, graceMs: parseDuration(flags.grace ?? '10s', '--grace'), graceFlag: flags.grace });
      if (flags.print) return void ctx.stdout.write(unit);
      if (process.platform !== 'linux') {
        throw new AppError('invalid_request', `murmur service writes a systemd unit, and systemd runs on Linux, not ${process.platform}.`, { hint: 'Run `murmur serve` under your system\'s own service manager; `murmur service install --print` shows what it should run.' });
      }
      const before = existsSync(path) ? await readFile(path, 'utf8') : undefined;
      await mkdir(dirname(path), { recursive: true });
      // 0600: the unit may carry MURMUR_API_KEY.
      await writeFile(path, unit, { mode: 0o600 });
      say(`murmur: ${before === undefined ? 'wrote' : before === unit ? 'kept' : 'replaced'} ${path}`);
      say(before === undefined ? `  Start it now and at every login: ${ENABLE}` : `  Apply it: systemctl --user daemon-reload && systemctl --user restart murmur`);
      if (!systemctl) say('  (systemctl is not on PATH here: this machine may not run systemd.)');
      return;
    }

    if (flags.print) {
      say(systemctl ? `would run: ${DISABLE}` : `would ask you to run: ${DISABLE}`);
      say(`would remove ${path}${existsSync(path) ? '' : ' (not there)'}`);
      return;
    }
    if (!existsSync(path)) {
      say(`murmur: no unit at ${path}: nothing to uninstall`);
      return;
    }
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = (...args: string[]) => promisify(execFile)(systemctl!, ['--user', ...args], { env: ctx.env, timeout: 30_000 });
    if (systemctl) {
      try {
        await run('disable', '--now', 'murmur');
      } catch (error) {
        const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0];
        say(`murmur: warning: \`${DISABLE}\` failed: ${detail}`);
        say('  If the daemon still runs, stop it with `murmur stop`.');
      }
    }
    await rm(path, { force: true });
    say(`murmur: removed ${path}`);
    if (systemctl) await run('daemon-reload').catch(() => say('  Then run: systemctl --user daemon-reload'));
    else say(`  If systemd runs it, first run: ${DISABLE} (then systemctl --user daemon-reload)`);
  });
