import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/catalog.js';
import { metaPath, partialPath } from '../../src/store/paths.js';
import type { PullEvent } from '../../src/store/types.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, fixtureCatalog, makeTestStore, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.skipIf(missingModels(...MIRROR_MODELS))('pull through a mirror', () => {
  let mirror: string;
  let server: HttpFixture;
  let catalog: Catalog;
  const gguf = () => testModel('stories260K/stories260K.gguf')!;

  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
    catalog = await fixtureCatalog();
  });
  afterAll(() => server?.close());

  it('pulls a GGUF from an http mirror, verifies it and writes the manifest', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const events: PullEvent[] = [];
    const model = await store.pull('test-stories', { onProgress: (e) => events.push(e) });
    expect(model.name).toBe('test-stories260k');
    expect(model.dir).toBe(join(home, 'models', 'test-stories260k'));
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
    expect(model).toMatchObject({ kind: 'llm', engine: 'llama-cpp', family: 'gguf', layout: { model: 'stories260K.gguf' } });
    const manifest = JSON.parse(readFileSync(join(model.dir, 'murmur.json'), 'utf8'));
    expect(manifest.files).toEqual([{ path: 'stories260K.gguf', size: readFileSync(gguf()).length, sha256: sha256(gguf()) }]);
    const downloads = events.filter((e) => e.status === 'downloading');
    expect(downloads.at(-1)).toMatchObject({ completed: readFileSync(gguf()).length, total: readFileSync(gguf()).length });
    expect(events.at(-1)).toMatchObject({ status: 'success', reused: false });
    expect(readdirSync(join(home, 'partial'))).toEqual([]);
    expect(readdirSync(join(home, 'tmp'))).toEqual([]);
    expect((await store.list()).map((m) => m.name)).toEqual(['test-stories260k']);

    const again = await store.pull('test-stories260k', { onProgress: (e) => events.push(e) });
    expect(events.at(-1)).toMatchObject({ status: 'success', reused: true });
    expect(again.pulledAt).toBe(model.pulledAt);
  });

  it('pulls from a mirror that is a local directory', async () => {
    const { store } = makeTestStore(catalog, mirror);
    const model = await store.pull('test-stories260k');
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
  });

  it('extracts a .tar.bz2 release archive, stripping its top folder', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const events: PullEvent[] = [];
    const model = await store.pull('test-piper-synthetic', { onProgress: (e) => events.push(e) });
    expect(readdirSync(model.dir).sort()).toEqual(['espeak-ng-data', 'model.onnx', 'murmur.json', 'tokens.txt']);
    expect(sha256(join(model.dir, 'model.onnx'))).toBe(sha256(testModel('tts-synthetic/piper-style/model.onnx')!));
    expect(model).toMatchObject({ kind: 'tts', engine: 'sherpa-onnx', family: 'vits', defaultVoice: 'tone' });
    expect(model.layout.model).toBe('model.onnx');
    expect(events.some((e) => e.status === 'extracting')).toBe(true);
  });

  it('resumes with a Range request after the connection drops mid-file', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    server.fault(path, { dropAfter: 300_000 });
    const before = server.requests.length;
    const model = await store.pull('test-stories260k');
    const seen = server.requests.slice(before).filter((r) => r.path === path);
    expect(seen[0]).toMatchObject({ status: 200, range: undefined });
    expect(seen[1]?.status).toBe(206);
    expect(seen[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(Number(seen[1]!.range!.slice(6, -1))).toBeGreaterThan(0);
    expect(seen[1]?.ifRange).toBeDefined();
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
  });

  it('starts over when the server ignores Range', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    // Drop the first answer; then answer the resuming Range request with the whole file.
    server.fault(path, { dropAfter: 200_000, then: { ignoreRange: true, times: 1 } });
    const before = server.requests.length;
    const model = await store.pull('test-stories260k');
    const seen = server.requests.slice(before).filter((r) => r.path === path);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({ status: 200, range: expect.stringMatching(/^bytes=[1-9]\d*-$/) });
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
  });

  it('resumes the partial an interrupted pull left behind', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    server.fault(path, { stallAfter: 400_000 });
    const controller = new AbortController();
    const partialDir = join(home, 'partial');
    const first = store.pull('test-stories260k', {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.status === 'downloading' && e.completed > 0) setTimeout(() => controller.abort(), 50);
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'aborted', hint: expect.stringMatching(/resume/) });
    const partial = readdirSync(partialDir).find((f) => f.endsWith('.gguf'))!;
    const kept = readFileSync(join(partialDir, partial)).length;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(join(home, 'models', 'test-stories260k'))).toBe(false);

    const before = server.requests.length;
    const model = await store.pull('test-stories260k');
    const seen = server.requests.slice(before).filter((r) => r.path === path);
    expect(seen[0]).toMatchObject({ status: 206, range: `bytes=${kept}-` });
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
  });

  it('trusts the LFS sha256 a redirect announces (X-Linked-Etag) and rejects a wrong one', async () => {
    const { store } = makeTestStore(catalog, server.url);
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    const url = `hf:ggml-org/models/tinyllamas/stories260K.gguf`;
    server.fault(path, { redirectWith: { etag: sha256(gguf()), size: readFileSync(gguf()).length }, times: 1 });
    const model = await store.pull(url, { name: 'tiny-from-hf' });
    expect(model.source).toBe(url);
    expect(model.files[0]!.sha256).toBe(sha256(gguf()));

    const { store: other, home } = makeTestStore(catalog, server.url);
    server.fault(path, { redirectWith: { etag: 'a'.repeat(64) }, times: 1 });
    await expect(other.pull(url, { name: 'tiny-bad-etag' })).rejects.toMatchObject({ code: 'checksum_mismatch', message: expect.stringContaining(`expected ${'a'.repeat(64)}, got ${sha256(gguf())}`) });
    expect(readdirSync(join(home, 'partial'))).toEqual([]);
    expect(existsSync(join(home, 'models', 'tiny-bad-etag'))).toBe(false);
  });

  it('imports a local directory and a local file under --name, leaving the source intact', async () => {
    const { store } = makeTestStore(catalog, undefined);
    const source = mkdtempSync(join(tmpdir(), 'murmur-local-'));
    writeFileSync(join(source, 'model.onnx'), readFileSync(testModel('tts-synthetic/piper-style/model.onnx')!));
    writeFileSync(join(source, 'tokens.txt'), readFileSync(testModel('tts-synthetic/piper-style/tokens.txt')!));
    const dir = await store.pull(source, { name: 'my-voice' });
    expect(dir).toMatchObject({ name: 'my-voice', kind: 'tts', engine: 'sherpa-onnx', source });
    expect(readdirSync(source).sort()).toEqual(['model.onnx', 'tokens.txt']);

    const file = await store.pull(gguf(), { name: 'my-llm' });
    expect(file).toMatchObject({ name: 'my-llm', kind: 'llm', family: 'gguf', layout: { model: 'stories260K.gguf' } });
    expect(existsSync(gguf())).toBe(true);
    expect((await store.list()).map((m) => m.name)).toEqual(['my-llm', 'my-voice']);

    // The same file again, unnamed, is the model already imported from it (not a second one under the file's name).
    expect(await store.pull(gguf())).toMatchObject({ name: 'my-llm' });
    expect((await store.list()).map((m) => m.name)).toEqual(['my-llm', 'my-voice']);

    // Names pull derives are lower-case; a user typing the file's own spelling still finds it, and a typo gets the installed name suggested.
    const elsewhere = mkdtempSync(join(tmpdir(), 'murmur-local-'));
    copyFileSync(gguf(), join(elsewhere, 'stories260K.gguf'));
    const derived = await store.pull(join(elsewhere, 'stories260K.gguf'));
    expect(derived.name).toBe('stories260k');
    expect((await store.get('Stories260K'))?.name).toBe('stories260k');
    await expect(store.require('storis260k')).rejects.toMatchObject({ code: 'model_not_found', hint: expect.stringContaining("'stories260k'") });
  });

  it('two concurrent pulls of one model both succeed with one download', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const { store: second } = makeTestStore(catalog, server.url, { home });
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    const before = server.requests.length;
    const events: PullEvent[] = [];
    const [a, b] = await Promise.all([
      store.pull('test-stories260k', { onProgress: (e) => events.push(e) }),
      second.pull('test-stories260k', { onProgress: (e) => events.push(e) }),
    ]);
    expect(a.dir).toBe(b.dir);
    expect(server.requests.slice(before).filter((r) => r.path === path)).toHaveLength(1);
    expect(events.filter((e) => e.status === 'success').map((e) => (e as { reused: boolean }).reused).sort()).toEqual([false, true]);
    expect(events.some((e) => e.status === 'waiting')).toBe(true);
    expect(sha256(join(a.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
    expect(readdirSync(join(home, 'models'))).toEqual(['test-stories260k']);
  });

  it('finishes a complete partial left before install (the server answers 416), and resumes from a directory mirror', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    const url = 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    const served = join(mirror, 'huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf');
    const info = statSync(served);
    const partial = partialPath(home, url);
    mkdirSync(dirname(partial), { recursive: true });
    copyFileSync(gguf(), partial);
    writeFileSync(metaPath(partial), JSON.stringify({ url, validator: `"${info.size}-${Math.trunc(info.mtimeMs)}"` }));
    const before = server.requests.length;
    const model = await store.pull('test-stories260k');
    expect(server.requests.slice(before).map((r) => r.status)).toEqual([416]);
    expect(sha256(join(model.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));

    const { store: local, home: localHome } = makeTestStore(catalog, mirror);
    const localPartial = partialPath(localHome, url);
    mkdirSync(dirname(localPartial), { recursive: true });
    writeFileSync(localPartial, readFileSync(gguf()).subarray(0, 500_000));
    writeFileSync(metaPath(localPartial), JSON.stringify({ url, validator: `${info.size}-${Math.trunc(info.mtimeMs)}` }));
    const events: PullEvent[] = [];
    const resumed = await local.pull('test-stories260k', { onProgress: (e) => events.push(e) });
    expect(sha256(join(resumed.dir, 'stories260K.gguf'))).toBe(sha256(gguf()));
    const first = events.find((e) => e.status === 'downloading') as { completed: number } | undefined;
    expect(first?.completed).toBeGreaterThan(500_000);
  });

  it('lists only directories with a valid manifest', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    await store.pull('test-stories260k');
    mkdirSync(join(home, 'models', 'half-copied'));
    writeFileSync(join(home, 'models', 'half-copied', 'model.gguf'), 'x');
    mkdirSync(join(home, 'models', 'broken'));
    writeFileSync(join(home, 'models', 'broken', 'murmur.json'), '{"name":');
    expect((await store.list()).map((m) => m.name)).toEqual(['test-stories260k']);
    expect(await store.get('broken')).toBeUndefined();
  });

  it('removes a model, and says how to list models when it is not installed', async () => {
    const { store, home } = makeTestStore(catalog, server.url);
    await store.pull('test-stories260k');
    await store.remove('test-stories');
    expect(readdirSync(join(home, 'models'))).toEqual([]);
    await expect(store.remove('test-stories260k')).rejects.toMatchObject({ code: 'model_not_downloaded', hint: expect.stringContaining('murmur list') });
  });
});
