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
    const [{ formatAgo, formatBytes, formatTable }, { fitTable, shortenList }, { defaultRoleKinds }, { pickDefaultModel }] = await Promise.all([
      import('./ui/format.js'),
      import('./ui/fit-table.js'),
      import('../src/catalog/catalog.js'),
      import('../src/catalog/default-model.js'),
    ]);
    const installed = await store.list();
    // A linked model whose file has gone (moved or deleted) is marked, as `chat` and `show` would refuse it.
    const { stat } = await import('node:fs/promises');
    const missing = new Set((await Promise.all(installed.map(async (m) => (m.linked && !(await stat(m.linked).then((i) => i.isFile(), () => false)) ? m.name : undefined)))).filter(Boolean));
    const linkMark = (name: string, linked?: string) => (linked ? (missing.has(name) ? ' (linked, missing)' : ' (linked)') : '');
    if (!flags.all) {
      if (flags.json) {
        printJson(ctx, installed.map((m) => ({ name: m.name, kind: m.kind, engine: m.engine, family: m.family, size: m.size, source: m.source, pulledAt: m.pulledAt, path: m.dir, ...(m.linked ? { linked: m.linked, ...(missing.has(m.name) ? { missing: true } : {}) } : {}) })), true);
        return;
      }
      if (!installed.length) {
        ctx.stderr.write('No models installed. Run `murmur list --all` to see the catalog, then `murmur pull NAME`.\n');
        return;
      }
      ctx.stdout.write(formatTable(['NAME', 'KIND', 'SIZE', 'MODIFIED'], installed.map((m) => [m.name, m.kind, `${formatBytes(m.size)}${linkMark(m.name, m.linked)}`, formatAgo(m.pulledAt)])));
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
      // An installed model answers to its own name first (an import named `vad` shadows the catalog's alias `vad`): the mark goes on its row.
      const name = chosen && (installed.some((m) => m.name === chosen.name) ? chosen.name : (catalog.find(chosen.name)?.name ?? chosen.name));
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
    // A terminal that reports no size (a pty at 0x0, as `script` makes) is measured by COLUMNS, as most tools do.
    const columns = ctx.stdout.columns || Number.parseInt(ctx.env.COLUMNS ?? '', 10) || undefined;
    const width = ctx.stdout.isTTY && !flags.wide && columns && columns > 0 ? columns : undefined;
    ctx.stdout.write(
      fitTable(
        [
          { header: 'NAME' },
          { header: 'KIND' },
          { header: 'SIZE' },
          { header: 'INSTALLED', dropRank: 4 },
          { header: 'DEFAULT', dropRank: 3 },
          // The short names README uses (qwen3, piper, whisper) outlast the description: it is cut, then dropped, first.
          { header: 'ALIASES', minWidth: 7, dropRank: 2, shorten: shortenList },
          { header: 'DESCRIPTION', minWidth: 24, dropRank: 1 },
        ],
        rows.map((r) => [r.name, r.kind, formatBytes(r.size), r.installed ? 'yes' : '', r.default.join(', '), r.aliases.join(', '), r.description]),
        width,
      ),
    );
  });
