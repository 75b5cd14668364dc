import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { builtBin, startDaemon, type Daemon } from '../helpers/daemon.js';

const root = mkdtempSync(join(tmpdir(), 'murmur-serve-config-'));
const home = join(root, 'home');
mkdirSync(home);
const env = { ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_ISOLATION: 'none', MURMUR_CONFIG: '', MURMUR_API_KEY: '' };
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
  rmSync(join(home, 'config.yaml'), { force: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** Writes a config file and returns its path. */
const file = (text: string): string => {
  const path = join(root, `config-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
};

/** Runs the built CLI to its exit (killed after 30 s: a daemon that started when it should not have). */
const cli = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number | null; stderr: string }>((done) => {
    execFile(process.execPath, [builtBin, ...args], { env: { ...env, ...extra }, timeout: 30_000 }, (error, _stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });

const freePort = () =>
  new Promise<number>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });

const models = (url: string, key?: string) => fetch(`${url}/v1/models`, key ? { headers: { authorization: `Bearer ${key}` } } : {}).then((r) => r.status);

describe('serve --config: bad files stop the daemon with exit 2 and one message naming file, line and setting', () => {
  const UP = 'upstreams:\n  gpu: http://127.0.0.1:9/v1\n';
  it.each([
    ['not valid YAML', 'parallel: 2\ncors: [a,\n', /:\d+:\d+: not valid YAML: /, /Check the indentation/],
    ['an unknown setting', 'parallel: 2\nkeep-alvie: 5m\n', /:2:1: unknown setting 'keep-alvie'\./, /Did you mean 'keep-alive'\?/],
    ['a value its parser refuses', 'keep-alive: soon\n', /:1:13: keep-alive must be a duration such as 30s, 5m or 1h .*not 'soon'\./, /takes what MURMUR_KEEP_ALIVE takes/],
    ['a value of the wrong type', 'max-loaded: [1, 2]\n', /:1:13: max-loaded takes one value, not a list\./, /MURMUR_MAX_LOADED/],
    ['a route to an unknown upstream', `${UP}routes:\n  - model: qwen3\n    upstream: gpv\n`, /:5:15: routes\[0\]\.upstream names the upstream 'gpv', which is not declared/, /Did you mean 'gpu'\?/],
    ['an upstream URL that is not http(s)', 'upstreams:\n  gpu: ftp://gpu-box/v1\n', /:2:8: upstreams\.gpu must be an http or https URL/, /OpenAI base URL/],
    ['an upstream URL that does not parse', 'upstreams:\n  gpu:\n    url: "http://:x"\n', /:3:10: upstreams\.gpu\.url must be an http or https URL/, /OpenAI base URL/],
    ['an upstream name with bad characters', 'upstreams:\n  "gpu/box": http://h:1/v1\n', /:2:3: upstreams 'gpu\/box' is not a valid upstream name/, /Name it like a host/],
    ['an unknown dialect', 'upstreams:\n  gpu:\n    url: http://h:1/v1\n    dialect: grpc\n', /:4:14: upstreams\.gpu\.dialect must be openai or murmur, not 'grpc'\./, /another murmur daemon/],
    ['home', 'home: /elsewhere\n', /:1:1: home cannot be set in the config file/, /MURMUR_HOME or give --home/],
  ])('%s', async (_what, text, message, hint) => {
    const path = file(text);
    const { code, stderr } = await cli(['serve', '--port', '0', '--config', path]);
    expect(code).toBe(2);
    const [first, second, ...rest] = stderr.trimEnd().split('\n');
    expect(first!.startsWith(`murmur: ${path}:`)).toBe(true);
    expect(first).toMatch(message);
    expect(second).toMatch(hint);
    expect(rest).toEqual([]);
    expect(stderr).not.toContain('listening on');
  });

  it('a --config or MURMUR_CONFIG that does not exist; an unset api-key-env; a bad --route', async () => {
    const missing = join(root, 'missing.yaml');
    expect(await cli(['serve', '--port', '0', '--config', missing])).toMatchObject({ code: 2, stderr: expect.stringContaining(`The config file '${missing}' (serve --config) does not exist.`) });
    expect(await cli(['serve', '--port', '0'], { MURMUR_CONFIG: missing })).toMatchObject({ code: 2, stderr: expect.stringContaining('(MURMUR_CONFIG) does not exist') });
    const keyed = file('upstreams:\n  gpu:\n    url: http://h:1/v1\n    api-key-env: MURMUR_TEST_UNSET_KEY\n');
    expect(await cli(['serve', '--port', '0', '--config', keyed])).toMatchObject({ code: 2, stderr: expect.stringContaining(`${keyed}:4:18: upstreams.gpu.api-key-env names MURMUR_TEST_UNSET_KEY, which is not set.`) });
    expect(await cli(['serve', '--port', '0', '--route', 'qwen3=gpu'])).toMatchObject({ code: 2, stderr: expect.stringContaining("--route qwen3 names the upstream 'gpu', which is not declared.") });
  });

  it('every verb reads the default MURMUR_HOME/config.yaml, so a bad one stops `murmur ls` too', async () => {
    writeFileSync(join(home, 'config.yaml'), 'paralel: 2\n');
    expect(await cli(['ls'])).toMatchObject({ code: 2, stderr: expect.stringContaining(`murmur: ${join(home, 'config.yaml')}:1:1: unknown setting 'paralel'.`) });
  });
});

describe('serve --config: a good file', () => {
  it('sets the key the daemon requires, over MURMUR_API_KEY; --api-key beats the file', async () => {
    const path = file('# the daemon of a shared box\napi-key: from-file\nkeep-alive: 5m\ncors: [https://app.example]\n');
    const daemon = await startDaemon({ ...env, MURMUR_API_KEY: 'from-env' }, ['--config', path]);
    daemons.push(daemon);
    expect(await models(daemon.url)).toBe(401);
    expect(await models(daemon.url, 'from-env')).toBe(401);
    expect(await models(daemon.url, 'from-file')).toBe(200);
    const flagged = await startDaemon(env, ['--config', path, '--api-key', 'from-flag']);
    daemons.push(flagged);
    expect(await models(flagged.url, 'from-file')).toBe(401);
    expect(await models(flagged.url, 'from-flag')).toBe(200);
  });

  it('MURMUR_HOME/config.yaml sets the port when --port is not given; --port beats it', async () => {
    const port = await freePort();
    writeFileSync(join(home, 'config.yaml'), `port: ${port}\nbind: 127.0.0.1\n`);
    const child = spawn(process.execPath, [builtBin, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr!.setEncoding('utf8');
    const listening = new Promise<string>((done, fail) => {
      child.stderr!.on('data', (chunk: string) => {
        text += chunk;
        const match = /murmur: listening on (\S+)/.exec(text);
        if (match) done(match[1]!);
      });
      child.once('exit', (code) => fail(new Error(`serve exited (${code}): ${text}`)));
    });
    const exited = new Promise((done) => child.once('exit', done));
    try {
      expect(await listening).toBe(`http://127.0.0.1:${port}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const flagged = await startDaemon(env);
    daemons.push(flagged);
    expect(flagged.url).not.toBe(`http://127.0.0.1:${port}`);
  });

  it('warns, naming both sources, when an earlier route takes a later one’s models (the first wins)', async () => {
    const path = file('upstreams:\n  a: http://127.0.0.1:9/v1\n  b: http://127.0.0.1:9/v1\nroutes:\n  - model: "llama-*"\n    upstream: a\n  - model: llama-3\n    upstream: b\n  - model: qwen3\n    upstream: [a, b]\n');
    const daemon = await startDaemon(env, ['--config', path, '--route', 'qwen3=b']);
    daemons.push(daemon);
    const warnings = daemon.stderr().split('\n').filter((line) => line.startsWith('murmur: warning: route'));
    expect(warnings).toEqual([
      `murmur: warning: route 'llama-3' (${path}:7) is never used: route 'llama-*' (${path}:5) comes first and matches it, and the first match wins`,
      `murmur: warning: route 'qwen3' (${path}:9) is never used: route 'qwen3' (--route) comes first and matches it, and the first match wins`,
    ]);
  });
});
