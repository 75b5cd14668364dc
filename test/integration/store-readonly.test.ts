import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStoreDir } from '../../src/store/paths.js';
import { runCli } from '../helpers/daemon.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * A store murmur cannot write: `pull` and `rm` of the built CLI exit 1 with
 * store_not_writable's message and hint, never a stack trace. Tests run as
 * root, where chmod stops nothing: the store sits under a regular file
 * (ENOTDIR), or test/helpers/fs-faults.mjs, preloaded, fails every write
 * under it with EROFS, EACCES, EPERM or ENOENT.
 */

const PRELOAD = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fs-faults.mjs');
const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built CLI, resolving with its exit code rather than rejecting on a failure. */
const cli = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> =>
  runCli(env, ...args).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );

const expectNotWritable = (run: Run, dir: string, code: string) => {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toMatch(new RegExp(`^murmur: murmur cannot write to its store at ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S* \\(${code}\\)\\.$`, 'm'));
  expect(run.stderr).toContain('  Check the permissions of MURMUR_HOME, or point MURMUR_HOME at a writable directory.');
  expect(`${run.stdout}${run.stderr}`).not.toMatch(/^ {4}at /m);
};

describe('makeStoreDir', () => {
  it.skipIf(!existsSync('/proc/self'))('reports a directory whose parent cannot be made (ENOENT under /proc), where mkdir -p would retry for ever', async () => {
    await expect(makeStoreDir('/proc/murmur-no-such/store/models')).rejects.toMatchObject({
      code: 'store_not_writable',
      message: 'murmur cannot write to its store at /proc/murmur-no-such/store/models (ENOENT).',
    });
  });
});

describe.skipIf(missingModels(...MIRROR_MODELS))('murmur pull and rm on a store it cannot write', () => {
  let mirror: string;
  let server: HttpFixture;
  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
  });
  afterAll(async () => {
    await server?.close();
    for (const dir of [mirror, ...dirs.splice(0)]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = (home: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    MURMUR_HOME: home,
    MURMUR_MIRROR: server.url,
    MURMUR_CATALOG: FIXTURE_CATALOG,
    MURMUR_HOST: 'http://127.0.0.1:9',
  });
  const faulty = (home: string, code: string, ops?: string): NodeJS.ProcessEnv => ({
    ...base(home),
    NODE_OPTIONS: `--import ${PRELOAD}`,
    MURMUR_FAULT_ROOT: home,
    MURMUR_FAULT_CODE: code,
    ...(ops ? { MURMUR_FAULT_OPS: ops } : {}),
  });

  it('a store under a regular file (ENOTDIR): pull, an import and --clean say so', async () => {
    const parent = temp('murmur-notdir-');
    writeFileSync(join(parent, 'file'), 'not a directory\n');
    const home = join(parent, 'file', 'store');
    expectNotWritable(await cli(base(home), 'pull', 'test-stories260k'), home, 'ENOTDIR');
    expectNotWritable(await cli(base(home), 'pull', testModel('stories260K/stories260K.gguf')!, '--name', 'mine'), home, 'ENOTDIR');
    expect(await cli(base(home), 'pull', '--clean')).toMatchObject({ code: 0, stderr: 'no partial downloads to remove\n' });
  });

  for (const code of ['EROFS', 'EACCES', 'EPERM']) {
    it(`an installed store that turned read-only (${code}): rm, pull --force, a new pull and --clean fail cleanly and change nothing`, async () => {
      const home = temp('murmur-ro-');
      expect((await cli(base(home), 'pull', 'test-stories260k', '--json')).code).toBe(0);
      mkdirSync(join(home, 'partial'), { recursive: true });
      writeFileSync(join(home, 'partial', '0123456789abcdef-left.gguf'), 'left by a pull\n');

      const env = faulty(home, code);
      expectNotWritable(await cli(env, 'rm', 'test-stories260k', '--local'), home, code);
      expectNotWritable(await cli(env, 'pull', '--force', 'test-stories260k', '--json'), home, code);
      expectNotWritable(await cli(env, 'pull', 'test-piper-synthetic', '--json'), home, code);
      expectNotWritable(await cli(env, 'pull', '--clean'), home, code);

      expect(existsSync(join(home, 'models', 'test-stories260k', 'murmur.json'))).toBe(true);
      expect(existsSync(join(home, 'partial', '0123456789abcdef-left.gguf'))).toBe(true);
      const list = await cli(base(home), 'list', '--json');
      expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'test-stories260k' }]);
    });
  }

  it('a store whose directories cannot be created (ENOENT from mkdir) says so instead of hanging', async () => {
    const home = join(temp('murmur-enoent-'), 'store');
    expectNotWritable(await cli(faulty(home, 'ENOENT', 'mkdir'), 'pull', 'test-stories260k'), home, 'ENOENT');
  });
});
