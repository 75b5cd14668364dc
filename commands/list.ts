import { Command } from './commander.js';
import { describeVerb } from './verbs.js';
import type { CommandContext } from './context.js';
import { openStore, printJson, withExamples, withJson } from './shared.js';

export const listCommand = (ctx: CommandContext) =>
  withExamples(
    withJson(
      new Command('list')
        .alias('ls')
        .description(describeVerb('list'))
        .option('-a, --all', 'add every catalog entry, marking the installed ones'),
    ),
    ['murmur list', 'murmur ls --all', 'murmur list --json | jq -r ".[].name"'],
  ).action(async (flags: { all?: boolean; json?: boolean }, command: Command) => {
    const { store, catalog } = await openStore(ctx, command);
    const { formatAgo, formatBytes, formatTable } = await import('./ui/format.js');
    const installed = await store.list();
    if (!flags.all) {
      if (flags.json) {
        printJson(ctx, installed.map((m) => ({ name: m.name, kind: m.kind, engine: m.engine, family: m.family, size: m.size, source: m.source, pulledAt: m.pulledAt, path: m.dir })), true);
        return;
      }
      if (!installed.length) {
        ctx.stderr.write('No models installed. Run `murmur list --all` to see the catalog, then `murmur pull NAME`.\n');
        return;
      }
      ctx.stdout.write(formatTable(['NAME', 'KIND', 'SIZE', 'MODIFIED'], installed.map((m) => [m.name, m.kind, formatBytes(m.size), formatAgo(m.pulledAt)])));
      return;
    }
    const byName = new Map(installed.map((m) => [m.name, m]));
    const rows = catalog.entries.map((e) => ({ name: e.name, kind: e.kind, size: byName.get(e.name)?.size ?? e.size, installed: byName.has(e.name), description: e.description }));
    const known = new Set(catalog.entries.map((e) => e.name));
    for (const m of installed) if (!known.has(m.name)) rows.push({ name: m.name, kind: m.kind, size: m.size, installed: true, description: m.description ?? m.source });
    if (flags.json) {
      printJson(ctx, rows, true);
      return;
    }
    ctx.stdout.write(formatTable(['NAME', 'KIND', 'SIZE', 'INSTALLED', 'DESCRIPTION'], rows.map((r) => [r.name, r.kind, formatBytes(r.size), r.installed ? 'yes' : '', r.description.length > 60 ? `${r.description.slice(0, 59)}…` : r.description])));
  });
