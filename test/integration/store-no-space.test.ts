import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatBytes } from '../../commands/ui/format.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { metaPath, partialPath } from '../../src/store/paths.js';
import { runCli } from '../helpers/cli.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, fixtureCatalog, makeTestStore, MIRROR_FILES, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels } from '../helpers/models.js';

/*
 * A disk that fills up mid-download, by fault injection: the synchronous
 * write src/store/download.ts makes for each piece fails with ENOSPC once
 * `faults.spaceLeft` bytes went through. (A real disk-full cannot be made
 * here; test/integration/store-errors.test.ts also writes into /dev/full.)
 */
const faults = vi.hoisted(() => ({ spaceLeft: Number.POSITIVE_INFINITY }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buffer: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    const wanted = typeof (rest[1] as number | undefined) === 'number' ? (rest[1] as number) : buffer.byteLength - ((rest[0] as number | undefined) ?? 0);
    if (faults.spaceLeft < wanted) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    const written = (fs.writeSync as (...args: unknown[]) => number)(fd, buffer, ...rest);
    faults.spaceLeft -= written;
    return written;
  }) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const GGUF_URL = 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';

describe.skipIf(missingModels(...MIRROR_MODELS))('a disk that fills up mid-download', () => {
  let mirror: string;
  let server: HttpFixture;
  let catalog: Catalog;
  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
    catalog = await fixtureCatalog();
  });
  afterAll(async () => {
    await server?.close();
    if (mirror) rmSync(mirror, { recursive: true, force: true });
  });

  it('says no_space with what the partial holds and how to free it; `pull --clean` frees it, and a pull afterwards installs', async () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-nospace-'));
    const { store } = makeTestStore(catalog, server.url, { home });
    faults.spaceLeft = 300_000;
    const error = await store.pull('test-stories260k').catch((e: unknown) => e);
    faults.spaceLeft = Number.POSITIVE_INFINITY;

    const partial = partialPath(home, GGUF_URL);
    const held = statSync(partial).size;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(300_000);
    expect(error).toMatchObject({
      code: 'no_space',
      message: `No space left on the device while downloading ${GGUF_URL}: its partial download (${formatBytes(held)}) is kept in ${join(home, 'partial')} to resume.`,
      hint: expect.stringContaining('`murmur pull --clean`'),
    });
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
    expect(existsSync(join(home, 'models', 'test-stories260k'))).toBe(false);

    // What --clean frees: the partial and its sidecar.
    const freed = held + statSync(metaPath(partial)).size;
    const env = { MURMUR_HOME: home, MURMUR_MIRROR: server.url, MURMUR_CATALOG: FIXTURE_CATALOG };
    const clean = await runCli(['pull', '--clean'], env);
    expect(clean).toMatchObject({ code: 0, stderr: `removed 1 partial download (${formatBytes(freed)})\n` });
    expect(readdirSync(join(home, 'partial'))).toEqual([]);
    expect((await runCli(['pull', '--clean', '--json'], env)).stdout).toBe(`${JSON.stringify({ status: 'cleaned', partials: [], staging: [], inUse: [], bytes: 0 })}\n`);

    const again = await runCli(['pull', 'test-stories260k', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(statSync(join(home, 'models', 'test-stories260k', MIRROR_FILES.gguf.split('/').at(-1)!)).size).toBe(1185376);
    rmSync(home, { recursive: true, force: true });
  });
});
