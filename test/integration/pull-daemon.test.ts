import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtBin, startDaemon, type Daemon } from '../helpers/daemon.js';
import { buildMirror, FIXTURE_CATALOG } from '../helpers/mirror.js';
import { missingModels } from '../helpers/models.js';

const run = (env: NodeJS.ProcessEnv, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [builtBin, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });

describe.skipIf(missingModels('stories260K/stories260K.gguf'))('chat with a daemon running: a catalog model not installed is pulled by the daemon', () => {
  let daemon: Daemon;
  let daemonHome: string;
  beforeAll(async () => {
    daemonHome = mkdtempSync(join(tmpdir(), 'murmur-daemon-home-'));
    daemon = await startDaemon({ ...process.env, MURMUR_HOME: daemonHome, MURMUR_MIRROR: buildMirror(), MURMUR_CATALOG: FIXTURE_CATALOG, MURMUR_API_KEY: '' });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('murmur chat NAME pulls NAME into the daemon\'s store, then answers through it', async () => {
    const clientHome = mkdtempSync(join(tmpdir(), 'murmur-client-home-'));
    const result = await run({ MURMUR_HOME: clientHome, MURMUR_HOST: daemon.url, MURMUR_CATALOG: FIXTURE_CATALOG }, ['chat', 'test-stories', 'Once', '--max-tokens', '4']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('test-stories is not downloaded yet; pulling test-stories.');
    expect(result.stderr).toContain('test-stories260k installed');
    expect(result.stdout.length).toBeGreaterThan(0);
    expect(readdirSync(join(daemonHome, 'models'))).toEqual(['test-stories260k']);
    expect(existsSync(join(clientHome, 'models', 'test-stories260k'))).toBe(false);
  });
});
