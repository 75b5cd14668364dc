import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { DefaultRole } from '../src/catalog/default-model.js';
import type { CommandContext } from './context.js';
import { openStore, printJson, withExamples, withJson } from './shared.js';

const roles: readonly DefaultRole[] = ['chat', 'embedding', 'tts', 'asr', 'vad'];

export const listCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('list')
        .alias('ls')
        .description(describeVerb('list'))
        .option('-a, --all', 'add every catalog entry, marking the installed ones and the defaults')
        .option('-w, --wide', 'print whole rows, however wide the terminal'),
    ),
    [
      'murmur list  # the installed models',
      'murmur ls --all  # the whole catalog, marking the installed models and the defaults',
      'murmur ls --all --wide | less -S  # whole rows, scrolled sideways',
      'murmur list --json | jq -r ".[].name"  # the names only, for scripts',
    ],
  ).action(async (flags: { all?: boolean; json?: boolean; wide?: boolean }, command: Command) => {
    const { store, catalog, config } = await openStore(ctx, command);
    const [{ formatAgo, formatBytes, formatTable }, { fitTable }, { defaultRoleKinds }, { pickDefaultModel }] = await Promise.all([
      import('./ui/format.js'),
      import('./ui/fit-table.js'),
      import('../src/catalog/catalog.js'),
      import('../src/catalog/default-model.js'),
    ]);
    const installed = await store.list();
    if (!flags.all) {
      if (flags.json) {
        printJson(ctx, installed.map((m) => ({ name: m.name, kind: m.kind, engine: m.engine, family: m.family, size: m.size, source: m.source, pulledAt: m.pulledAt, path: m.dir, ...(m.linked ? { linked: m.linked } : {}) })), true);
        return;
      }
      if (!installed.length) {
        ctx.stderr.write('No models installed. Run `murmur list --all` to see the catalog, then `murmur pull NAME`.\n');
        return;
      }
      ctx.stdout.write(formatTable(['NAME', 'KIND', 'SIZE', 'MODIFIED'], installed.map((m) => [m.name, m.kind, `${formatBytes(m.size)}${m.linked ? ' (linked)' : ''}`, formatAgo(m.pulledAt)])));
      return;
    }
    // The defaults by the one rule that chat, speak and transcribe follow (configured, catalog when installed, …).
    const configured: Partial<Record<DefaultRole, string | undefined>> = { chat: config.chatModel, tts: config.ttsModel, asr: config.asrModel };
    const defaults = new Map<string, DefaultRole[]>();
    for (const role of roles) {
      const chosen = pickDefaultModel({
        configured: configured[role],
        catalogDefault: catalog.defaultFor(role)?.name,
        installed: installed.filter((m) => m.kind === defaultRoleKinds[role]),
      });
      const name = chosen && (catalog.find(chosen.name)?.name ?? chosen.name);
      if (name) defaults.set(name, [...(defaults.get(name) ?? []), role]);
    }
    const byName = new Map(installed.map((m) => [m.name, m]));
    // `size` is what a pull downloads (the catalog's figure); an installed model's bytes on disk are `installedSize`.
    const rows = catalog.entries.map((e) => ({
      name: e.name,
      kind: e.kind,
      size: e.size,
      installedSize: byName.get(e.name)?.size ?? e.installedSize,
      installed: byName.has(e.name),
      default: defaults.get(e.name) ?? [],
      aliases: e.aliases ?? [],
      description: e.description,
    }));
    const known = new Set(catalog.entries.map((e) => e.name));
    for (const m of installed) {
      if (!known.has(m.name)) rows.push({ name: m.name, kind: m.kind, size: m.size, installedSize: m.size, installed: true, default: defaults.get(m.name) ?? [], aliases: [], description: m.description ?? m.source });
    }
    if (flags.json) {
      printJson(ctx, rows, true);
      return;
    }
    const width = ctx.stdout.isTTY && !flags.wide && ctx.stdout.columns ? ctx.stdout.columns : undefined;
    ctx.stdout.write(
      fitTable(
        [
          { header: 'NAME' },
          { header: 'KIND' },
          { header: 'SIZE' },
          { header: 'INSTALLED', dropRank: 4 },
          { header: 'DEFAULT', dropRank: 3 },
          { header: 'ALIASES', minWidth: 12, dropRank: 1 },
          { header: 'DESCRIPTION', minWidth: 24, dropRank: 2 },
        ],
        rows.map((r) => [r.name, r.kind, formatBytes(r.size), r.installed ? 'yes' : '', r.default.join(', '), r.aliases.join(', '), r.description]),
        width,
      ),
    );
  });
