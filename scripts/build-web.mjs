#!/usr/bin/env node
// Builds the browser page (web/) into dist/web: one bundled, minified script
// and stylesheet with content-hashed names, and index.html naming them.
// esbuild does the bundling (it is fast, and it needs no config beyond this);
// the daemon serves the files from memory (src/server/routes/web.ts).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');

const result = await build({
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  write: false,
  outdir: out,
  entryNames: 'app',
  legalComments: 'none',
  logLevel: 'warning',
});

const hashed = (name, bytes) => {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
};

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
// Each file with its brotli and gzip forms beside it: the daemon serves those as they are, compressing nothing at start.
const writeServed = async (path, bytes) => {
  await writeFile(path, bytes);
  await writeFile(`${path}.br`, brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }));
  await writeFile(`${path}.gz`, gzipSync(bytes, { level: 9 }));
};
const names = {};
for (const file of result.outputFiles) {
  const base = file.path.slice(out.length + 1);
  const name = hashed(base, file.contents);
  names[base] = name;
  await writeServed(join(out, 'assets', name), file.contents);
}
const html = (await readFile(join(root, 'web', 'index.html'), 'utf8'))
  .replace('%SCRIPT%', `/web/assets/${names['app.js']}`)
  .replace('%STYLE%', names['app.css'] ? `/web/assets/${names['app.css']}` : '');
await writeServed(join(out, 'index.html'), Buffer.from(html));
console.error(`build-web: ${Object.values(names).join(', ')}`);
