import { describe, expect, it } from 'vitest';
import { loadCatalog, defaultRoleKinds } from '../../../src/catalog/catalog.js';
import { builtinCatalogPath } from '../../../src/project.js';
import { readFileSync } from 'node:fs';
import { catalogFileSchema, modelKinds, type CatalogDefaults } from '../../../src/catalog/schema.js';

const catalog = await loadCatalog({ builtinPath: builtinCatalogPath() });

describe('the shipped models.json', () => {
  it('matches the catalog schema exactly (loadCatalog trusts the shipped file and skips zod at run time)', () => {
    const raw = JSON.parse(readFileSync(builtinCatalogPath(), 'utf8')) as unknown;
    const parsed = catalogFileSchema.safeParse(raw);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    // Nothing the schema would strip: run time sees the file as it is.
    expect(parsed.data).toEqual(raw);
  });

  it('validates and offers at least 25 models covering every kind', () => {
    expect(catalog.entries.length).toBeGreaterThanOrEqual(25);
    const kinds = new Set(catalog.entries.map((e) => e.kind));
    for (const kind of modelKinds) expect(kinds, `no ${kind} model`).toContain(kind);
  });

  it('downloads only over https from huggingface.co or the k2-fsa GitHub releases', () => {
    for (const entry of catalog.entries) {
      for (const file of entry.files) {
        const url = new URL(file.url);
        expect(url.protocol, file.url).toBe('https:');
        const allowed =
          (url.hostname === 'huggingface.co' && url.pathname.includes('/resolve/')) ||
          (url.hostname === 'github.com' && url.pathname.startsWith('/k2-fsa/'));
        expect(allowed, file.url).toBe(true);
      }
    }
  });

  it('marks exactly the tar archives as archives', () => {
    for (const entry of catalog.entries) {
      for (const file of entry.files) {
        expect(file.archive === 'tar.bz2', file.url).toBe(file.url.endsWith('.tar.bz2'));
      }
    }
  });

  it('gives each entry a total size no smaller than its pinned file sizes', () => {
    for (const entry of catalog.entries) {
      const pinned = entry.files.reduce((sum, f) => sum + (f.size ?? 0), 0);
      expect(entry.size, entry.name).toBeGreaterThanOrEqual(pinned);
    }
  });

  it('resolves every name and alias to its own entry', () => {
    for (const entry of catalog.entries) {
      for (const key of [entry.name, ...(entry.aliases ?? [])]) {
        expect(catalog.find(key)?.name, key).toBe(entry.name);
        const ref = catalog.resolve(key);
        expect(ref.type === 'catalog' && ref.entry.name, key).toBe(entry.name);
      }
    }
  });

  it('has a default for every role, of the right kind', () => {
    for (const [role, kind] of Object.entries(defaultRoleKinds)) {
      const entry = catalog.defaultFor(role as keyof CatalogDefaults);
      expect(entry, `default ${role}`).toBeDefined();
      expect(entry!.kind).toBe(kind);
    }
  });

  it('gives speech models a sample rate and tts voices unique names with the default among them', () => {
    for (const entry of catalog.entries.filter((e) => e.engine === 'sherpa-onnx')) {
      expect(entry.sampleRate, entry.name).toBeGreaterThan(0);
    }
    for (const entry of catalog.entries.filter((e) => e.kind === 'tts')) {
      const names = (entry.voices ?? []).map((v) => v.name);
      expect(new Set(names).size, entry.name).toBe(names.length);
      const ids = (entry.voices ?? []).map((v) => v.id);
      expect(new Set(ids).size, entry.name).toBe(ids.length);
      if (entry.defaultVoice !== undefined) expect(names, entry.name).toContain(entry.defaultVoice);
    }
  });

  it('counts the speakers of a multi-speaker voice, its named voices among them', () => {
    const libritts = catalog.find('piper-en-us-libritts-r-medium')!;
    expect(libritts.speakerCount).toBe(904);
    for (const entry of catalog.entries.filter((e) => e.speakerCount !== undefined)) {
      for (const voice of entry.voices ?? []) expect(voice.id, `${entry.name} ${voice.name}`).toBeLessThan(entry.speakerCount!);
    }
  });

  it('promises only the languages sherpa-onnx reads: kokoro v1.0 speaks English and Chinese', () => {
    expect(catalog.find('kokoro-multi-lang-v1_0')!.languages).toEqual(['en-US', 'en-GB', 'zh']);
  });

  it('gives the download size as `size`, the unpacked size as `installedSize`, and each whisper its own homepage', () => {
    expect(catalog.find('whisper-tiny')).toMatchObject({ size: 116_000_000, installedSize: 338_000_000 });
    expect(catalog.find('whisper-base')).toMatchObject({ size: 208_000_000, installedSize: 500_000_000 });
    expect(catalog.find('whisper-base.en')).toMatchObject({ size: 162_000_000, installedSize: 500_000_000 });
    expect(catalog.find('parakeet')).toMatchObject({ size: 482_000_000, installedSize: 631_000_000 });
    for (const entry of catalog.entries) if (entry.installedSize !== undefined) expect(entry.installedSize, entry.name).toBeGreaterThan(entry.size);
    const whispers = catalog.entries.filter((e) => e.family === 'whisper');
    expect(new Set(whispers.map((e) => e.homepage)).size).toBe(whispers.length);
    for (const entry of whispers) expect(entry.homepage, entry.name).toContain(entry.name.replace(/^whisper-/, ''));
  });

  it('lists the full kokoro voice tables with their ids', () => {
    const multi = catalog.find('kokoro-multi-lang-v1_0')!;
    expect(multi.voices).toHaveLength(53);
    expect(multi.voices!.find((v) => v.name === 'zm_yunyang')?.id).toBe(52);
    expect(multi.options?.lexicon).toMatch(/lexicon-us-en\.txt/);
    const en = catalog.find('kokoro')!;
    expect(en.voices).toHaveLength(11);
    expect(en.voices!.find((v) => v.name === 'bm_lewis')?.id).toBe(10);
  });
});
