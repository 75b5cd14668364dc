import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, run, verbsOf } from '../../commands/index.js';
import type { CommandContext } from '../../commands/context.js';
import { verbs } from '../../commands/verbs.js';
import { loadConfig } from '../../src/config.js';

const context = () => {
  let out = '';
  const stdout = new PassThrough();
  stdout.on('data', (chunk) => (out += chunk));
  const ctx: CommandContext = {
    env: {},
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    signal: new AbortController().signal,
    config: (overrides) => loadConfig({}, overrides),
  };
  return { ctx, out: () => out };
};

describe('verbs loaded on demand', () => {
  it('lists place-holders in the top-level help exactly as the full commands', async () => {
    const full = await buildProgram(context().ctx, 'all');
    const lean = await buildProgram(context().ctx, []);
    expect(lean.helpInformation()).toBe(full.helpInformation());
    expect(lean.commands.map((c) => c.name())).toEqual(verbs.map((v) => v.name));
  });

  it('loads the full command of the verb run, and only that one', async () => {
    const program = await buildProgram(context().ctx, ['ls']);
    const list = program.commands.find((c) => c.name() === 'list')!;
    const pull = program.commands.find((c) => c.name() === 'pull')!;
    expect(list.options.map((o) => o.long)).toContain('--all');
    expect(pull.options).toHaveLength(0);
  });

  it('finds the verb after global options, and the one `help` names', () => {
    expect(verbsOf(['node', 'murmur', '--home', '/x', 'pull', 'qwen3'])).toEqual(['pull']);
    expect(verbsOf(['node', 'murmur', '--help'])).toEqual([]);
    expect(verbsOf(['node', 'murmur', 'help', 'speak'])).toEqual(['help', 'speak']);
    expect(verbsOf(['node', 'murmur', 'chat', 'qwen3', 'hi'])).toEqual(['chat']);
  });

  it('`murmur help VERB` and `murmur VERB --help` show the full command with its examples', async () => {
    for (const argv of [['help', 'rm'], ['rm', '--help']]) {
      const { ctx, out } = context();
      expect(await run(['node', 'murmur', ...argv], ctx)).toBe(0);
      expect(out()).toContain('Usage: murmur rm|remove');
      expect(out()).toContain('Examples:');
    }
  });
});
