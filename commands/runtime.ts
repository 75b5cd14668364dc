import type { Command } from './commander.js';
import type { Config } from '../src/config.js';
import type { Runtime } from '../src/runtime/types.js';
import type { CommandContext } from './context.js';
import { commandConfig } from './shared.js';

export interface RuntimeFlags {
  /** Run in this process even when a daemon answers. */
  readonly local?: boolean;
  /** Use the daemon (or OpenAI-compatible server) at this URL. */
  readonly host?: string;
  /** The command, so global flags such as --home apply. */
  readonly command?: Command;
  /** How long to wait for a daemon's /health, in ms (default 200). */
  readonly probeMs?: number;
  /** `--gpu` for an in-process runtime: auto, cuda, vulkan, metal or off (a daemon keeps its own). */
  readonly gpu?: string;
}

/** The config of a command run: MURMUR_* with --home (when the command is known) and --gpu applied. */
const configOf = async (ctx: CommandContext, flags: RuntimeFlags): Promise<Config> => {
  const base = flags.command ? commandConfig(ctx, flags.command) : ctx.config();
  if (flags.gpu === undefined) return base;
  const { parseGpu } = await import('../src/config.js');
  return ctx.config({ home: base.home, gpu: parseGpu(flags.gpu, '--gpu') });
};

/** The in-process runtime: catalog, store and engines in this process (imported lazily). */
export const openLocalRuntime = async (config: Config): Promise<Runtime> => {
  const { createRuntime } = await import('../src/runtime/create-runtime.js');
  return createRuntime(config);
};

/**
 * The runtime a command uses: `--local` → in-process; `--host URL` → that
 * server over HTTP; otherwise the daemon at MURMUR_HOST (when set), else the
 * one MURMUR_HOME/serve.json names, else the default address, when it
 * answers /health within ~200 ms; else in-process.
 */
export const openRuntime = async (ctx: CommandContext, flags: RuntimeFlags = {}): Promise<Runtime> => {
  const config = await configOf(ctx, flags);
  if (flags.local) return openLocalRuntime(config);
  const [{ createRemoteRuntime, probeDaemon }, { chooseDaemon }] = await Promise.all([import('../src/client/remote-runtime.js'), import('./daemon-url.js')]);
  const daemon = await chooseDaemon(ctx, config, flags.host);
  // --host is used as given; serve.json's daemon answered its /health already.
  if (daemon.source === '--host' || daemon.source === 'serve.json') return createRemoteRuntime(config, { baseUrl: daemon.url });
  if (await probeDaemon(daemon.url, flags.probeMs ?? 200)) return createRemoteRuntime(config, { baseUrl: daemon.url });
  return openLocalRuntime(config);
};

/**
 * The running daemon (as openRuntime finds it), for `load`, `unload` and
 * `ps`; throws AppError('daemon_unreachable') when none answers.
 */
export const openDaemon = async (ctx: CommandContext, flags: RuntimeFlags = {}): Promise<Runtime> => {
  const config = await configOf(ctx, flags);
  const [{ createRemoteRuntime, probeDaemon }, { AppError }, { chooseDaemon }] = await Promise.all([
    import('../src/client/remote-runtime.js'),
    import('../src/errors.js'),
    import('./daemon-url.js'),
  ]);
  const { url, source } = await chooseDaemon(ctx, config, flags.host);
  if (source !== 'serve.json' && !(await probeDaemon(url, flags.probeMs ?? 1000))) {
    throw new AppError('daemon_unreachable', `No murmur daemon answers at ${url}.`, {
      hint: source === 'default' ? 'Start one with `murmur serve` (or point MURMUR_HOST or --host at it).' : `Start one with \`murmur serve\`, or check ${source === '--host' ? '--host' : 'MURMUR_HOST'}.`,
    });
  }
  return createRemoteRuntime(config, { baseUrl: url });
};
