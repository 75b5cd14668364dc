import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CatalogEntry } from '../src/catalog/schema.js';
import type { InstalledModel } from '../src/store/types.js';
import type { CommandContext } from './context.js';
import { openStore, printJson, withExamples, withJson } from './shared.js';

const voicesLine = (voices: readonly NonNullable<CatalogEntry['voices']>[number][] | undefined) =>
  voices?.length ? voices.map((v) => `${v.name}${v.language ? ` (${v.language})` : ''}`).join(', ') : undefined;

const lines = (pairs: [string, string | undefined][]) =>
  pairs.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n') + '\n';

export const showCommand = (ctx: CommandContext) =>
  withExamples(withJson(new Command('show').description(describeVerb('show')).argument('<model>', 'a model name or alias')), [
    'murmur show qwen3-0.6b',
    'murmur show piper-en-us-amy-low --json',
  ]).action(async (model: string, flags: { json?: boolean }, command: Command) => {
    const { store, catalog } = await openStore(ctx, command);
    const { formatBytes } = await import('./ui/format.js');
    const installed: InstalledModel | undefined = await store.get(model);
    const entry = catalog.find(installed?.name ?? model);
    if (!installed && !entry) {
      const { ModelNotFoundError } = await import('../src/errors.js');
      throw new ModelNotFoundError(model, catalog.suggest(model));
    }
    if (flags.json) {
      printJson(ctx, installed ? { installed: true, ...installed } : { installed: false, ...entry }, true);
      return;
    }
    if (installed) {
      ctx.stdout.write(lines([
        ['name', installed.name],
        ['status', 'installed'],
        ['kind', installed.kind],
        ['engine', `${installed.engine} (${installed.family})`],
        ['source', installed.source],
        ['description', installed.description],
        ['license', installed.license],
        ['languages', installed.languages?.join(', ')],
        ['size', formatBytes(installed.size)],
        ['sample rate', installed.sampleRate ? `${installed.sampleRate} Hz` : undefined],
        ['voices', voicesLine(installed.voices)],
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
      ['size', formatBytes(e.size)],
      ['sample rate', e.sampleRate ? `${e.sampleRate} Hz` : undefined],
      ['voices', voicesLine(e.voices)],
      ['default voice', e.defaultVoice],
      ['homepage', e.homepage],
    ]));
    ctx.stdout.write(`files:\n${e.files.map((f) => `  ${f.url}${f.size ? `  ${formatBytes(f.size)}` : ''}`).join('\n')}\n`);
  });
