import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtBin as bin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';

let home: string;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_DEBUG: '' });

/** Runs the built CLI with `input` piped on stdin and stdout sent to `out` (a file path) or a pipe. */
const murmur = (args: string[], input: string, out?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const fd = out ? openSync(out, 'w') : undefined;
    const child = spawn(process.execPath, [bin, ...args], { env: env(), stdio: ['pipe', fd ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      if (fd !== undefined) closeSync(fd);
      done({ code, stdout: out ? readFileSync(out, 'utf8') : stdout, stderr });
    });
    child.stdin!.end(input);
  });

describe.skipIf(missingModels(GGUF))('echo … | murmur chat (built CLI, real model)', () => {
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'murmur-chat-pipe-'));
    const pulled = spawnSync(process.execPath, [bin, 'pull', testModel(GGUF)!, '--name', 'stories260k'], { env: env(), encoding: 'utf8' });
    if (pulled.status !== 0) throw new Error(`murmur pull failed (${pulled.status}): ${pulled.stderr}`);
  }, 120_000);

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('streams the answer to a file and exits 0', async () => {
    const out = join(home, 'out.txt');
    const { code, stdout, stderr } = await murmur(['chat', 'stories260k', '--local', '--max-tokens', '40', '--temperature', '0'], 'Once upon a time\n', out);
    expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(code).toBe(0);
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stdout.endsWith('\n')).toBe(true);
  }, 120_000);

  it('--json prints one object with the text, usage and timings', async () => {
    const { code, stdout } = await murmur(['chat', 'stories260k', '--local', '--max-tokens', '16', '--seed', '1', '--json'], 'Once upon a time');
    expect(code).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.model).toBe('stories260k');
    expect(body.text.length).toBeGreaterThan(0);
    expect(body.usage.completionTokens).toBeGreaterThan(0);
    expect(body.usage.completionTokens).toBeLessThanOrEqual(16);
    expect(body.timings.tokensPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('takes a GGUF path: imports it into the store once, then uses the store copy', async () => {
    const file = join(home, 'imports', 'tiny-tales.gguf');
    mkdirSync(join(home, 'imports'), { recursive: true });
    copyFileSync(testModel(GGUF)!, file);
    const first = await murmur(['chat', file, '--local', '--max-tokens', '8', '--json'], 'Once upon a time');
    expect(first.stderr).toContain(`Importing ${file} as tiny-tales`);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).model).toBe('tiny-tales');
    const listed = spawnSync(process.execPath, [bin, 'list', '--json'], { env: env(), encoding: 'utf8' });
    expect(JSON.parse(listed.stdout).map((m: { name: string }) => m.name)).toContain('tiny-tales');

    const again = await murmur(['chat', file, '--local', '--max-tokens', '8'], 'Once upon a time');
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('Importing');
    expect(again.stdout.trim().length).toBeGreaterThan(0);

    // Another file of the same name is not silently swapped for the installed one.
    const other = join(home, 'elsewhere', 'tiny-tales.gguf');
    mkdirSync(join(home, 'elsewhere'), { recursive: true });
    writeFileSync(other, readFileSync(file));
    const clash = await murmur(['chat', other, '--local'], 'hi');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/A different model is installed as 'tiny-tales'/);
    expect(clash.stderr).toMatch(/--name NAME/);
  }, 120_000);

  it('a missing model fails with a hint and exit 1, nothing on stdout', async () => {
    const { code, stdout, stderr } = await murmur(['chat', 'not-installed-anywhere', '--local'], 'hi');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/murmur: /);
  }, 60_000);
});
