import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { builtBin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/** The CLI contract every verb shares: --version, exit 2 on usage errors, hints without stacks unless MURMUR_DEBUG. */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const home = mkdtempSync(join(tmpdir(), 'murmur-cli-hardening-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
// No daemon answers at MURMUR_HOST, so nothing here reaches one by accident.
const env = (extra: NodeJS.ProcessEnv = {}) => ({ MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', ...extra });

/** The text-verbs this issue built, with arguments that satisfy them apart from the flag under test. */
const verbs: readonly (readonly string[])[] = [['pull', 'x'], ['list'], ['ls'], ['show', 'x'], ['rm', 'x'], ['serve'], ['load', 'x'], ['unload', 'x'], ['ps'], ['chat', 'x', 'hi']];

describe('the CLI contract', () => {
  it('--version and -v print the package version on stdout and exit 0', async () => {
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag], env());
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(version);
    }
  });

  it('--help lists every verb on stdout and exits 0; each verb has --help with examples', async () => {
    const top = await runCli(['--help'], env());
    expect(top.code).toBe(0);
    for (const [verb] of verbs) if (verb !== 'ls') expect(top.stdout).toMatch(new RegExp(`^\\s+${verb}\\b`, 'm'));
    for (const [verb] of verbs) {
      const help = await runCli([verb!, '--help'], env());
      expect(help.code, verb).toBe(0);
      expect(help.stdout, verb).toMatch(/Examples:/);
    }
  });

  it.each(verbs.map((args) => [args.join(' '), args] as const))('`murmur %s --no-such-flag` is a usage error: exit 2', async (_label, args) => {
    const result = await runCli([...args, '--no-such-flag'], env());
    expect(result.code).toBe(2);
    // murmur's shape, not commander's `error: …`: the line, then where to look.
    expect(result.stderr).toBe(`murmur: unknown option '--no-such-flag'\n  Run \`murmur ${args[0] === 'ls' ? 'list' : args[0]} --help\` for usage.\n`);
    expect(result.stdout).toBe('');
  });

  it('missing arguments and unknown verbs are usage errors too', async () => {
    for (const args of [['pull'], ['show'], ['rm'], ['load'], ['frobnicate'], ['chat', '--max-tokens']]) {
      const result = await runCli(args, env());
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^murmur: /);
      expect(result.stderr, args.join(' ')).not.toMatch(/^error:/m);
    }
    expect((await runCli(['show'], env())).stderr).toBe("murmur: missing required argument 'model'\n  Run `murmur show --help` for usage.\n");
    expect((await runCli(['stauts'], env())).stderr).toBe("murmur: unknown command 'stauts' (Did you mean status?)\n  Run `murmur --help` for usage.\n");
    for (const args of [['unload'], ['serve', '--port', 'http'], ['serve', '--keep-alive', 'soon'], ['serve', '--parallel', '0'], ['chat', 'x', 'hi', '--temperature', 'hot']]) {
      const result = await runCli(args, env());
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^murmur: /m);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a user error prints a message and a hint without a stack; MURMUR_DEBUG=1 adds the stack, and MURMUR_DEBUG=off does not', async () => {
    const quiet = await runCli(['show', 'no-such-model'], env());
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toMatch(/^murmur: /);
    expect(quiet.stderr).toMatch(/^ {2}\S/m);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const debug = await runCli(['show', 'no-such-model'], env({ MURMUR_DEBUG: '1' }));
    expect(debug.code).toBe(1);
    expect(debug.stderr.startsWith(quiet.stderr)).toBe(true);
    expect(debug.stderr).toMatch(/\n\s+at /);
    for (const off of ['0', 'off', 'no', 'false', 'OFF']) {
      expect((await runCli(['show', 'no-such-model'], env({ MURMUR_DEBUG: off }))).stderr, off).toBe(quiet.stderr);
    }
  });

  it('a reader that closes the pipe early (`murmur --help | head -1`) ends it quietly, exit 0, no EPIPE stack', async () => {
    const child = spawn(process.execPath, [builtBin, 'list', '--all'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Close our end before the CLI has even started, so its first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(code).toBe(0);
  });

  it('an invalid MURMUR_* variable is a usage error naming it', async () => {
    const result = await runCli(['list'], env({ MURMUR_PARALLEL: 'lots' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/MURMUR_PARALLEL must be a whole number/);
  });
});

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);

describe.skipIf(skip)(`pull output follows stdout${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('with stdout piped and stderr on a terminal, pull draws bars on stderr and prints only the name on stdout', async () => {
    const { Capture } = await import('../helpers/cli.js');
    const { run } = await import('../../commands/index.js');
    const { loadConfig } = await import('../../src/config.js');
    const e = env({ MURMUR_HOME: mkdtempSync(join(home, 'pipe-')) });
    const stdout = new Capture(false);
    const stderr = new Capture(true);
    const code = await run(['node', 'murmur', 'pull', testModel(GGUF)!, '--name', 'piped'], {
      env: e,
      stdin: process.stdin,
      stdout,
      stderr,
      signal: new AbortController().signal,
      config: (overrides) => loadConfig(e, overrides),
    });
    expect(code).toBe(0);
    // `murmur pull x | head`, `> out`: the result alone; the progress stays on the terminal.
    expect(stdout.text).toBe('piped\n');
    expect(stderr.text).toContain('piped installed');
  });
});

describe.skipIf(skip)(`list --json keeps its shape${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('lists installed models with exactly the documented fields, and --all marks them installed', async () => {
    const e = env({ MURMUR_HOME: mkdtempSync(join(home, 'list-')) });
    expect(JSON.parse((await runCli(['list', '--json'], e)).stdout)).toEqual([]);
    expect((await runCli(['pull', testModel(GGUF)!, '--name', 'tiny'], e)).code).toBe(0);
    const listed = JSON.parse((await runCli(['ls', '--json'], e)).stdout) as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual(['engine', 'family', 'kind', 'name', 'path', 'pulledAt', 'size', 'source']);
    expect(listed[0]).toMatchObject({ name: 'tiny', kind: 'llm', engine: 'llama-cpp', family: 'gguf', size: readFileSync(testModel(GGUF)!).length });
    expect(new Date(listed[0]!.pulledAt as string).getTime()).not.toBeNaN();
    const all = JSON.parse((await runCli(['list', '--all', '--json'], e)).stdout) as { name: string; installed: boolean; kind: string }[];
    expect(all.length).toBeGreaterThan(25);
    expect(all.find((m) => m.name === 'tiny')).toMatchObject({ installed: true, kind: 'llm' });
    expect(all.filter((m) => m.installed).map((m) => m.name)).toEqual(['tiny']);
    for (const row of all) expect(Object.keys(row).filter((k) => k !== 'installedSize').sort()).toEqual(['aliases', 'default', 'description', 'installed', 'kind', 'name', 'size']);
  });
});
