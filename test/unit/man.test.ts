import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Command } from '../../commands/commander.js';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../commands/index.js';
import type { CommandContext } from '../../commands/context.js';
import { loadConfig, variables } from '../../src/config.js';
// @ts-expect-error -- a plain .mjs script with no type declarations
import { currentBlock, MD_BEGIN, MD_END, renderEnvironment, renderMarkdownEnvironment } from '../../scripts/man-env.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { man?: string[]; files?: string[] };
const manPages: string[] = pkg.man ?? [];

/** The page's source with roff's escaped hyphens made plain, for searching option names. */
const read = (page: string): string => readFileSync(join(root, page), 'utf8');
const plain = (source: string): string => source.replace(/\\-/g, '-').replace(/\\&/g, '');

/** Section names (`.SH NAME` → `NAME`) in order. */
const sections = (source: string): string[] =>
  [...source.matchAll(/^\.SH\s+"?([^"\n]+)"?\s*$/gm)].map((m) => m[1].trim());

/** The text of one section, up to the next `.SH`. */
const section = (source: string, name: string): string => {
  const start = source.search(new RegExp(`^\\.SH\\s+"?${name}"?\\s*$`, 'm'));
  if (start < 0) return '';
  const rest = source.slice(start).split('\n').slice(1).join('\n');
  const next = rest.search(/^\.SH\s/m);
  return next < 0 ? rest : rest.slice(0, next);
};

const fakeContext = (): CommandContext => ({
  env: {},
  stdin: new PassThrough(),
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  signal: new AbortController().signal,
  config: (overrides) => loadConfig({}, overrides),
});

const commands: readonly Command[] = (await buildProgram(fakeContext())).commands;
const pageOf = (name: string) => `man/murmur-${name}.1`;

/** The verbs ../shared/DESIGN.md promises users: each must have a page whether or not it is built yet. */
const contractVerbs = ['pull', 'list', 'show', 'rm', 'serve', 'load', 'unload', 'ps', 'chat', 'speak', 'transcribe'];

describe('man pages', () => {
  it('lists pages in package.json that all exist, and lists every page under man/', () => {
    expect(manPages).toContain('man/murmur.1');
    for (const page of manPages) expect(existsSync(join(root, page)), `${page} is missing`).toBe(true);
    const onDisk = readdirSync(join(root, 'man')).filter((f) => /\.\d$/.test(f)).map((f) => `man/${f}`);
    expect([...onDisk].sort()).toEqual([...manPages].sort());
    expect(pkg.files ?? []).toContain('man');
  });

  it('has a page for every verb of the contract and every command registered', () => {
    expect(commands.length).toBeGreaterThan(0);
    const names = new Set([...contractVerbs, ...commands.map((c) => c.name())]);
    for (const name of names) expect(manPages, `no page for '${name}'`).toContain(pageOf(name));
  });

  it.each(manPages)('%s has NAME, SYNOPSIS and DESCRIPTION, and a NAME line naming itself', (page) => {
    const source = read(page);
    const found = sections(source);
    expect(found.slice(0, 3)).toEqual(['NAME', 'SYNOPSIS', 'DESCRIPTION']);
    const title = page.replace(/^man\//, '').replace(/\.1$/, '');
    expect(source).toMatch(new RegExp(`^\\.TH\\s+${title.toUpperCase().replace(/-/g, '\\\\-')}\\s+1\\s`, 'm'));
    expect(plain(section(source, 'NAME'))).toMatch(new RegExp(`^${title}(, [a-z-]+)* - \\S`, 'm'));
  });

  it.each(manPages.filter((p) => p !== 'man/murmur.1'))('%s has OPTIONS, EXAMPLES, EXIT STATUS and SEE ALSO', (page) => {
    const found = sections(read(page));
    for (const name of ['OPTIONS', 'EXAMPLES', 'EXIT STATUS', 'SEE ALSO']) expect(found).toContain(name);
    expect(plain(section(read(page), 'SEE ALSO'))).toMatch(/^\.BR murmur \(1\)/m);
  });

  it.each(commands.map((c) => [c.name(), c] as const))('murmur-%s.1 documents every option and alias the command registers', (name, command) => {
    const source = plain(read(pageOf(name)));
    for (const option of command.options) {
      for (const flag of [option.long, option.short]) {
        if (!flag || flag === '--help' || flag === '-h') continue;
        expect(source, `${pageOf(name)} does not mention ${flag}`).toMatch(new RegExp(`(^|[^\\w-])${flag}(?![\\w-])`, 'm'));
      }
    }
    for (const alias of command.aliases()) {
      expect(section(source, 'SYNOPSIS'), `${pageOf(name)} SYNOPSIS lacks the alias '${alias}'`).toContain(`murmur ${alias}`);
    }
  });

  it('murmur.1 lists every command under COMMANDS and every per-verb page under SEE ALSO', () => {
    const source = plain(read('man/murmur.1'));
    const listed = section(source, 'COMMANDS');
    for (const name of new Set([...contractVerbs, ...commands.map((c) => c.name())])) {
      expect(listed).toMatch(new RegExp(`^\\.(?:B|BI|BR)\\s+"?${name}\\b`, 'm'));
    }
    const seeAlso = section(source, 'SEE ALSO');
    for (const page of manPages.filter((p) => p !== 'man/murmur.1')) {
      expect(seeAlso).toContain(`.BR ${page.replace(/^man\//, '').replace(/\.1$/, '')} (1)`);
    }
  });

  it("murmur.1's ENVIRONMENT is generated from src/config.ts's variables and names each one", () => {
    const source = read('man/murmur.1');
    const environment = section(source, 'ENVIRONMENT');
    for (const variable of variables) expect(environment).toContain(`.B ${variable.name}\n`);
    const mentioned = [...environment.matchAll(/\bMURMUR_[A-Z_]+/g)].map((m) => m[0]);
    expect(new Set(mentioned)).toEqual(new Set(variables.map((v) => v.name)));
    // Drift in a description or default: rerun `npm run build && node scripts/man-env.mjs`.
    expect(currentBlock(source)).toBe(renderEnvironment(variables));
  });

  it("README.md's environment table is generated from the same variables", () => {
    const readme = read('README.md');
    const block = readme.slice(readme.indexOf(MD_BEGIN) + MD_BEGIN.length, readme.indexOf(MD_END)).trim();
    expect(block).toBe(renderMarkdownEnvironment(variables));
  });
});

const hasGroff = spawnSync('groff', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasGroff)('man pages render with groff', () => {
  it.each(manPages)('%s renders with no warnings', (page) => {
    const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(root, page)], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });
});
