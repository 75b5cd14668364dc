import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import { createApp } from '../../src/server/app.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { fixtureCatalog, makeTestStore } from '../helpers/mirror.js';

/*
 * Archives whose links lead out of the model's directory: refused by name
 * (archive_invalid), their download deleted from partial/, nothing left in
 * tmp/ or models/. The archives are made here with the `tar` package and
 * served from a 127.0.0.1 fixture.
 */

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** `voice/` with a file and the links given (name → target), packed as `<root>/<file>`. */
const voiceArchive = async (root: string, file: string, links: Record<string, string>) => {
  const work = temp('murmur-links-');
  mkdirSync(join(work, 'voice'));
  writeFileSync(join(work, 'voice', 'tokens.txt'), 'a 0\n');
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(work, 'voice', name));
  await createTar({ file: join(root, file), cwd: work, gzip: file.endsWith('.gz'), portable: true }, ['voice']);
};

describe('archives with links that lead outside the model', () => {
  let root: string;
  let server: HttpFixture;
  let catalog: Catalog;

  beforeAll(async () => {
    root = temp('murmur-served-');
    await voiceArchive(root, 'absolute.tar.gz', { evil: '/etc/passwd' });
    await voiceArchive(root, 'sibling.tar', { evil: '../other-model/model.onnx' });
    await voiceArchive(root, 'above.tar.gz', { evil: '../../../../etc/passwd' });
    server = await startHttpFixture(root);
    catalog = await fixtureCatalog();
  });
  afterAll(async () => {
    await server?.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const leftNothing = (home: string) => {
    for (const dir of ['partial', 'tmp', 'models']) expect(readdirSync(join(home, dir)), dir).toEqual([]);
  };

  it('refuses an absolute symlink by name, and keeps neither the download nor a half-extracted copy', async () => {
    const { store, home } = makeTestStore(catalog, undefined, { home: temp('murmur-home-') });
    const error = await store.pull(`${server.url}/absolute.tar.gz`, { name: 'voice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'archive_invalid',
      message: 'absolute.tar.gz contains a link to an absolute path (voice/evil → /etc/passwd), which would lead outside the model\'s directory.',
      hint: expect.stringContaining('Nothing was installed'),
    });
    leftNothing(home);
  });

  it('refuses a relative symlink that climbs out of the model directory, into a sibling or above the store', async () => {
    for (const [file, target] of [['sibling.tar', '../other-model/model.onnx'], ['above.tar.gz', '../../../../etc/passwd']]) {
      const { store, home } = makeTestStore(catalog, undefined, { home: temp('murmur-home-') });
      await expect(store.pull(`${server.url}/${file}`, { name: 'voice' }), file).rejects.toMatchObject({
        code: 'archive_invalid',
        message: `${file} contains a link that leads outside the model's directory (voice/evil → ${target}).`,
      });
      leftNothing(home);
    }
  });

  it('answers /murmur/v1/pull with the named error line, not an internal error', async () => {
    const home = temp('murmur-home-');
    await using runtime = await createRuntime(loadConfig({ MURMUR_HOME: home }, { pullHosts: ['127.0.0.1'] }));
    const log: Record<string, unknown>[] = [];
    const res = await createApp(runtime, { log: (entry) => log.push({ ...entry }) }).request('/murmur/v1/pull', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: `${server.url}/absolute.tar.gz`, name: 'voice' }),
    });
    const lines = (await res.text()).trim().split('\n').map((line) => JSON.parse(line) as { status?: string; error?: Record<string, string> });
    // The download streamed progress first, so the status is already 200: the failure is the last line.
    expect(lines.some((line) => line.status === 'extracting')).toBe(true);
    expect(lines.at(-1)!.error).toMatchObject({ code: 'archive_invalid', message: expect.stringContaining('(voice/evil → /etc/passwd)'), hint: expect.any(String) });
    expect(await runtime.listModels()).toEqual([]);
    // Logged once the stream ended, with the problem named (not a bare 200).
    expect(log.find((entry) => entry.path === '/murmur/v1/pull')).toMatchObject({ status: 200, error: expect.stringContaining('link to an absolute path') });
    leftNothing(home);
  });
});
