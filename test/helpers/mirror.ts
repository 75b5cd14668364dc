import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, type Catalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { createStore, type StoreDeps } from '../../src/store/store.js';
import type { Store } from '../../src/store/types.js';
import { testModel } from './models.js';

/** URL paths (host + path) of the files a test mirror holds. */
export const MIRROR_FILES = {
  gguf: 'huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf',
  piper: 'github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-synthetic.tar.bz2',
  garbage: 'github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/not-an-archive.tar.bz2',
  twoTops: 'github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/two-top-folders.tar.bz2',
} as const;

/** The shared models the mirror is built from. */
export const MIRROR_MODELS = ['stories260K/stories260K.gguf', 'tts-synthetic/piper-style/model.onnx', 'tts-synthetic/piper-style/tokens.txt'];

const put = (root: string, relative: string, from: string) => {
  const target = join(root, relative);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(from, target);
};

/**
 * Builds a MURMUR_MIRROR layout in a new temp dir from the shared test
 * models: the stories260K GGUF where Hugging Face serves it, a piper-style
 * sherpa-onnx release archive made with the system `tar -cjf`, a file that
 * is not an archive, and an archive with two top folders. Returns its root.
 */
export const buildMirror = (): string => {
  const root = mkdtempSync(join(tmpdir(), 'murmur-mirror-'));
  put(root, MIRROR_FILES.gguf, testModel('stories260K/stories260K.gguf')!);

  const work = mkdtempSync(join(tmpdir(), 'murmur-archive-'));
  const voice = join(work, 'vits-piper-synthetic');
  mkdirSync(join(voice, 'espeak-ng-data'), { recursive: true });
  copyFileSync(testModel('tts-synthetic/piper-style/model.onnx')!, join(voice, 'model.onnx'));
  copyFileSync(testModel('tts-synthetic/piper-style/tokens.txt')!, join(voice, 'tokens.txt'));
  writeFileSync(join(voice, 'espeak-ng-data', 'phontab'), 'placeholder for the test\n');
  const archive = join(root, MIRROR_FILES.piper);
  mkdirSync(dirname(archive), { recursive: true });
  execFileSync('tar', ['-cjf', archive, '-C', work, 'vits-piper-synthetic']);

  mkdirSync(join(work, 'second'), { recursive: true });
  writeFileSync(join(work, 'second', 'x.txt'), 'x\n');
  execFileSync('tar', ['-cjf', join(root, MIRROR_FILES.twoTops), '-C', work, 'vits-piper-synthetic', 'second']);

  writeFileSync(join(root, MIRROR_FILES.garbage), randomBytes(4096));
  return root;
};

/** The small test catalog (test/fixtures/models.json). */
export const FIXTURE_CATALOG = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models.json');

/** The fixture catalog on its own (as the built-in one). */
export const fixtureCatalog = (): Promise<Catalog> => loadCatalog({ builtinPath: FIXTURE_CATALOG });

export interface TestStore {
  readonly home: string;
  readonly store: Store;
}

/** A store in a fresh temp MURMUR_HOME pulling through `mirror`; retries are quick. */
export const makeTestStore = (catalog: Catalog, mirror: string | undefined, options: { home?: string; deps?: StoreDeps } = {}): TestStore => {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'murmur-home-'));
  const config = loadConfig({ MURMUR_HOME: home, ...(mirror ? { MURMUR_MIRROR: mirror } : {}) });
  return { home, store: createStore(config, catalog, { retryDelayMs: 20, ...options.deps }) };
};
