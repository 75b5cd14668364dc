import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'bin', 'murmur.js');

const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return Math.max(latest, newest(path));
    return /\.tsx?$/.test(entry.name) ? Math.max(latest, statSync(path).mtimeMs) : latest;
  }, 0);

const builtAt = (): number => {
  try {
    return statSync(built).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Tests that spawn the CLI, a daemon or the playback child run the compiled
 * dist/. `npm test` builds it first (pretest); a bare `npx vitest` gets it
 * built here when it is missing or older than the sources, so no test runs
 * against stale code and none has to skip for want of a build.
 */
export default function setup(): void {
  const sources = Math.max(...['bin', 'commands', 'src'].map((dir) => newest(join(root, dir))));
  if (builtAt() >= sources) return;
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
