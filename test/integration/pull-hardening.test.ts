import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtBin } from '../helpers/daemon.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, MIRROR_FILES, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

/** Pulls across processes: the store's locks hold between two `murmur pull` runs, not only inside one. */

const skip = missingModels(...MIRROR_MODELS);

interface Run {
  readonly code: number | null;
  readonly events: Record<string, unknown>[];
  readonly stderr: string;
}

const pull = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [builtBin, 'pull', ...args, '--json'], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      // --json: progress events are JSON lines on stderr (with any error message), the result on stdout.
      const events = `${stderr}\n${stdout}`.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, events, stderr });
    });
  });

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.skipIf(skip)(`murmur pull across processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let mirror: string;
  let server: HttpFixture;
  let home: string;
  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
    home = mkdtempSync(join(tmpdir(), 'murmur-pull-hardening-'));
  });
  afterAll(async () => {
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
    if (mirror) rmSync(mirror, { recursive: true, force: true });
  });

  it('two processes pulling one model at once: one downloads (resuming through dropped connections), the other waits and reuses it', async () => {
    const path = `/${MIRROR_FILES.gguf}`;
    // The connection drops three times, so the first pull holds its lock for seconds of retry back-off: the other one must wait.
    server.fault(path, { dropAfter: 200_000, times: 3 });
    const env = { MURMUR_HOME: home, MURMUR_MIRROR: server.url, MURMUR_CATALOG: FIXTURE_CATALOG, MURMUR_HOST: 'http://127.0.0.1:9' };
    const [a, b] = await Promise.all([pull(env, 'test-stories260k'), pull(env, 'test-stories260k')]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);

    const success = [a, b].map((run) => run.events.find((e) => e.status === 'success'));
    expect(success.map((s) => s?.reused).sort()).toEqual([false, true]);
    const waited = [a, b].find((run) => run.events.some((e) => e.status === 'waiting'));
    expect(waited, 'neither pull reported waiting for the other').toBeDefined();
    expect(waited!.events.find((e) => e.status === 'success')!.reused).toBe(true);

    // One download: the first try and three resumes, each from where the last stopped.
    const gets = server.requests.filter((r) => r.path === path);
    expect(gets).toHaveLength(4);
    expect(gets[0]!.range).toBeUndefined();
    expect(gets.slice(1).map((r) => r.status)).toEqual([206, 206, 206]);

    const installed = join(home, 'models', 'test-stories260k', 'stories260K.gguf');
    expect(sha256(installed)).toBe(sha256(testModel('stories260K/stories260K.gguf')!));
    expect(readdirSync(join(home, 'partial'))).toEqual([]);
  }, 30_000);
});
