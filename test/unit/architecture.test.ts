import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The import rules of ../shared/DESIGN.md, checked on the source tree so
 * they stay true: imports point down (bin → commands → runtime, server,
 * client → api, engines, store, catalog, audio, text → types, config,
 * errors), only server/ speaks hono, only engines/ load the native
 * packages.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(entry.name) ? [path] : [];
  });

interface Import {
  readonly file: string;
  /** The module specifier as written. */
  readonly spec: string;
  /** For a relative import: the path it reaches, relative to the project root. */
  readonly target?: string;
}

/** Every module a file names: static and dynamic imports, re-exports, require() and createRequire(…)(…) calls. */
const importsOf = (file: string): Import[] => {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [
    ...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/\bimport\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:\brequire|\))\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs.map((spec) => ({
    file,
    spec,
    ...(spec.startsWith('.') ? { target: relative(root, resolve(root, dirname(file), spec)).split(sep).join('/') } : {}),
  }));
};

const all = ['src', 'commands', 'bin'].flatMap(sourceFiles).flatMap(importsOf);
const under = (dir: string) => (path: string) => path === dir || path.startsWith(`${dir}/`);
const violations = (from: readonly string[], forbidden: (i: Import) => boolean) =>
  all.filter((i) => from.some((dir) => under(dir)(i.file)) && forbidden(i)).map((i) => `${i.file} imports ${i.spec}`);

describe('the source tree keeps its import rules', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all).toContainEqual(expect.objectContaining({ file: 'src/engines/llm/llama-cpp.ts', spec: 'node-llama-cpp' }));
    expect(all).toContainEqual(expect.objectContaining({ file: 'src/engines/speech/sherpa.ts', spec: 'sherpa-onnx-node' }));
    expect(all.some((i) => i.file === 'src/server/app.ts' && i.spec === 'hono')).toBe(true);
  });

  it('engines, text, audio, store, catalog and types import nothing from runtime, server or client', () => {
    const leaves = ['src/engines', 'src/text', 'src/audio', 'src/store', 'src/catalog', 'src/types', 'src/api'];
    const upper = ['src/runtime', 'src/server', 'src/client', 'commands', 'bin'];
    expect(violations(leaves, (i) => i.target !== undefined && upper.some((dir) => under(dir)(i.target!)))).toEqual([]);
  });

  it('routing (upstreams, routes) sits under the runtime and the server: it imports neither, nor the client', () => {
    expect(violations(['src/routing'], (i) => i.target !== undefined && ['src/runtime', 'src/server', 'src/client', 'commands', 'bin'].some((dir) => under(dir)(i.target!)))).toEqual([]);
    expect(all.some((i) => i.file === 'src/runtime/routing-runtime.ts' && i.target?.startsWith('src/routing/'))).toBe(true);
  });

  it('domain types import nothing but each other', () => {
    expect(violations(['src/types'], (i) => i.target === undefined || !under('src/types')(i.target))).toEqual([]);
  });

  it('the client never imports the server, nor the server the client', () => {
    expect(violations(['src/client'], (i) => i.target !== undefined && under('src/server')(i.target))).toEqual([]);
    expect(violations(['src/server'], (i) => i.target !== undefined && under('src/client')(i.target))).toEqual([]);
  });

  it('nothing in src/ imports the commands', () => {
    expect(violations(['src'], (i) => i.target !== undefined && (under('commands')(i.target) || under('bin')(i.target)))).toEqual([]);
  });

  it('only src/server imports hono', () => {
    expect(violations(['src', 'commands', 'bin'], (i) => /^(hono|@hono\/)/.test(i.spec) && !under('src/server')(i.file))).toEqual([]);
  });

  it('only src/engines import the native engines', () => {
    expect(violations(['src', 'commands', 'bin'], (i) => /^(node-llama-cpp|sherpa-onnx-node)(\/|$)/.test(i.spec) && !under('src/engines')(i.file))).toEqual([]);
  });
});
