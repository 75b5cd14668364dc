import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { builtBin } from '../helpers/daemon.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, fixtureCatalog, makeTestStore, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';
import { metaPath, partialPath } from '../../src/store/paths.js';

const GGUF = 'stories260K/stories260K.gguf';
const OFFLINE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'dns-offline.mjs');

/** A 127.0.0.1 port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
};

describe.skipIf(missingModels(...MIRROR_MODELS))('pull: failures that name what the user typed, links and shared files', () => {
  let mirror: string;
  let server: HttpFixture;
  let work: string;
  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
    work = mkdtempSync(join(tmpdir(), 'murmur-pull-import-'));
  });
  afterAll(() => server?.close());

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    MURMUR_HOME: mkdtempSync(join(work, 'home-')),
    MURMUR_MIRROR: server.url,
    MURMUR_CATALOG: FIXTURE_CATALOG,
    ...extra,
  });

  it('offline first run: chat names the model and the host, offers a mirror or an import, and promises no resume', async () => {
    const home = mkdtempSync(join(work, 'offline-'));
    const port = await closedPort();
    // No network: every name lookup fails (a preload); no daemon answers at MURMUR_HOST; no mirror.
    const result = spawnSync(process.execPath, ['--import', OFFLINE, builtBin, 'chat', 'test-stories', 'hi'], {
      env: { PATH: process.env.PATH, MURMUR_HOME: home, MURMUR_CATALOG: FIXTURE_CATALOG, MURMUR_HOST: `http://127.0.0.1:${port}` },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain('murmur: Could not reach huggingface.co to download test-stories260k: ENOTFOUND.');
    expect(result.stderr).toContain('MURMUR_MIRROR');
    expect(result.stderr).toContain('`murmur pull ./model.gguf --name test-stories260k`');
    expect(result.stderr).not.toMatch(/resum/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a refused mirror: resuming is promised only once a partial holds bytes', async () => {
    const port = await closedPort();
    const catalog = await fixtureCatalog();
    const { store, home } = makeTestStore(catalog, `http://127.0.0.1:${port}`, { deps: { retries: 0 } });
    const first = (await store.pull('test-stories260k').catch((e: unknown) => e)) as { message: string; hint: string };
    expect(first.message).toBe(`Could not reach 127.0.0.1:${port} (MURMUR_MIRROR) to download test-stories260k: ECONNREFUSED.`);
    expect(first.hint).not.toMatch(/resum/);
    expect(first.hint).toContain('`murmur pull ./model.gguf --name test-stories260k`');

    const url = catalog.find('test-stories260k')!.files[0]!.url;
    const partial = partialPath(home, url);
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, readFileSync(testModel(GGUF)!).subarray(0, 4096));
    writeFileSync(metaPath(partial), JSON.stringify({ url, validator: '"x"', total: 1185376 }));
    const second = (await store.pull('test-stories260k').catch((e: unknown) => e)) as { hint: string };
    expect(second.hint).toContain('resumes where it stopped');
  });

  it('a file that is no model: one line about the user\'s path and what murmur recognises, no staging path', async () => {
    const e = env();
    const readme = join(work, 'README.md');
    writeFileSync(readme, '# notes\n');
    const result = await runCli(['pull', readme, '--name', 'junk'], e);
    expect(result.code).toBe(1);
    const [message, hint, ...rest] = result.stderr.trimEnd().split('\n');
    expect(message).toBe(`murmur: '${readme}' is not a model murmur recognises: murmur installs GGUF files (.gguf), and sherpa-onnx model folders or .tar.bz2 archives (Piper/VITS, Kokoro, Kitten, Matcha, Whisper, Moonshine, SenseVoice, Paraformer, transducers, NeMo CTC, TDNN, Silero and TEN VAD).`);
    expect(hint).toContain('murmur pull ./model.gguf --name NAME');
    expect(rest).toEqual([]);
    expect(result.stderr).not.toContain(e.MURMUR_HOME!);

    const folder = join(work, 'photos');
    mkdirSync(folder);
    writeFileSync(join(folder, 'cat.jpg'), 'x');
    const dir = await runCli(['pull', folder, '--name', 'junk'], e);
    expect(dir.stderr).toContain(`'${folder}' is not a model murmur recognises (it holds cat.jpg)`);
    expect(dir.stderr).not.toContain(e.MURMUR_HOME!);
  });

  it('--link imports a file by reference: ls and show say so, a missing target is a clear error, rm removes only the link', async () => {
    const e = env();
    const big = join(mkdtempSync(join(work, 'files-')), 'big.gguf');
    copyFileSync(testModel(GGUF)!, big);
    const pulled = await runCli(['pull', '--link', big, '--name', 'x'], e);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toBe('x\n');
    const dir = join(e.MURMUR_HOME!, 'models', 'x');
    expect(lstatSync(join(dir, 'big.gguf')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'big.gguf'))).toBe(big);
    expect(JSON.parse(readFileSync(join(dir, 'murmur.json'), 'utf8'))).toMatchObject({ linked: big, size: 1185376, family: 'gguf' });
    expect((await runCli(['ls'], e)).stdout).toMatch(/^x\s+llm\s+1\.19 MB \(linked\)/m);
    expect(JSON.parse((await runCli(['ls', '--json'], e)).stdout)).toMatchObject([{ name: 'x', linked: big }]);
    expect((await runCli(['show', 'x'], e)).stdout).toMatch(new RegExp(`linked:\\s+${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(by reference`));

    const moved = join(dirname(big), 'moved.gguf');
    renameSync(big, moved);
    const gone = spawnSync(process.execPath, [builtBin, 'chat', 'x', 'hi', '--local'], { env: { PATH: process.env.PATH, ...e }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(gone.status, gone.stderr).toBe(1);
    expect(gone.stderr).toContain(`'x' is linked to ${big}, which is no longer there.`);
    expect(gone.stderr).toContain('murmur pull --force --link PATH --name x');
    const relinked = await runCli(['pull', '--force', '--link', moved, '--name', 'x'], e);
    expect(relinked.code, relinked.stderr).toBe(0);
    expect(readlinkSync(join(dir, 'moved.gguf'))).toBe(moved);

    expect((await runCli(['rm', 'x'], e)).code).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(statSync(moved).size).toBe(1185376);
  });

  it('--link takes a local file only (exit 2 otherwise)', async () => {
    const e = env();
    const folder = mkdtempSync(join(work, 'folder-'));
    const onFolder = await runCli(['pull', '--link', folder, '--name', 'f'], e);
    expect(onFolder.code).toBe(2);
    expect(onFolder.stderr).toContain('--link imports a file');
    const onCatalog = await runCli(['pull', '--link', 'test-stories260k'], e);
    expect(onCatalog.code).toBe(2);
    expect(onCatalog.stderr).toContain("--link imports a local file by reference; 'test-stories260k' is not a path.");
  });

  it('one file under four names is stored once (hard links); rm of one leaves the others whole; a different file is not shared', async () => {
    const e = env();
    for (const name of ['test-stories260k', 'a', 'b', 'c']) {
      const args = name === 'test-stories260k' ? ['pull', name] : ['pull', 'test-stories260k', '--name', name];
      const result = await runCli(args, e);
      expect(result.code, result.stderr).toBe(0);
    }
    const models = join(e.MURMUR_HOME!, 'models');
    const file = (name: string) => join(models, name, 'stories260K.gguf');
    const inode = statSync(file('test-stories260k')).ino;
    for (const name of ['a', 'b', 'c']) expect(statSync(file(name)).ino).toBe(inode);

    // An import of the same bytes (no sha256 vouched for: hashed because the size matches) is shared too.
    const imported = await runCli(['pull', testModel(GGUF)!, '--name', 'd'], e);
    expect(imported.code, imported.stderr).toBe(0);
    expect(statSync(join(models, 'd', 'stories260K.gguf')).ino).toBe(inode);
    expect(JSON.parse(readFileSync(join(models, 'd', 'murmur.json'), 'utf8')).files[0].sha256).toBe('270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');

    // The same size, other bytes: its own copy.
    const other = join(mkdtempSync(join(work, 'other-')), 'stories260K.gguf');
    const bytes = readFileSync(testModel(GGUF)!);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(other, bytes);
    expect((await runCli(['pull', other, '--name', 'other'], e)).code).toBe(0);
    expect(statSync(join(models, 'other', 'stories260K.gguf')).ino).not.toBe(inode);

    expect((await runCli(['rm', 'a', 'test-stories260k'], e)).code).toBe(0);
    for (const name of ['b', 'c', 'd']) expect(readFileSync(file(name)).equals(readFileSync(testModel(GGUF)!))).toBe(true);
  });
});
