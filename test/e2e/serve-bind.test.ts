import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';

const home = mkdtempSync(join(tmpdir(), 'murmur-bind-'));
const env = { ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_ISOLATION: 'none' };
const NOTE = 'murmur: serve --host is now --bind; --host still works';
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('serve --bind (and the old --host)', () => {
  it('--bind sets the address it listens on, with no note', async () => {
    const daemon = await startDaemon(env, ['--bind', '127.0.0.2']);
    daemons.push(daemon);
    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    expect(daemon.stderr()).not.toContain('--host');
  });

  it('--host still binds, with a one-line note on stderr', async () => {
    const daemon = await startDaemon(env, ['--host', '127.0.0.3']);
    daemons.push(daemon);
    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.3:\d+$/);
    expect(daemon.stderr().split('\n').filter((l) => l.includes('--host'))).toEqual([NOTE]);
  });

  it('an address that is not local is a usage error naming it; --help shows --bind, not --host', async () => {
    const failed = await runCli(env, 'serve', '--port', '0', '--bind', '192.0.2.1').catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining("Cannot bind to '192.0.2.1'") });
    const help = (await runCli(env, 'serve', '--help')).stdout;
    expect(help).toMatch(/--bind <address>/);
    expect(help).not.toMatch(/--host/);
    expect(help).toContain('murmur serve --bind 0.0.0.0');
  });
});
