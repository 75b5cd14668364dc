import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/catalog.js';
import { partialPath } from '../../src/store/paths.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, fixtureCatalog, makeTestStore, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels } from '../helpers/models.js';

const GGUF_URL = 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
const GGUF_PATH = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';

/** A port on 127.0.0.1 that nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
};

describe.skipIf(missingModels(...MIRROR_MODELS))('pull failures', () => {
  let mirror: string;
  let server: HttpFixture;
  let catalog: Catalog;

  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
    catalog = await fixtureCatalog();
  });
  afterAll(() => server?.close());

  const nothingInstalled = (home: string, name: string) => {
    expect(existsSync(join(home, 'models', name))).toBe(false);
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
  };

  it('a sha256 mismatch installs nothing, deletes the partial and says expected vs got', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const error = await store.pull('test-stories-badsum').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'checksum_mismatch', hint: expect.stringContaining('nothing was installed') });
    expect((error as Error).message).toMatch(/expected 0{64}, got 270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d/);
    nothingInstalled(home, 'test-stories-badsum');
    expect(readdirSync(join(home, 'partial'))).toEqual([]);
  });

  it('404 says the file was not found at its URL', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    await expect(store.pull('test-missing')).rejects.toMatchObject({
      code: 'download_failed',
      message: expect.stringMatching(/^Not found at http:\/\/127\.0\.0\.1:\d+\/huggingface\.co\/.*no-such-model\.gguf \(HTTP 404\)/),
    });
    nothingInstalled(home, 'test-missing');
  });

  it('404 from a directory mirror names the missing file', async () => {
    const { store } = makeTestStore(catalog, mirror);
    await expect(store.pull('test-missing')).rejects.toMatchObject({ code: 'download_failed', message: expect.stringContaining(join(mirror, 'huggingface.co')) });
  });

  it('a 500 is retried, then reported with its status', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    server.fault(GGUF_PATH, { status: 500 });
    const before = server.requests.length;
    try {
      await expect(store.pull('test-stories260k')).rejects.toMatchObject({ code: 'download_failed', message: expect.stringContaining('HTTP 500') });
    } finally {
      server.clear(GGUF_PATH);
    }
    expect(server.requests.slice(before).filter((r) => r.status === 500).length).toBeGreaterThan(1);
    nothingInstalled(home, 'test-stories260k');
  });

  it('a refused connection says which host could not be reached', async () => {
    const port = await closedPort();
    const { store } = makeTestStore(catalog, `http://127.0.0.1:${port}`, { deps: { retries: 1 } });
    await expect(store.pull('test-stories260k')).rejects.toMatchObject({ code: 'download_failed', message: `Could not reach 127.0.0.1:${port} (MURMUR_MIRROR) to download test-stories260k: ECONNREFUSED.` });
  });

  it('a file that is not an archive installs nothing', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    await expect(store.pull('test-not-an-archive')).rejects.toMatchObject({ code: 'archive_invalid', message: expect.stringContaining('not-an-archive.tar.bz2 is not a valid archive') });
    nothingInstalled(home, 'test-not-an-archive');
  });

  it('an archive without a single top folder installs nothing', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    await expect(store.pull('test-two-top-folders')).rejects.toMatchObject({ code: 'archive_invalid', message: expect.stringContaining('single top folder') });
    nothingInstalled(home, 'test-two-top-folders');
  });

  it('an unknown model name suggests close names', async () => {
    const { store } = makeTestStore(catalog, server.url);
    await expect(store.pull('test-storis')).rejects.toMatchObject({ code: 'model_not_found', hint: expect.stringContaining("'test-stories'") });
    await expect(store.require('test-stories260k')).rejects.toMatchObject({ code: 'model_not_downloaded' });
  });

  it('a store under a regular file is reported as not writable, naming the directory', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'murmur-notdir-'));
    writeFileSync(join(parent, 'file'), 'not a directory\n');
    const home = join(parent, 'file', 'store');
    const { store } = makeTestStore(catalog, server.url, { home });
    await expect(store.pull('test-stories260k')).rejects.toMatchObject({
      code: 'store_not_writable',
      message: expect.stringContaining(join(home, 'models')),
      hint: expect.stringContaining('MURMUR_HOME'),
    });
  });

  it.skipIf(!existsSync('/dev/full'))('no space left on the device is reported with a hint, the partial kept', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const partial = partialPath(home, GGUF_URL);
    mkdirSync(join(home, 'partial'), { recursive: true });
    symlinkSync('/dev/full', partial);
    await expect(store.pull('test-stories260k')).rejects.toMatchObject({ code: 'no_space', hint: expect.stringContaining('Free some space') });
    expect(existsSync(partial)).toBe(true);
    nothingInstalled(home, 'test-stories260k');
  });
});
