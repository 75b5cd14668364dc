import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';

/** `murmur serve --port 0` writes MURMUR_HOME/serve.json; without MURMUR_HOST the other verbs find the daemon through it. */

type Result = { code: number; stdout: string; stderr: string };
const outcome = (promise: Promise<{ stdout: string; stderr: string }>): Promise<Result> =>
  promise.then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e: Result) => e);

const homes: string[] = [];
const newHome = () => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-discovery-'));
  homes.push(home);
  return home;
};
/** No MURMUR_HOST at all (unless given): the case serve.json is for. */
const env = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const { MURMUR_HOST: _host, MURMUR_API_KEY: _key, MURMUR_DEBUG: _debug, ...rest } = process.env;
  return { ...rest, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: 'off', ...extra };
};
const daemons: Daemon[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) if (d.process.exitCode === null) d.process.kill('SIGKILL');
});
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('finding a `murmur serve --port 0` through MURMUR_HOME/serve.json', () => {
  it('status, ps and stop find it without MURMUR_HOST; an explicit MURMUR_HOST or --host wins; another home does not see it', async () => {
    const home = newHome();
    const daemon = await startDaemon(env(home));
    daemons.push(daemon);
    const file = join(home, 'serve.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: daemon.url, pid: daemon.process.pid, started_at: expect.stringMatching(/Z$/) });

    const status = await outcome(runCli(env(home), 'status'));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`daemon   ${daemon.url} (ok), found in ${file}`);
    const json = JSON.parse((await runCli(env(home), 'status', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ url: daemon.url, source: 'serve.json', pid: daemon.process.pid });
    expect((await outcome(runCli(env(home), 'ps'))).code).toBe(0);

    // Explicit beats discovered: MURMUR_HOST, then --host.
    const pointed = await outcome(runCli(env(home, { MURMUR_HOST: 'http://127.0.0.1:9' }), 'status'));
    expect(pointed.code).toBe(1);
    expect(pointed.stderr).toContain('no daemon answers at http://127.0.0.1:9');
    const flagged = await outcome(runCli(env(home), 'ps', '--host', 'http://127.0.0.1:9'));
    expect(flagged.code).toBe(1);
    expect(flagged.stderr).toContain('http://127.0.0.1:9');
    // Another home has no serve.json of this daemon's.
    const elsewhere = await outcome(runCli(env(newHome()), 'status', '--json'));
    expect(elsewhere.stdout).not.toContain(daemon.url);
    expect(elsewhere.stderr).not.toContain(daemon.url);

    // The CLI's probes were answered and counted, but kept out of the request log (no MURMUR_DEBUG).
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/murmur_http_requests_total\{route="\/health",method="GET",status="200"\} [1-9]/);
    expect(daemon.log().filter((l) => l.path === '/health')).toEqual([]);
    expect(daemon.log().some((l) => l.path === '/murmur/v1/ps')).toBe(true);

    const stopped = await outcome(runCli(env(home), 'stop'));
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain(`murmur: stopping the daemon at ${daemon.url} (found in ${file})`);
    expect(await daemon.stop()).toBe(0);
    expect(existsSync(file)).toBe(false);
    // JSON log mode: the way out is two events; only `listening on` stays a plain line.
    expect(daemon.log().filter((l) => typeof l.event === 'string' && ['shutdown', 'stopped'].includes(l.event)).map((l) => l.event)).toEqual(['shutdown', 'stopped']);
    expect(daemon.stderr().split('\n').filter((l) => l && !l.startsWith('{'))).toEqual([`murmur: listening on ${daemon.url}`]);
  });

  it('ignores a serve.json whose process is gone or whose URL answers as another process', async () => {
    const home = newHome();
    const other = await startDaemon(env(newHome()));
    daemons.push(other);
    const file = join(home, 'serve.json');
    for (const stale of [
      { url: other.url, pid: 2 ** 22 + 12345, started_at: '2020-01-01T00:00:00.000Z' }, // no such process
      { url: other.url, pid: process.pid, started_at: '2020-01-01T00:00:00.000Z' }, // a live process, but the daemon there is another one
      { url: 'http://127.0.0.1:9', pid: process.pid, started_at: '2020-01-01T00:00:00.000Z' }, // nothing answers
    ]) {
      writeFileSync(file, JSON.stringify(stale));
      const result = await outcome(runCli(env(home), 'status', '--json'));
      // It falls back to the default address (where nothing may answer, or a daemon of someone else's).
      if (result.code === 0) expect(JSON.parse(result.stdout)).toMatchObject({ source: 'default' });
      else expect(result.stderr).toContain('no daemon answers at http://127.0.0.1:11470');
      expect(result.stdout + result.stderr).not.toContain(stale.url);
    }
    expect(await other.stop()).toBe(0);
  });

  it('a pretty log keeps the plain lines; MURMUR_DEBUG logs the probes', async () => {
    const home = newHome();
    const daemon = await startDaemon(env(home, { MURMUR_DEBUG: '1' }), ['--log-format', 'pretty']);
    daemons.push(daemon);
    expect((await outcome(runCli(env(home), 'status'))).code).toBe(0);
    expect(await daemon.stop()).toBe(0);
    expect(daemon.stderr()).toMatch(/ GET \/health 200 /);
    expect(daemon.stderr()).toMatch(/^murmur: shutting down\n(.*\n)*murmur: stopped\n$/m);
  });
});
