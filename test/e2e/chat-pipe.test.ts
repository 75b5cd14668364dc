import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtBin as bin } from '../helpers/daemon.js';
import { buildMirror, FIXTURE_CATALOG, MIRROR_MODELS } from '../helpers/mirror.js';
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
    expect(first.stderr).toContain(`Imported ${file} as tiny-tales`);
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

const OFFLINE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'dns-offline.mjs');

describe.skipIf(missingModels(...MIRROR_MODELS))('murmur chat WORDS… with no model named (built CLI, local mirror)', () => {
  let work: string;
  let catalog: string;
  let mirror: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'murmur-chat-words-'));
    // The fixture catalog with a default chat model it holds: the mirror serves it.
    catalog = join(work, 'models.json');
    writeFileSync(catalog, JSON.stringify({ ...JSON.parse(readFileSync(FIXTURE_CATALOG, 'utf8')), defaults: { chat: 'test-stories260k' } }));
    mirror = buildMirror();
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (mirror) rmSync(mirror, { recursive: true, force: true });
  });

  /** The built CLI with stdin closed, in `home`, with no daemon; `offline` fails every name lookup. */
  const cli = (home: string, args: string[], extra: NodeJS.ProcessEnv = {}, offline = false) =>
    spawnSync(process.execPath, [...(offline ? ['--import', OFFLINE] : []), bin, ...args], {
      env: { PATH: process.env.PATH, MURMUR_HOME: home, MURMUR_CATALOG: catalog, MURMUR_HOST: 'http://127.0.0.1:9', ...extra },
      input: '',
      encoding: 'utf8',
    });

  it('`murmur chat Why is the sky blue` on a fresh install pulls the catalog default chat model, then answers', () => {
    const home = mkdtempSync(join(work, 'fresh-'));
    const result = cli(home, ['chat', 'Why', 'is', 'the', 'sky', 'blue', '--local', '--max-tokens', '4'], { MURMUR_MIRROR: mirror });
    expect(result.stderr).not.toMatch(/Unknown model|is not a model/);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('No chat model is installed; pulling test-stories260k.');
    expect(result.stderr).toContain('test-stories260k installed');
    expect(result.stdout.trim().length).toBeGreaterThan(0);

    // Installed now: the same line answers with it, without a word on stderr.
    const again = cli(home, ['chat', 'Why', 'is', 'the', 'sky', 'blue', '--local', '--max-tokens', '4']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
  }, 120_000);

  it('offline, that first pull fails with the pull\'s own message, exit 1', () => {
    const home = mkdtempSync(join(work, 'offline-'));
    const result = cli(home, ['chat', 'hello', 'there', '--local'], {}, true);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).not.toContain('Unknown model');
    expect(result.stderr).toContain('murmur: Could not reach huggingface.co to download test-stories260k: ENOTFOUND.');
    expect(result.stderr).toContain('MURMUR_MIRROR');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('a first word that looks like a model name gets one `murmur:` note naming the fix; a lone one stays an unknown model', () => {
    const home = mkdtempSync(join(work, 'typo-'));
    expect(cli(home, ['pull', 'test-stories'], { MURMUR_MIRROR: mirror }).status).toBe(0);
    const typo = cli(home, ['chat', 'qwen3-06b', 'hi', '--local', '--max-tokens', '4']);
    expect(typo.status, typo.stderr).toBe(0);
    expect(typo.stderr).toBe(
      "murmur: 'qwen3-06b' is not a model; sending it as part of the prompt to test-stories260k (did you mean qwen3-0.6b? use -m to name a model)\n",
    );
    expect(typo.stdout.trim().length).toBeGreaterThan(0);
    // No digit or punctuation, but one edit from a catalog alias (gemma).
    const close = cli(home, ['chat', 'gema', 'hi', '--local', '--max-tokens', '4']);
    expect(close.status, close.stderr).toBe(0);
    expect(close.stderr).toMatch(/^murmur: 'gema' is not a model; sending it as part of the prompt to test-stories260k \(did you mean gemma\? use -m to name a model\)\n$/);
    // A lone model-like word (with the prompt piped) was meant as a model.
    const lone = spawnSync(process.execPath, [bin, 'chat', 'not-installed-anywhere', '--local'], {
      env: { PATH: process.env.PATH, MURMUR_HOME: home, MURMUR_CATALOG: catalog, MURMUR_HOST: 'http://127.0.0.1:9' },
      input: 'hi',
      encoding: 'utf8',
    });
    expect(lone.status).toBe(1);
    expect(lone.stderr).toContain("murmur: Unknown model 'not-installed-anywhere'.");
    expect(lone.stdout).toBe('');
  }, 120_000);
});
