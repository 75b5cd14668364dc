import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startHttpFixture, type HttpFixture } from '../helpers/http-fixture.js';
import { buildMirror, FIXTURE_CATALOG, MIRROR_MODELS } from '../helpers/mirror.js';
import { missingModels, testModel } from '../helpers/models.js';
import { builtBin as bin } from '../helpers/daemon.js';


describe.skipIf(missingModels(...MIRROR_MODELS))('murmur pull / list / show / rm', () => {
  let mirror: string;
  let server: HttpFixture;
  beforeAll(async () => {
    mirror = buildMirror();
    server = await startHttpFixture(mirror);
  });
  afterAll(() => server?.close());

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    MURMUR_HOME: mkdtempSync(join(tmpdir(), 'murmur-cli-')),
    MURMUR_MIRROR: server.url,
    MURMUR_CATALOG: FIXTURE_CATALOG,
    ...extra,
  });
  const lines = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

  it('pull without a TTY: plain progress lines on stderr, only the model\'s name on stdout', async () => {
    const e = env();
    const result = await runCli(['pull', 'test-stories'], e);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('test-stories260k\n');
    expect(result.stderr).toContain('test-stories260k: stories260K.gguf 1.19 MB of 1.19 MB');
    expect(result.stderr).toContain('test-stories260k installed');
    expect(result.stderr).not.toContain('{');

    const list = await runCli(['list', '--json'], e);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'test-stories260k', kind: 'llm', size: 1185376 }]);
    const table = await runCli(['ls'], e);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+SIZE\s+MODIFIED$/);
    expect(table.stdout).toMatch(/test-stories260k\s+llm\s+1\.19 MB\s+just now/);
  });

  it('pull --json: JSON progress lines on stderr, one JSON result on stdout', async () => {
    const e = env();
    const result = await runCli(['pull', 'test-stories', '--json'], e);
    expect(result.code).toBe(0);
    const events = lines(result.stderr);
    expect(events[0]).toEqual({ status: 'resolving', model: 'test-stories' });
    expect(events.some((ev) => ev.status === 'downloading' && ev.file === 'stories260K.gguf' && ev.total === 1185376)).toBe(true);
    expect(events.at(-1)).toEqual({ status: 'success', model: 'test-stories260k', path: join(e.MURMUR_HOME!, 'models', 'test-stories260k'), reused: false });
    expect(lines(result.stdout)).toEqual([{
      status: 'success', name: 'test-stories260k', model: 'test-stories260k', path: join(e.MURMUR_HOME!, 'models', 'test-stories260k'), reused: false,
      kind: 'llm', engine: 'llama-cpp', family: 'gguf', size: 1185376, source: 'test-stories260k',
    }]);
  });

  it('pull on a TTY draws bars on stderr and prints the name on stdout', async () => {
    const e = env();
    const result = await runCli(['pull', 'test-piper-synthetic'], e, { tty: true });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('test-piper-synthetic\n');
    expect(result.stderr).toContain('vits-piper-synthetic.tar.bz2');
    expect(result.stderr).toContain('extracting');
  });

  it('list --all marks what is installed; show works installed and not', async () => {
    const e = env();
    expect((await runCli(['pull', 'test-stories260k', '--json'], e)).code).toBe(0);
    const all = JSON.parse((await runCli(['list', '--all', '--json'], e)).stdout) as { name: string; installed: boolean }[];
    expect(all.find((m) => m.name === 'test-stories260k')?.installed).toBe(true);
    expect(all.find((m) => m.name === 'test-piper-synthetic')?.installed).toBe(false);

    const shown = await runCli(['show', 'test-stories'], e);
    expect(shown.stdout).toMatch(/status:\s+installed/);
    expect(shown.stdout).toMatch(/model\s+stories260K\.gguf/);
    const entry = JSON.parse((await runCli(['show', 'test-piper-synthetic', '--json'], e)).stdout);
    expect(entry).toMatchObject({ installed: false, name: 'test-piper-synthetic', voices: [{ name: 'tone' }] });
    const unknown = await runCli(['show', 'test-stories260', '--json'], e);
    expect(unknown.code).toBe(1);
  });

  it('rm removes, and exits 1 with a hint for what is not installed', async () => {
    const e = env();
    await runCli(['pull', 'test-stories260k'], e);
    const both = await runCli(['rm', 'test-stories260k', 'test-piper-synthetic'], e);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("'test-piper-synthetic' is not installed.");
    expect(both.stderr).toContain('murmur list');
    expect(readdirSync(join(e.MURMUR_HOME!, 'models'))).toEqual([]);
  });

  it('cp copies under a new name sharing the files; rm of one keeps the other', async () => {
    const e = env();
    await runCli(['pull', 'test-stories260k'], e);
    const copied = await runCli(['cp', 'test-stories260k', 'my-stories'], e);
    expect(copied.code).toBe(0);
    expect(copied.stderr).toContain('copied test-stories260k to my-stories');
    const models = join(e.MURMUR_HOME!, 'models');
    expect(statSync(join(models, 'my-stories', 'stories260K.gguf')).ino).toBe(statSync(join(models, 'test-stories260k', 'stories260K.gguf')).ino);
    expect(JSON.parse((await runCli(['list', '--json'], e)).stdout)).toMatchObject([{ name: 'my-stories', kind: 'llm' }, { name: 'test-stories260k', kind: 'llm' }]);
    const taken = await runCli(['cp', 'test-stories260k', 'my-stories'], e);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("'my-stories' is installed already.");
    expect((await runCli(['cp', 'test-stories260k', '../up'], e)).code).toBe(2);
    expect((await runCli(['cp', 'nope', 'other'], e)).code).toBe(1);
    expect((await runCli(['rm', 'test-stories260k'], e)).code).toBe(0);
    expect(readdirSync(models)).toEqual(['my-stories']);
    expect(statSync(join(models, 'my-stories', 'stories260K.gguf')).size).toBe(1185376);
  });

  it('errors print a message and a hint, no stack trace', async () => {
    const e = env();
    const unknown = await runCli(['pull', 'test-storis'], e);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown model 'test-storis'.");
    expect(unknown.stderr).toContain("Did you mean 'test-stories'");
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const bad = await runCli(['pull', 'test-stories-badsum'], e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/sha256 mismatch .* expected 0{64}, got [0-9a-f]{64}/);
    const usage = await runCli(['pull', 'a', 'b', '--name', 'x'], e);
    expect(usage.code).toBe(2);
  });

  it('imports a local file with --name, re-pulls with --force, and exits 1 when one of several pulls fails', async () => {
    const e = env();
    const gguf = testModel('stories260K/stories260K.gguf')!;
    const imported = await runCli(['pull', gguf, '--name', 'my-tiny', '--json'], e);
    expect(imported.code).toBe(0);
    expect(lines(imported.stdout).at(-1)).toMatchObject({ status: 'success', model: 'my-tiny', reused: false });
    expect(JSON.parse((await runCli(['show', 'my-tiny', '--json'], e)).stdout)).toMatchObject({ installed: true, family: 'gguf', source: gguf });

    const kept = await runCli(['pull', 'my-tiny', '--json'], e);
    expect(lines(kept.stdout).at(-1)).toMatchObject({ model: 'my-tiny', reused: true });
    const forced = await runCli(['pull', 'my-tiny', '--force', '--json'], e);
    expect(lines(forced.stdout).at(-1)).toMatchObject({ model: 'my-tiny', reused: false });
    const again = await runCli(['pull', 'test-stories260k', '--json'], e);
    const reforced = await runCli(['pull', 'test-stories260k', '--force', '--json'], e);
    expect(lines(again.stdout).at(-1)).toMatchObject({ reused: false });
    expect(lines(reforced.stdout).at(-1)).toMatchObject({ reused: false });
    const reused = await runCli(['pull', 'test-stories260k', '--json'], e);
    expect(lines(reused.stdout).at(-1)).toMatchObject({ reused: true });

    const mixed = await runCli(['pull', 'test-missing', 'test-piper-synthetic', '--json'], e);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain('HTTP 404');
    expect(mixed.stderr).toContain('1 of 2 pulls failed.');
    expect(lines(mixed.stdout).at(-1)).toMatchObject({ status: 'success', model: 'test-piper-synthetic' });
  });

  it('Ctrl-C stops the pull, exits 130 and says it can resume', async () => {
    const e = env();
    const path = '/huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf';
    server.fault(path, { stallAfter: 100_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new DOMException('Interrupted', 'AbortError')), 300);
    const result = await runCli(['pull', 'test-stories260k'], e, { signal: controller.signal });
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted/);
    expect(result.stderr).toMatch(/resume/);
  });

  it('pull with no model is a usage error that names --clean; --clean then a model cleans first and pulls', async () => {
    const e = env();
    const bare = await runCli(['pull'], e);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('or pass --clean to delete partial downloads');
    const both = await runCli(['pull', '--clean', 'test-stories260k', '--json'], e);
    expect(both.code).toBe(0);
    expect(both.stderr).toContain('no partial downloads to remove');
    expect(lines(both.stdout)).toMatchObject([{ status: 'cleaned' }, { status: 'success', model: 'test-stories260k' }]);
  });

  it('each verb has examples in its --help', async () => {
    for (const verb of ['pull', 'list', 'show', 'rm', 'cp']) {
      const help = await runCli([verb, '--help'], env());
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Examples:');
      expect(help.stdout).toContain(`murmur ${verb === 'list' ? 'l' : verb}`);
    }
  });

  it('the built CLI pulls from a directory mirror and lists as JSON (no TTY)', async () => {
    const run = promisify(execFile);
    const e = { ...process.env, ...env({ MURMUR_MIRROR: mirror }) };
    const pulled = await run(process.execPath, [bin, 'pull', 'test-stories260k'], { env: e });
    // Piped: stdout holds the name alone (`murmur pull x > out`, `$(murmur pull x)`), progress went to stderr.
    expect(pulled.stdout).toBe('test-stories260k\n');
    expect(pulled.stderr).toContain('test-stories260k installed');
    const listed = await run(process.execPath, [bin, 'list', '--json'], { env: e });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'test-stories260k', kind: 'llm', engine: 'llama-cpp' }]);
  });
});
