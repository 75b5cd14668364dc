import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import { createApp } from '../../src/server/app.js';
import { isInwardAddress, publicLookup } from '../../src/store/address-guard.js';
import { sourceFor } from '../../src/store/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * What a client may make the daemon fetch through /murmur/v1/pull (SSRF and
 * local file reads). The "remote" server is a listener of this test's own
 * on 127.0.0.2, which is exactly the kind of address a pull asked for over
 * HTTP must not reach unless the host is listed.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);

interface PullLine {
  status?: string;
  error?: { code: string; message: string };
}

describe.skipIf(skip)(`pulls asked for over HTTP${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-pull-http-'));
    const bytes = readFileSync(testModel(GGUF)!);
    server = createServer((_req, res) => res.end(bytes));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    origin = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const pullWith = async (overrides: Partial<Config>, model: string) => {
    const config = loadConfig({ MURMUR_HOME: join(home, String(Math.random()).slice(2)) }, overrides);
    await using runtime = await createRuntime(config);
    const app = createApp(runtime);
    const res = await app.request('/murmur/v1/pull', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model, name: 'tiny' }) });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as PullLine);
    return { status: res.status, last: lines.at(-1)!, installed: (await runtime.listModels()).map((m) => m.name) };
  };

  it('refuses a URL on a host that is neither the catalog’s nor listed', async () => {
    const { status, last, installed } = await pullWith({}, `${origin}/stories.gguf`);
    // Refused before any progress line: the answer keeps its status.
    expect(status).toBe(403);
    expect(last.error).toMatchObject({ code: 'forbidden' });
    expect(last.error!.message).toMatch(/127\.0\.0\.2/);
    expect(installed).toEqual([]);
  });

  it("with MURMUR_PULL_HOSTS='*', still refuses a loopback or private address, at connect", async () => {
    const { status, last, installed } = await pullWith({ pullHosts: ['*'] }, `${origin}/stories.gguf`);
    expect(status).toBe(403);
    expect(last.error?.message).toMatch(/loopback, private or link-local address \(127\.0\.0\.2\)/);
    expect(installed).toEqual([]);
  });

  it('fetches from a host MURMUR_PULL_HOSTS names, private or not', async () => {
    const { status, last, installed } = await pullWith({ pullHosts: ['127.0.0.2'] }, `${origin}/stories.gguf`);
    expect(status).toBe(200);
    expect(last.status).toBe('installed');
    expect(installed).toEqual(['tiny']);
  });

  it('imports no local path over HTTP unless it is inside MURMUR_IMPORT_DIRS, and no file: URL', async () => {
    const file = testModel(GGUF)!;
    expect((await pullWith({}, file)).last.error).toMatchObject({ code: 'forbidden' });
    expect((await pullWith({}, '/etc')).last.error).toMatchObject({ code: 'forbidden' });
    expect((await pullWith({ importDirs: [dirname(file)] }, file)).last.status).toBe('installed');
    const elsewhere = join(home, 'imports');
    mkdirSync(elsewhere, { recursive: true });
    expect((await pullWith({ importDirs: [elsewhere] }, join(elsewhere, '..', '..', '..', file))).last.error).toMatchObject({ code: 'forbidden' });
    const fileUrl = await pullWith({ pullHosts: ['*'] }, `file://${file}`);
    expect(fileUrl.last.error).toBeDefined();
    expect(fileUrl.installed).toEqual([]);
  });

  it('keeps a mirrored path inside the mirror directory', () => {
    expect(() => sourceFor('https://huggingface.co/a/..%2F..%2F..%2Fetc%2Fpasswd', '/srv/mirror')).toThrow(/leave the mirror directory/);
    expect(sourceFor('https://huggingface.co/a/b/resolve/main/x.gguf', '/srv/mirror')).toEqual({ kind: 'file', path: '/srv/mirror/huggingface.co/a/b/resolve/main/x.gguf' });
  });

  it('tells inward addresses from public ones, and refuses names that resolve inward', async () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.0.10', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '224.0.0.1']) expect(isInwardAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '::ffff:8.8.8.8']) expect(isInwardAddress(a), a).toBe(false);
    const error = await new Promise<Error | null>((resolve) => publicLookup('localhost', {}, (e) => resolve(e)));
    expect(error?.message).toMatch(/Refused to fetch from localhost/);
  });
});
