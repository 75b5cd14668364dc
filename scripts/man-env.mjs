#!/usr/bin/env node
// Rewrites the ENVIRONMENT block of man/murmur.1 (between the marker
// comments `.\" BEGIN ENVIRONMENT` and `.\" END ENVIRONMENT`) and of
// README.md (between `<!-- BEGIN ENVIRONMENT` and `<!-- END ENVIRONMENT -->`)
// from the `variables` list in src/config.ts, so the docs and the code never
// drift.
//
//   npm run build && node scripts/man-env.mjs          rewrite the block
//   npm run build && node scripts/man-env.mjs --check  exit 1 when out of date
//
// It reads the compiled dist/src/config.js because Node 20 cannot import
// TypeScript; test/unit/man.test.ts imports renderEnvironment from here and
// compares it with the page using the TypeScript source.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BEGIN = '.\\" BEGIN ENVIRONMENT';
export const END = '.\\" END ENVIRONMENT';

/** Escapes plain text for a roff text line: backslashes, hyphens, and a leading `.` or `'`. */
export const roffText = (text) => {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
};

/**
 * The roff lines between the markers (markers excluded) for `variables`,
 * each `{ name, description, shown }` as declared in src/config.ts.
 */
export const renderEnvironment = (variables) =>
  variables.flatMap((v) => ['.TP', `.B ${v.name}`, roffText(`${v.description.trim()} (default: ${v.shown}).`)]).join('\n');

/** The README's markdown table for `variables`. */
export const renderMarkdownEnvironment = (variables) =>
  ['| variable | default | what it does |', '|---|---|---|', ...variables.map((v) => `| \`${v.name}\` | ${v.shown} | ${v.description.trim()} |`)].join('\n');

export const MD_BEGIN = '<!-- BEGIN ENVIRONMENT (from src/config.ts) -->';
export const MD_END = '<!-- END ENVIRONMENT -->';

/** Returns `page` with the text between the markers replaced by `block`. */
export const replaceBlock = (page, block, begin = BEGIN, end_ = END) => {
  const start = page.indexOf(begin);
  const end = page.indexOf(end_);
  if (start < 0 || end < start) throw new Error(`markers '${begin}' and '${end_}' not found in order`);
  const head = page.slice(0, start + begin.length);
  return `${head}\n${block}\n${page.slice(end)}`;
};

/** The text between the markers, without the marker lines. */
export const currentBlock = (page) => {
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`markers '${BEGIN}' and '${END}' not found in order`);
  return page.slice(start + BEGIN.length, end).replace(/^\n/, '').replace(/\n$/, '');
};

const main = async () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const configPath = join(root, 'dist', 'src', 'config.js');
  let config;
  try {
    config = await import(pathToFileURL(configPath).href);
  } catch (error) {
    process.stderr.write(`man-env: cannot load ${configPath} (${error.message}); run \`npm run build\` first.\n`);
    return 1;
  }
  const targets = [
    ['man/murmur.1', (page) => replaceBlock(page, renderEnvironment(config.variables))],
    ['README.md', (page) => replaceBlock(page, renderMarkdownEnvironment(config.variables), MD_BEGIN, MD_END)],
  ];
  let stale = 0;
  for (const [relative, update] of targets) {
    const path = join(root, relative);
    const page = readFileSync(path, 'utf8');
    const updated = update(page);
    if (updated === page) continue;
    stale += 1;
    if (process.argv.includes('--check')) {
      process.stderr.write(`man-env: the ENVIRONMENT block of ${relative} is out of date; run \`node scripts/man-env.mjs\`.\n`);
    } else {
      writeFileSync(path, updated);
      process.stderr.write(`man-env: ${relative} updated\n`);
    }
  }
  return process.argv.includes('--check') && stale ? 1 : 0;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
