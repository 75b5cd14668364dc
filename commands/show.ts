import { join } from 'node:path';
import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CatalogEntry } from '../src/catalog/schema.js';
import type { GgufSummary } from '../src/store/gguf-summary.js';
import type { InstalledModel } from '../src/store/types.js';
import type { CommandContext } from './context.js';
import { openStore, printJson, withExamples, withJson } from './shared.js';

type Voices = readonly NonNullable<CatalogEntry['voices']>[number][] | undefined;

/** The voices by name; with a speaker count above the names, the count and the ids --voice takes. */
const voicesLine = (voices: Voices, speakerCount?: number) => {
  const named = voices?.length ? voices.map((v) => `${v.name}${v.language ? ` (${v.language})` : ''}`).join(', ') : undefined;
  if (!speakerCount || speakerCount <= (voices?.length ?? 0)) return named;
  return `${speakerCount} speakers (ids 0-${speakerCount - 1})${named ? `; named: ${named}` : ''}`;
};

/** `key:` and value lines, the values lined up one column after the longest key. */
const lines = (pairs: [string, string | undefined][]) => {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n') + '\n';
};

const ggufLines = (g: GgufSummary | undefined): [string, string | undefined][] =>
  g
    ? [
        ['architecture', g.architecture],
        ['parameters', g.parameters],
        ['quantization', g.quantization],
        ['context length', g.contextLength?.toString()],
        ['embedding size', g.embeddingLength?.toString()],
        ['chat template', g.chatTemplate ? 'yes (jinja)' : 'no'],
      ]
    : [];

export const showCommand = (ctx: CommandContext) =>
  withExamples(withJson(new Command('show').description(describeVerb('show')).argument('<model>', 'a model name or alias')), [
    'murmur show qwen3-0.6b  # architecture, quantization, context length, …',
    'murmur show amy  # a voice: languages, voices, sample rate',
    'murmur show kokoro --json | jq -r ".voices[].name"  # the voice names, for scripts',
  ]).action(async (model: string, flags: { json?: boolean }, command: Command) => {
    const { store, catalog } = await openStore(ctx, command);
    const { formatBytes } = await import('./ui/format.js');
    const installed: InstalledModel | undefined = await store.get(model);
    const entry = catalog.find(installed?.name ?? model);
    if (!installed && !entry) {
      const { ModelNotFoundError } = await import('../src/errors.js');
      throw new ModelNotFoundError(model, catalog.suggest(model));
    }
    // A linked model whose file has gone: one line saying where it pointed and how to fix it (store.require's error), not a listing that ends in ENOENT.
    if (installed?.linked) await store.require(installed.name);
    // An installed model pulled from the catalog keeps the catalog's speaker count (the manifest lists named voices only); an import, what its metadata said.
    const speakerCount = installed ? (catalog.find(installed.source)?.speakerCount ?? installed.speakerCount) : entry?.speakerCount;
    // A voice that names no voices has one speaker, `speaker-0` (as `murmur speak --voices` lists it).
    const voices: Voices = installed?.kind === 'tts' && !installed.voices?.length && !(speakerCount && speakerCount > 1) ? [{ name: 'speaker-0', id: 0 }] : installed?.voices;
    let gguf: GgufSummary | undefined;
    if (installed?.family === 'gguf' && installed.layout.model) {
      const [{ readGgufMetadata }, { summarizeGguf }] = await Promise.all([import('../src/store/gguf-metadata.js'), import('../src/store/gguf-summary.js')]);
      try {
        gguf = summarizeGguf(await readGgufMetadata(join(installed.dir, installed.layout.model), { tensors: true }));
      } catch (error) {
        // The rest of what is known still shows; the header's problem is said once.
        ctx.stderr.write(`murmur: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    if (flags.json) {
      printJson(ctx, installed ? { installed: true, ...installed, ...(speakerCount ? { speakerCount } : {}), ...(gguf ? { gguf } : {}) } : { installed: false, ...entry }, true);
      return;
    }
    if (installed) {
      ctx.stdout.write(lines([
        ['name', installed.name],
        ['status', 'installed'],
        ['kind', installed.kind],
        ['engine', `${installed.engine} (${installed.family})`],
        ...ggufLines(gguf),
        ['source', installed.source],
        ['linked', installed.linked ? `${installed.linked} (by reference: the store holds no copy)` : undefined],
        ['description', installed.description],
        ['license', installed.license],
        ['languages', installed.languages?.join(', ')],
        ['size', formatBytes(installed.size)],
        ['sample rate', installed.sampleRate ? `${installed.sampleRate} Hz` : undefined],
        ['voices', voicesLine(voices, speakerCount)],
        ['speakers', installed.kind === 'tts' && speakerCount ? String(speakerCount) : undefined],
        ['default voice', installed.defaultVoice],
        ['pulled', installed.pulledAt],
        ['path', installed.dir],
      ]));
      ctx.stdout.write(`layout:\n${Object.entries(installed.layout).map(([role, path]) => `  ${role.padEnd(12)}${path}`).join('\n')}\n`);
      ctx.stdout.write(`files:\n${installed.files.map((f) => `  ${f.path}  ${formatBytes(f.size)}${f.sha256 ? `  sha256:${f.sha256.slice(0, 12)}…` : ''}`).join('\n')}\n`);
      return;
    }
    const e = entry!;
    ctx.stdout.write(lines([
      ['name', e.name],
      ['status', `not installed (run \`murmur pull ${e.name}\`)`],
      ['aliases', e.aliases?.join(', ')],
      ['kind', e.kind],
      ['engine', `${e.engine} (${e.family})`],
      ['description', e.description],
      ['license', e.license],
      ['languages', e.languages.join(', ')],
      ['download', formatBytes(e.size)],
      ['installed size', e.installedSize ? formatBytes(e.installedSize) : undefined],
      ['sample rate', e.sampleRate ? `${e.sampleRate} Hz` : undefined],
      ['voices', voicesLine(e.voices, e.speakerCount)],
      ['default voice', e.defaultVoice],
      ['homepage', e.homepage],
    ]));
    ctx.stdout.write(`files:\n${e.files.map((f) => `  ${f.url}${f.size ? `  ${formatBytes(f.size)}` : ''}`).join('\n')}\n`);
  });
