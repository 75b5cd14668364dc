import { Command, Option } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import type { LocalRuntime } from '../src/runtime/local-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import type { Config } from '../src/config.js';
import type { UpstreamHealthEvent } from '../src/routing/upstream.js';
import { withExamples } from './shared.js';

interface ServeFlags {
  bind?: string;
  /** The old name of --bind (the word means a daemon URL everywhere else). */
  host?: string;
  port?: string;
  ollamaPort?: string;
  apiKey?: string;
  cors?: string;
  keepAlive?: string;
  parallel?: string;
  maxLoaded?: string;
  maxQueue?: string;
  gpu?: string;
  grace?: string;
  isolation?: string;
  tlsCert?: string;
  tlsKey?: string;
  logFormat?: string;
  config?: string;
  upstream?: string[];
  route?: string[];
  /** False with --no-web; commander's default (true) otherwise, which leaves MURMUR_WEB to decide. */
  web?: boolean;
  open?: boolean;
}

const examples = [
  'murmur serve  # on 127.0.0.1:11470',
  'murmur serve --port 0  # any free port; the line on stderr says which',
  'murmur serve --ollama-port 11434  # also on Ollama\'s port, for clients that hard-code it',
  'murmur serve --bind 0.0.0.0 --api-key s3cret --cors https://app.example  # open to the network, with a key',
  'murmur serve --keep-alive -1 --parallel 8  # keep models forever, 8 requests per model',
  'murmur serve --gpu off  # run on the CPU even where a GPU is present',
  'murmur serve --isolation none  # engines in the daemon itself (no engine processes)',
  'murmur serve --tls-cert cert.pem --tls-key key.pem  # HTTPS and WSS on the same port',
  'murmur serve --open  # and open its page (chat, talk, models) in the default browser',
  'murmur serve --no-web  # the API only: no browser page at /',
  'murmur serve --config murmur.yaml  # settings, upstreams, routes and keys from a YAML file',
  'murmur serve --upstream gpu=http://gpu-box:8000/v1 --route "qwen3-70b=gpu"  # send one model to another server',
  'curl http://127.0.0.1:11470/v1/models  # what the daemon offers',
];

/** Collects a repeatable flag's values (no default, so --help shows none). */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The certificate and key, read before anything starts; both or neither. */
const readTls = async (cert: string | undefined, key: string | undefined): Promise<{ cert: Buffer; key: Buffer } | undefined> => {
  if (!cert && !key) return undefined;
  const { UsageError } = await import('../src/errors.js');
  if (!cert || !key) throw new UsageError(`HTTPS needs both a certificate and its key: ${cert ? '--tls-key (MURMUR_TLS_KEY)' : '--tls-cert (MURMUR_TLS_CERT)'} is missing.`);
  const { readFile } = await import('node:fs/promises');
  const read = async (file: string, what: string) => {
    try {
      const bytes = await readFile(file);
      if (!bytes.includes('-----BEGIN')) throw new Error('it is not PEM');
      return bytes;
    } catch (error) {
      throw new UsageError(`Cannot use '${file}' as the TLS ${what}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, {
        hint: 'Give PEM files, e.g. made with `openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`.',
      });
    }
  };
  return { cert: await read(cert, 'certificate'), key: await read(key, 'key') };
};

/** The local runtime with the config's upstreams and routes in front: their health is checked in the background from now on. */
const routed = async (local: Runtime, config: Config, tell: { warn: (line: string) => void; onHealth: (event: UpstreamHealthEvent) => void }): Promise<Runtime> => {
  const [{ createRouting }, { createRoutingRuntime }] = await Promise.all([import('../src/routing/router.js'), import('../src/runtime/routing-runtime.js')]);
  return createRoutingRuntime(local, createRouting({ upstreams: config.upstreams, routes: config.routes, onWarning: tell.warn, onHealth: tell.onHealth }));
};

export const serveCommand = (ctx: CommandContext) =>
  withExamples(
    new Command('serve')
      .description(describeVerb('serve'))
      .option('--bind <address>', 'address to listen on: 0.0.0.0 or :: for every interface (default: 127.0.0.1)')
      .addOption(new Option('--host <address>', 'the old name of --bind').hideHelp())
      .option('-p, --port <port>', "port to listen on, 0 for any free one (default: MURMUR_HOST's port or 11470)")
      .option('--ollama-port <port>', "also listen on this port, at the same address with every route, for clients that hard-code Ollama's 11434; 0 for any free one (default: MURMUR_OLLAMA_PORT, off)")
      .option('--api-key <key>', 'require this bearer key on every route but /health (default: MURMUR_API_KEY)')
      .option('--cors <origins>', "comma-separated origins allowed by CORS, '*' for any (default: MURMUR_CORS)")
      .option('--keep-alive <duration>', 'how long an idle model stays loaded: 30s, 5m, 1h, -1 forever, 0 not at all')
      .option('--parallel <n>', 'requests one model serves at once')
      .option('--max-loaded <n>', 'models kept loaded before the least recently used is unloaded')
      .option('--max-queue <n>', 'requests per model that may wait for a slot before the daemon answers 503 (default: 8 times parallel)')
      .option('--gpu <choice>', 'auto, cuda, vulkan, metal or off (default: MURMUR_GPU or auto)')
      .option('--isolation <mode>', 'process: each loaded model runs in an engine process of its own, so a crash fails only its requests; none: in the daemon (default: MURMUR_ISOLATION or process)')
      .option('--tls-cert <file>', 'serve HTTPS and WSS with this PEM certificate (default: MURMUR_TLS_CERT); needs --tls-key')
      .option('--tls-key <file>', "the certificate's PEM private key (default: MURMUR_TLS_KEY)")
      .option('--no-web', 'serve no browser page at / (default: MURMUR_WEB, on); a browser there gets Ollama\'s "Ollama is running"')
      .option('--open', "open the page in the default browser once listening (a warning if it cannot)")
      .option('--log-format <format>', 'json (one object a line) or pretty (default: MURMUR_LOG_FORMAT, else pretty on a terminal and json otherwise)')
      .option('--grace <duration>', 'on SIGTERM/SIGINT, how long in-flight requests may finish before they are aborted (default: 10s)')
      .option('--config <file>', 'read settings, upstreams, routes and keys from this YAML file; flags win over it, it over MURMUR_* (default: MURMUR_CONFIG, else MURMUR_HOME/config.yaml when present)')
      .option('--upstream <name=url>', 'a server models can be routed to, e.g. gpu=http://gpu-box:8000/v1 (repeatable; for one the config file declares, only its URL: its key and timeout stay)', collect)
      .option('--route <model=name>', 'send MODEL (a name or glob) to upstream NAME, or NAME,NAME for replicas; NAME:UPSTREAM_MODEL renames it (repeatable; before the config file\'s routes)', collect),
    examples,
  ).action(async (flags: ServeFlags, command: Command) => {
    const [{ parseCount, parseDuration, parseGpu, parseIsolation, parseLogFormat, parsePort, DEFAULT_PORT }, { mergeRouting, parseRouteFlag, parseUpstreamFlag, routeWarnings }, { resolve }, { AppError, UsageError }, { openLocalRuntime }, { startServer }, { chooseLogFormat, createLogger }] = await Promise.all([
      import('../src/config.js'),
      import('../src/config-file.js'),
      import('node:path'),
      import('../src/errors.js'),
      import('./runtime.js'),
      import('../src/server/listen.js'),
      import('../src/server/log.js'),
    ]);
    const count = (raw: string | undefined, name: string, least = 1): number | undefined =>
      raw === undefined ? undefined : parseCount(raw, `--${name}`, least);
    const home = (command.optsWithGlobals() as { home?: string }).home;
    // Both reads see the same file: --config, else MURMUR_CONFIG, else MURMUR_HOME/config.yaml.
    const files = { ...(home ? { home: resolve(home) } : {}), ...(flags.config !== undefined ? { configFile: resolve(flags.config) } : {}) };
    const base = ctx.config(files);
    if (flags.host !== undefined) ctx.stderr.write('murmur: serve --host is now --bind; --host still works\n');
    const bind = flags.bind ?? flags.host ?? base.bind ?? '127.0.0.1';
    const overrides = {
      ...mergeRouting(base, (flags.upstream ?? []).map(parseUpstreamFlag), (flags.route ?? []).map(parseRouteFlag)),
      ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}),
      ...(flags.cors !== undefined ? { cors: flags.cors.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(flags.keepAlive !== undefined ? { keepAliveMs: parseDuration(flags.keepAlive, '--keep-alive') } : {}),
      parallel: count(flags.parallel, 'parallel'),
      maxLoaded: count(flags.maxLoaded, 'max-loaded'),
      maxQueue: count(flags.maxQueue, 'max-queue', 0),
      ...(flags.gpu !== undefined ? { gpu: parseGpu(flags.gpu, '--gpu') } : {}),
      ...(flags.web === false ? { web: false } : {}),
      // The daemon isolates its engines unless told not to; one-shot commands run them in-process.
      isolation: flags.isolation !== undefined ? parseIsolation(flags.isolation, '--isolation') : (base.isolation ?? 'process'),
    };
    const final = ctx.config({ ...files, home: base.home, ...overrides });
    for (const line of routeWarnings(final.routes)) ctx.stderr.write(`murmur: warning: ${line}\n`);
    const port = flags.port === undefined ? (final.port ?? Number(new URL(final.host).port || DEFAULT_PORT)) : Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number from 0 to 65535, not '${flags.port}'.`);
    const ollamaPort = flags.ollamaPort !== undefined ? parsePort(flags.ollamaPort, '--ollama-port') : final.ollamaPort;
    if (ollamaPort !== undefined && ollamaPort !== 0 && ollamaPort === port) {
      throw new UsageError(`--ollama-port must differ from --port: both are ${port}.`, { hint: 'The Ollama port is a second listener; give it another port, or leave it out.' });
    }
    const graceMs = flags.grace !== undefined ? parseDuration(flags.grace, '--grace') : (final.graceMs ?? 10_000);
    const tls = await readTls(flags.tlsCert ?? final.tlsCert, flags.tlsKey ?? final.tlsKey);
    const log = createLogger({
      format: chooseLogFormat(flags.logFormat !== undefined ? parseLogFormat(flags.logFormat, '--log-format') : final.logFormat, ctx.stderr.isTTY),
      write: (line) => ctx.stderr.write(line),
      // The CLI's probes (GET /health before each command) only with MURMUR_DEBUG.
      probes: final.debug,
    });

    const local = await openLocalRuntime(final);
    // Routed models go to their upstreams; the rest, and speech, listening and the page, stay here.
    const runtime =
      final.routes.length || final.upstreams.length
        ? await routed(local, final, {
            warn: (line) => ctx.stderr.write(`murmur: warning: ${line}\n`),
            // An upstream taken out or back is a log line, as a model's load and unload are.
            onHealth: ({ upstream, healthy, reason }) => log({ time: new Date().toISOString(), event: healthy ? 'upstream_up' : 'upstream_down', upstream, ...(reason ? { reason } : {}) }),
          })
        : local;
    // Loads, unloads and evictions (with why) go to the same log as the requests.
    const stopModelLog = (local as Partial<Pick<LocalRuntime, 'models'>>).models?.onEvent(log.model);
    // Stored responses (/v1/responses) open now, so a database that cannot be used is reported at start; the daemon serves on without it.
    const { defaultResponseStore } = await import('../src/server/responses-store.js');
    const responses = defaultResponseStore(final);
    try {
      responses.open();
    } catch (error) {
      const hint = (error as { hint?: string }).hint;
      ctx.stderr.write(`murmur: warning: ${(error as Error).message}${hint ? `\n  ${hint}` : ''}\n`);
    }
    // `murmur stop` (POST /murmur/v1/shutdown) takes the same way out as SIGTERM: the wait below ends, then the drain.
    const stopAsked = new AbortController();
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer(runtime, {
        hostname: bind,
        port,
        ...(ollamaPort !== undefined ? { extraPorts: [ollamaPort] } : {}),
        graceMs: graceMs < 0 ? 2 ** 31 - 1 : graceMs,
        stop: { request: () => stopAsked.abort(), graceMs },
        apiKey: final.apiKey,
        keys: final.keys,
        cors: final.cors,
        responses,
        web: final.web ?? true,
        ...(tls ? { tls } : {}),
        log,
      });
    } catch (error) {
      await runtime[Symbol.asyncDispose]();
      const code = (error as NodeJS.ErrnoException).code;
      // Node's listen errors name the port that failed: the main one or the Ollama one.
      const failed = (error as { port?: number }).port;
      const onOllama = ollamaPort !== undefined && failed === ollamaPort && failed !== port;
      if (code === 'EADDRINUSE' && onOllama) {
        throw new AppError('internal', `Port ${failed} on ${bind} (--ollama-port) is already in use.`, { hint: 'Is Ollama itself running? Stop it, or pick another --ollama-port (0 for any free one).' });
      }
      if (code === 'EADDRINUSE') throw new AppError('internal', `Port ${port} on ${bind} is already in use.`, { hint: 'Is another `murmur serve` running (`murmur status`)? Pick another --port (0 for any free one: `murmur status`, `ps`, `stop` and the rest find it through MURMUR_HOME/serve.json).' });
      if (code === 'EACCES') {
        throw new AppError('internal', `Cannot listen on port ${failed ?? port} of ${bind}: permission denied.`, { hint: `Ports below 1024 need privileges; pick a higher ${onOllama ? '--ollama-port' : '--port'}.` });
      }
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`Cannot bind to '${bind}': no such local address.`);
      // OpenSSL refused the pair: a key that is not the certificate's, or PEM that does not parse.
      if (tls && (code?.startsWith('ERR_OSSL') || /key|certificate|PEM|asn1/i.test((error as Error).message))) {
        throw new UsageError(`The TLS certificate and key cannot be used together: ${(error as Error).message}.`, { hint: 'Check that --tls-key is the private key of --tls-cert, both in PEM.' });
      }
      throw error;
    }
    // MURMUR_HOME/serve.json tells the other verbs where this daemon is (any --port), until it exits.
    const { removeDaemonFile, writeDaemonFile } = await import('./daemon-file.js');
    const forget = () => removeDaemonFile(final.home);
    try {
      writeDaemonFile(final.home, server.url, new Date());
      process.once('exit', forget);
    } catch (error) {
      ctx.stderr.write(`murmur: warning: cannot write ${final.home}/serve.json (${(error as Error).message}); other commands find this daemon only through MURMUR_HOST or --host\n`);
    }
    ctx.stderr.write(`murmur: listening on ${server.url}\n`);
    // Its own line, after the one above (which scripts and tests parse): every route answers here too.
    for (const url of server.extraUrls) ctx.stderr.write(`murmur: also listening on ${url} (--ollama-port)\n`);
    const bound = new URL(server.url).hostname.replace(/^\[|\]$/g, '');
    if (!final.apiKey && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(bound)) {
      ctx.stderr.write(`murmur: warning: serving on ${bound} with no API key; anyone who can reach this address can use and change the daemon. Set --api-key (or MURMUR_API_KEY).\n`);
    }
    if (flags.open) {
      const { openInBrowser, pageUrl } = await import('./open-browser.js');
      if (final.web === false) ctx.stderr.write('murmur: warning: --open with no page (--no-web or MURMUR_WEB=0); not opening a browser\n');
      else {
        const page = pageUrl(server.url);
        // Not awaited: the daemon serves meanwhile, and a browser that cannot be opened is only worth a line.
        void openInBrowser(page, ctx.env).then((failed) => {
          if (failed) ctx.stderr.write(`murmur: warning: cannot open a browser (${failed}); the page is at ${page}\n`);
        });
      }
    }

    const stopped = AbortSignal.any([ctx.signal, stopAsked.signal]);
    await new Promise<void>((resolve) => {
      if (stopped.aborted) resolve();
      else stopped.addEventListener('abort', () => resolve(), { once: true });
    });
    log.lifecycle('shutdown');
    await server.close();
    await runtime[Symbol.asyncDispose]();
    stopModelLog?.();
    // While it drained, serve.json still named it (`murmur status` says 'stopping', `murmur stop` waits for it).
    forget();
    process.off('exit', forget);
    log.lifecycle('stopped');
  });
