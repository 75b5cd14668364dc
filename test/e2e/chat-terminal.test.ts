import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtBin as bin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';
import { missingPython, PtyTerminal } from '../helpers/terminal.js';

/**
 * `murmur chat` (the built CLI) on a real pseudo-terminal, its output
 * rendered by a headless xterm.js that reflows on resize as terminals do:
 * the assertions read the screen a user would see.
 */
const GGUF = 'stories260K/stories260K.gguf';

let home: string;
let terminal: PtyTerminal | undefined;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: 'http://127.0.0.1:9', MURMUR_DEBUG: '', CI: 'false', TERM: 'xterm-256color', NO_COLOR: '' });

const chat = async (maxTokens: number, cols: number, rows: number): Promise<PtyTerminal> => {
  terminal = new PtyTerminal([process.execPath, bin, 'chat', 'stories260k', '--local', '--max-tokens', String(maxTokens), '--temperature', '0'], { cols, rows, env: env() });
  await terminal.waitFor((lines) => lines.some((line) => line.startsWith('Chatting with stories260k')), 60_000);
  return terminal;
};

const count = (lines: readonly string[], test: RegExp) => lines.filter((line) => test.test(line)).length;

describe.skipIf(missingPython() ?? missingModels(GGUF))('murmur chat on a terminal (pty, built CLI, real model)', () => {
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'murmur-chat-terminal-'));
    const pulled = spawnSync(process.execPath, [bin, 'pull', testModel(GGUF)!, '--name', 'stories260k'], { env: env(), encoding: 'utf8' });
    if (pulled.status !== 0) throw new Error(`murmur pull failed (${pulled.status}): ${pulled.stderr}`);
  }, 120_000);

  afterEach(async () => {
    await terminal?.close();
    terminal = undefined;
  });

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('resizing narrower and wider leaves one prompt line and one copy of the conversation', async () => {
    const t = await chat(10, 60, 12);
    t.type('Once upon a time\r');
    await t.waitFor((lines) => lines.some((line) => line.includes('tokens/s')), 60_000);
    t.type('my draft is long enough to wrap onto a second row when the window is narrow');
    await t.waitFor((lines) => lines.some((line) => line.includes('narrow')));
    for (const cols of [30, 60, 25, 70, 40, 60]) {
      await t.resize(cols, 12);
      await t.settle(150);
    }
    await t.settle();
    let lines = await t.allLines();
    // The prompt with the draft, and the message sent before: no ghost copies of either.
    expect(count(lines, /^› my draft/), lines.join('\n')).toBe(1);
    expect(count(lines, /^› Once upon a time/), lines.join('\n')).toBe(1);
    expect(count(lines, /^Chatting with/), lines.join('\n')).toBe(1);
    // Nor a ghost prompt holding another piece of the draft, or none of it.
    expect(count(lines, /^›/), lines.join('\n')).toBe(2);

    // A draft that outgrows the screen after those resizes: the conversation is still drawn once.
    t.type(' and on'.repeat(120));
    await t.settle();
    t.type(' END');
    await t.waitFor((screen) => screen.some((line) => line.includes('END')));
    await t.settle();
    lines = await t.allLines();
    expect(count(lines, /^Chatting with/), lines.join('\n')).toBe(1);
    expect(count(lines, /^› Once upon a time/), lines.join('\n')).toBe(1);
    expect(count(lines, /tokens\/s/), lines.join('\n')).toBe(1);
    // One prompt marker under the conversation, on the line that starts the visible draft.
    expect(count(lines, /^›/), lines.join('\n')).toBe(2);
    expect((await t.screen()).length).toBeLessThanOrEqual(12);
  }, 120_000);

  it("a reply's tokens/s line is not erased by the next message and notice: it stays right under the reply", async () => {
    // A reply longer than the screen is tall: the frame drawn while it streams fills the terminal.
    const t = await chat(400, 60, 8);
    t.type('Once upon a time\r');
    await t.waitFor((lines) => lines.some((line) => line.includes('tokens/s')), 60_000);
    await t.settle();
    t.type('/set\r');
    await t.waitFor((lines) => lines.some((line) => line.includes('max_tokens')));
    t.type('\u0003');
    await t.waitFor((lines) => lines.some((line) => line.includes('Press Ctrl-C again')));
    await t.settle();
    const lines = await t.allLines();
    const stats = lines.findIndex((line) => /^[\d.]+ tokens\/s · 400 tokens · cut at the token limit$/.test(line));
    expect(stats, lines.join('\n')).toBeGreaterThan(0);
    // Right above it, the reply's last line; right below it, what /set printed.
    expect(lines[stats - 1]!.trim().length, lines.join('\n')).toBeGreaterThan(0);
    expect(lines[stats + 1], lines.join('\n')).toMatch(/^Settings/);
    expect(count(lines, /^Chatting with/), lines.join('\n')).toBe(1);
  }, 120_000);
});
