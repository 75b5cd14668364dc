import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shareIdentical } from '../../../src/store/share-files.js';
import type { InstalledModel } from '../../../src/store/types.js';

const model = (dir: string, files: { path: string; size: number; sha256?: string }[], extra: Partial<InstalledModel> = {}): InstalledModel => ({
  name: 'm', kind: 'llm', engine: 'llama-cpp', family: 'gguf', source: 's', layout: {}, files, size: 0, pulledAt: '', dir, ...extra,
});

const setUp = () => {
  const root = mkdtempSync(join(tmpdir(), 'murmur-share-'));
  const installed = join(root, 'installed');
  const staging = join(root, 'staging');
  mkdirSync(installed);
  mkdirSync(staging);
  return { installed, staging };
};

describe('shareIdentical', () => {
  it('links a staged file to an installed one with the same bytes, and records its sha256', async () => {
    const { installed, staging } = setUp();
    writeFileSync(join(installed, 'a.gguf'), 'same bytes');
    writeFileSync(join(staging, 'b.gguf'), 'same bytes');
    const out = await shareIdentical(staging, [{ path: 'b.gguf', size: 10 }], [model(installed, [{ path: 'a.gguf', size: 10 }])]);
    expect(statSync(join(staging, 'b.gguf')).ino).toBe(statSync(join(installed, 'a.gguf')).ino);
    expect(out[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps its own copy for other bytes of the same size, for a linked model, and where no link can be made', async () => {
    const { installed, staging } = setUp();
    writeFileSync(join(installed, 'a.gguf'), 'same bytes');
    writeFileSync(join(staging, 'b.gguf'), 'other byte');
    writeFileSync(join(staging, 'c.gguf'), 'same bytes');
    const exdev = async () => {
      throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
    };
    await shareIdentical(staging, [{ path: 'b.gguf', size: 10 }], [model(installed, [{ path: 'a.gguf', size: 10 }])]);
    await shareIdentical(staging, [{ path: 'c.gguf', size: 10 }], [model(installed, [{ path: 'a.gguf', size: 10 }], { linked: '/elsewhere/a.gguf' })]);
    await shareIdentical(staging, [{ path: 'c.gguf', size: 10 }], [model(installed, [{ path: 'a.gguf', size: 10 }])], { linkFile: exdev });
    for (const name of ['b.gguf', 'c.gguf']) expect(statSync(join(staging, name)).ino).not.toBe(statSync(join(installed, 'a.gguf')).ino);
    expect(readFileSync(join(staging, 'c.gguf'), 'utf8')).toBe('same bytes');
  });
});
