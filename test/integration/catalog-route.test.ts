import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/server/app.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';
import { FIXTURE_CATALOG } from '../helpers/mirror.js';

/** GET /murmur/v1/catalog: what `murmur ls --all` lists, over HTTP (the page's Models view reads it). */

interface Row {
  readonly name: string;
  readonly kind: string;
  readonly size: number;
  readonly description: string;
  readonly languages: string[];
  readonly aliases: string[];
  readonly installed: boolean;
}

describe('GET /murmur/v1/catalog', () => {
  it('lists the built-in and MURMUR_CATALOG entries, marking the installed ones; needs the key', async () => {
    const runtime = Object.assign(createFakeRuntime(), { config: loadConfig({ MURMUR_CATALOG: FIXTURE_CATALOG }) });
    const app = createApp(runtime, { apiKey: 'k' });
    expect((await app.request('/murmur/v1/catalog')).status).toBe(401);
    const auth = { headers: { Authorization: 'Bearer k' } };
    const list = async () => ((await (await app.request('/murmur/v1/catalog', auth)).json()) as { models: Row[] }).models;

    const before = await list();
    const entry = before.find((m) => m.name === 'test-stories260k');
    expect(entry).toEqual({
      name: 'test-stories260k',
      aliases: ['test-stories'],
      kind: 'llm',
      size: 1185376,
      description: expect.stringContaining('TinyStories'),
      languages: ['en'],
      installed: false,
    });
    // The built-in catalog is there too, and every row has the fields the page reads.
    expect(before.length).toBeGreaterThan(5);
    for (const row of before) expect(row).toMatchObject({ name: expect.any(String), kind: expect.any(String), size: expect.any(Number), installed: expect.any(Boolean) });

    await runtime.pull('test-stories260k');
    expect((await list()).find((m) => m.name === 'test-stories260k')?.installed).toBe(true);
  });
});
