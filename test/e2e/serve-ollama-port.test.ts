import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { httpsGet } from '../helpers/https-get.js';

/**
 * `murmur serve --ollama-port PORT` (MURMUR_OLLAMA_PORT): a second listener
 * at the same address serving the same app, for clients that hard-code
 * Ollama's 11434. Every door answers on both ports, WebSockets too, over TLS
 * when TLS is on; a port in use or a bad one is a one-line error with a
 * hint; SIGTERM closes both. No model is needed.
 */

const fixtures = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'fixtures', 'tls');
const CERT = join(fixtures, 'cert.pem');
const KEY = join(fixtures, 'key.pem');
const ca = readFileSync(CERT);

let home: string;
const daemons: Daemon[] = [];
const env = (more: NodeJS.ProcessEnv = {}) => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_DEBUG: '', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '', MURMUR_OLLAMA_PORT: '', ...more });
type Failure = { code: number; stderr: string };
const fails = (more: NodeJS.ProcessEnv, ...args: string[]) => runCli(env(more), 'serve', ...args).then(() => expect.fail('serve started'), (e: Failure) => e);

/** Starts a daemon and resolves with it and the URL of its --ollama-port line. */
const start = async (args: string[], more: NodeJS.ProcessEnv = {}) => {
  const daemon = await startDaemon(env(more), args);
  daemons.push(daemon);
  const deadline = Date.now() + 5000;
  let match: RegExpExecArray | null = null;
  while (!(match = /murmur: also listening on (https?:\/\/\S+) \(--ollama-port\)/.exec(daemon.stderr())) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(match, daemon.stderr()).not.toBeNull();
  return { daemon, ollama: match![1]! };
};

/** A port bound on 127.0.0.1 by this test, held until closed. */
const holdPort = () =>
  new Promise<{ server: Server; port: number }>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => done({ server, port: (server.address() as { port: number }).port }));
  });

/** Opens a WebSocket to /v1/realtime with no model: the upgrade succeeds, then the session is refused with an error event. */
const realtimeRefusal = (url: string, options: WebSocket.ClientOptions = {}) =>
  new Promise<{ opened: boolean; event: { type: string; error?: { message: string } }; code: number }>((done, fail) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/realtime`, options);
    let opened = false;
    let event: { type: string } | undefined;
    ws.on('open', () => (opened = true));
    ws.on('message', (data) => (event ??= JSON.parse(String(data)) as { type: string }));
    ws.on('close', (code) => done({ opened, event: event as { type: string }, code }));
    ws.on('error', fail);
  });

const get = (url: string) => httpsGet(url, ca);

describe('murmur serve --ollama-port', () => {
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-ollama-port-'));
  });
  afterEach(async () => {
    for (const daemon of daemons.splice(0)) if (daemon.process.exitCode === null) await daemon.stop();
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('serves every door on both ports, names both, and SIGTERM closes both', async () => {
    const { daemon, ollama } = await start(['--ollama-port', '0', '--gpu', 'off']);
    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ollama).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ollama).not.toBe(daemon.url);
    // The usual line comes first and is the one scripts parse.
    expect(daemon.stderr().indexOf('murmur: listening on')).toBeLessThan(daemon.stderr().indexOf('murmur: also listening on'));

    const probe = await fetch(`${ollama}/`);
    expect(probe.status).toBe(200);
    expect(await probe.text()).toBe('Ollama is running');
    for (const base of [daemon.url, ollama]) {
      const version = await fetch(`${base}/api/version`);
      expect(version.status).toBe(200);
      expect(((await version.json()) as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
      const models = await fetch(`${base}/v1/models`);
      expect(models.status).toBe(200);
      expect(await models.json()).toMatchObject({ object: 'list', data: [] });
      expect((await fetch(`${base}/api/tags`)).status).toBe(200);
    }
    // WebSocket upgrades reach the app on the second port too.
    const refused = await realtimeRefusal(ollama);
    expect(refused.opened).toBe(true);
    expect(refused.event.type).toBe('error');
    expect(refused.code).toBe(4400);

    expect(await daemon.stop()).toBe(0);
    expect(daemon.log().at(-1)).toMatchObject({ event: 'stopped' });
    for (const base of [daemon.url, ollama]) await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it('takes the port from MURMUR_OLLAMA_PORT, and the flag wins over it', async () => {
    const held = await holdPort();
    held.server.close();
    const { ollama } = await start([], { MURMUR_OLLAMA_PORT: String(held.port) });
    expect(ollama).toBe(`http://127.0.0.1:${held.port}`);
    expect(await (await fetch(`${ollama}/`)).text()).toBe('Ollama is running');
    const flagged = await start(['--ollama-port', '0'], { MURMUR_OLLAMA_PORT: String(held.port) });
    expect(flagged.ollama).not.toBe(ollama);
  });

  it('a port in use is one line with a hint, exit 1, no stack trace, and the daemon does not start', async () => {
    const held = await holdPort();
    try {
      const failure = await fails({}, '--port', '0', '--ollama-port', String(held.port));
      expect(failure.code).toBe(1);
      expect(failure.stderr).toMatch(new RegExp(`murmur: Port ${held.port} on 127\\.0\\.0\\.1 \\(--ollama-port\\) is already in use\\.`));
      expect(failure.stderr).toMatch(/^ {2}Is Ollama itself running\? .*--ollama-port/m);
      expect(failure.stderr).not.toMatch(/^\s+at /m);
      expect(failure.stderr).not.toMatch(/listening on/);
    } finally {
      held.server.close();
    }
  });

  it('refuses a bad port, or the same port as --port, as a usage error', async () => {
    for (const bad of ['70000', '-1', 'abc', '1.5']) {
      const failure = await fails({}, '--port', '0', '--ollama-port', bad);
      expect(failure.code).toBe(2);
      expect(failure.stderr).toMatch(new RegExp(`--ollama-port must be a port number from 0 to 65535, not '${bad.replace('.', '\\.')}'`));
      expect(failure.stderr).not.toMatch(/^\s+at /m);
    }
    const fromEnv = await fails({ MURMUR_OLLAMA_PORT: 'eleven' }, '--port', '0');
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/MURMUR_OLLAMA_PORT must be a port number/);
    const same = await fails({}, '--port', '45123', '--ollama-port', '45123');
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--ollama-port must differ from --port: both are 45123\./);
    expect(same.stderr).not.toMatch(/^\s+at /m);
  });

  it('serves HTTPS and WSS on the second port when TLS is on', async () => {
    const { daemon, ollama } = await start(['--ollama-port', '0', '--tls-cert', CERT, '--tls-key', KEY]);
    expect(daemon.url).toMatch(/^https:\/\//);
    expect(ollama).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${ollama}/`)).toEqual({ status: 200, body: 'Ollama is running' });
    expect(await get(`${ollama}/v1/models`)).toMatchObject({ status: 200 });
    await expect(fetch(ollama.replace('https', 'http') + '/health')).rejects.toThrow();
    const refused = await realtimeRefusal(ollama, { ca });
    expect(refused.opened).toBe(true);
    expect(refused.event.type).toBe('error');
    expect(await daemon.stop()).toBe(0);
  });
});
