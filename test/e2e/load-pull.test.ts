import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtBin, startDaemon, type Daemon } from '../helpers/daemon.js';
import { buildMirror, FIXTURE_CATALOG } from '../helpers/mirror.js';
import { missingModels } from '../helpers/models.js';

/** The built CLI with `env` (and nothing else but PATH). */
const run = (env: NodeJS.ProcessEnv, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [builtBin, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });

describe.skipIf(missingModels('stories260K/stories260K.gguf'))('murmur load of a catalog model not downloaded yet (built CLI, real daemon)', () => {
  let daemon: Daemon;
  let daemonHome: string;
  let clientHome: string;
  let mirror: string;
  beforeAll(async () => {
    daemonHome = mkdtempSync(join(tmpdir(), 'murmur-load-daemon-'));
    clientHome = mkdtempSync(join(tmpdir(), 'murmur-load-client-'));
    mirror = buildMirror();
    daemon = await startDaemon({ ...process.env, MURMUR_HOME: daemonHome, MURMUR_MIRROR: mirror, MURMUR_CATALOG: FIXTURE_CATALOG, MURMUR_API_KEY: '' });
  });
  afterAll(async () => {
    await daemon?.stop();
    for (const dir of [daemonHome, clientHome, mirror]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ MURMUR_HOME: clientHome, MURMUR_HOST: daemon.url, MURMUR_CATALOG: FIXTURE_CATALOG });

  it('pulls it through the daemon into the daemon\'s store, with progress on stderr, then loads it', async () => {
    const result = await run(env(), ['load', 'test-stories', '--keep-alive', '1m']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('test-stories is not downloaded yet; pulling test-stories.');
    expect(result.stderr).toContain('test-stories260k installed');
    expect(result.stderr).toMatch(/loaded test-stories260k \(llm, /);
    expect(result.stdout).toBe('');
    expect(readdirSync(join(daemonHome, 'models'))).toEqual(['test-stories260k']);
    expect(existsSync(join(clientHome, 'models', 'test-stories260k'))).toBe(false);
    const ps = await run(env(), ['ps', '--json']);
    expect(ps.stdout).toContain('test-stories260k');

    // Installed now: no second pull, and --json keeps stdout to the one object.
    const again = await run(env(), ['load', 'test-stories', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('pulling');
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'test-stories260k', kind: 'llm' });
  });

  it('a failed pull gives its own clear message and exit 1; an unknown name is still unknown', async () => {
    const missing = await run(env(), ['load', 'test-missing']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('pulling test-missing');
    expect(missing.stderr).toMatch(/murmur: Not found at .*no-such-model\.gguf/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const unknown = await run(env(), ['load', 'nosuch-thing']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("murmur: Unknown model 'nosuch-thing'.");
    expect(unknown.stderr).not.toContain('pulling');
  });
});
