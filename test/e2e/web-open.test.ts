import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';

/**
 * `murmur serve --no-web` and `--open`, and `murmur open`, on a real daemon,
 * with a fake `xdg-open` first on PATH that writes the URL it is given to a
 * file (the real one would start a browser).
 */

type Result = { code: number; stdout: string; stderr: string };
const outcome = (promise: Promise<{ stdout: string; stderr: string }>): Promise<Result> =>
  promise.then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e: Result) => e);

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** A directory holding a fake xdg-open, and the file it appends its argument to; `exit` is its status. */
const fakeOpener = (exit = 0) => {
  const bin = temp('murmur-opener-');
  const opened = join(bin, 'opened.txt');
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\nexit ${exit}\n`);
  chmodSync(join(bin, 'xdg-open'), 0o755);
  return { bin, opened: () => (existsSync(opened) ? readFileSync(opened, 'utf8').split('\n').filter(Boolean) : []) };
};

const env = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const { MURMUR_HOST: _host, MURMUR_API_KEY: _key, MURMUR_DEBUG: _debug, MURMUR_WEB: _web, ...rest } = process.env;
  return { ...rest, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: 'off', ...extra };
};
const withOpener = (home: string, bin: string, extra: NodeJS.ProcessEnv = {}) => env(home, { PATH: `${bin}:${process.env.PATH ?? ''}`, ...extra });

const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const browser = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe.skipIf(process.platform !== 'linux')('the page on and off, and opening it', () => {
  it('--no-web: a browser at / gets "Ollama is running" (200), no assets, the API as before; `murmur open` says it has no page', async () => {
    const home = temp('murmur-noweb-');
    const daemon = await startDaemon(env(home), ['--no-web']);
    daemons.push(daemon);
    const res = await fetch(`${daemon.url}/`, { headers: browser });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ollama is running');
    expect((await fetch(`${daemon.url}/web/assets/app.js`)).status).toBe(404);
    expect((await fetch(`${daemon.url}/v1/models`)).status).toBe(200);

    const { bin, opened } = fakeOpener();
    const open = await outcome(runCli(withOpener(home, bin), 'open'));
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`the daemon at ${daemon.url} serves no browser page`);
    expect(open.stderr).toContain('--no-web');
    expect(opened()).toEqual([]);
  });

  it('MURMUR_WEB=0 turns it off as --no-web does', async () => {
    const daemon = await startDaemon(env(temp('murmur-noweb-'), { MURMUR_WEB: '0' }));
    daemons.push(daemon);
    expect(await (await fetch(`${daemon.url}/`, { headers: browser })).text()).toBe('Ollama is running');
  });

  it('`murmur open` opens the page of the daemon serve.json names, or the one --host names; --print prints it', async () => {
    const home = temp('murmur-open-');
    const daemon = await startDaemon(env(home));
    daemons.push(daemon);
    const page = await fetch(`${daemon.url}/`, { headers: browser });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);

    const { bin, opened } = fakeOpener();
    const open = await outcome(runCli(withOpener(home, bin), 'open'));
    expect(open.stderr).toBe(`murmur: opened ${daemon.url}/\n`);
    expect(open.code).toBe(0);
    expect(opened()).toEqual([`${daemon.url}/`]);

    // --host wins over serve.json (here: another home, which names no daemon).
    const other = await outcome(runCli(withOpener(temp('murmur-open-other-'), bin), 'open', '--host', daemon.url));
    expect(other.code).toBe(0);
    expect(opened()).toEqual([`${daemon.url}/`, `${daemon.url}/`]);

    const printed = await outcome(runCli(withOpener(home, bin), 'open', '--print'));
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(`${daemon.url}/\n`);
    expect(opened()).toHaveLength(2);
  });

  it('`murmur open` with no daemon: exit 1, one line, and the hint `murmur serve --open`; nothing opened', async () => {
    const { bin, opened } = fakeOpener();
    const home = temp('murmur-open-none-');
    const none = await outcome(runCli(withOpener(home, bin), 'open', '--host', 'http://127.0.0.1:9'));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no daemon answers at http://127.0.0.1:9');
    expect(none.stderr).toContain('murmur serve --open');
    expect(opened()).toEqual([]);
  });

  it('a browser that cannot be opened: `murmur open` exits 1 naming the address; `serve --open` warns and serves on', async () => {
    const home = temp('murmur-open-fail-');
    const failing = fakeOpener(3);
    const daemon = await startDaemon(withOpener(home, failing.bin), ['--open']);
    daemons.push(daemon);
    await expect.poll(() => daemon.stderr()).toContain(`murmur: warning: cannot open a browser (xdg-open exited 3); the page is at ${daemon.url}/`);
    expect(failing.opened()).toEqual([`${daemon.url}/`]);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);

    const open = await outcome(runCli(withOpener(home, failing.bin), 'open'));
    expect(open.code).toBe(1);
    expect(open.stderr).toContain('cannot open a browser: xdg-open exited 3');
    expect(open.stderr).toContain(`Open ${daemon.url}/ in a browser yourself`);

    // No opener on PATH at all: the same, as one line.
    const bare = temp('murmur-empty-bin-');
    const missing = await outcome(runCli(env(home, { PATH: bare }), 'open'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no xdg-open on PATH');
  });

  it('`serve --open` opens the page once listening', async () => {
    const home = temp('murmur-serve-open-');
    const { bin, opened } = fakeOpener();
    const daemon = await startDaemon(withOpener(home, bin), ['--open']);
    daemons.push(daemon);
    await expect.poll(opened).toEqual([`${daemon.url}/`]);
    expect(daemon.stderr()).not.toContain('cannot open');
  });
});
