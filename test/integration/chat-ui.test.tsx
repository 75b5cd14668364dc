import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatApp } from '../../commands/ui/chat-app.js';
import { createFakeChatRuntime, type FakeChatRuntime } from '../helpers/fake-chat-runtime.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Polls until `check` passes (or throws its last failure after a few seconds). */
const waitFor = async (check: () => void, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
};

const start = (runtime: FakeChatRuntime, props: { system?: string; cwd?: string; maxTokens?: number } = {}) => {
  const app = render(<ChatApp runtime={runtime} model="tiny" system={props.system} cwd={props.cwd} settings={{ temperature: 0, maxTokens: props.maxTokens }} />);
  const screen = () => app.lastFrame() ?? '';
  /** Types text (one chunk, like a paste) and presses Enter. */
  const say = async (text: string) => {
    app.stdin.write(text);
    await settle();
    app.stdin.write('\r');
    await settle();
  };
  return { app, screen, say };
};

afterEach(() => cleanup());

describe('the chat UI', () => {
  it('streams the reply as it arrives, then shows tokens/s', async () => {
    const runtime = createFakeChatRuntime({ delayMs: 30, reply: () => 'alpha beta gamma delta epsilon' });
    const { screen, say } = start(runtime);
    await settle();
    expect(screen()).toContain('Chatting with tiny');
    await say('hello there');
    await waitFor(() => expect(screen()).toMatch(/alpha beta/));
    expect(screen()).not.toMatch(/tokens\/s/);
    await waitFor(() => expect(screen()).toMatch(/epsilon[\s\S]*\d+\.\d tokens\/s · 5 tokens/));
    expect(screen()).toContain('› hello there');
    expect(runtime.requests).toHaveLength(1);
    expect(runtime.requests[0]).toMatchObject({ model: 'tiny', temperature: 0, messages: [{ role: 'user', content: 'hello there' }] });
  });

  it('Ctrl-C mid-reply stops that reply and the app keeps going', async () => {
    const runtime = createFakeChatRuntime({ delayMs: 40, reply: (r) => (r.messages.length === 1 ? 'one two three four five six seven eight nine ten eleven twelve' : 'second answer') });
    const { app, screen, say } = start(runtime);
    await settle();
    await say('count');
    await waitFor(() => expect(screen()).toMatch(/one two/));
    app.stdin.write('\u0003');
    await waitFor(() => expect(runtime.outcomes).toEqual(['aborted']));
    await waitFor(() => expect(screen()).toMatch(/stopped/));
    expect(screen()).not.toContain('twelve');
    expect(screen()).not.toMatch(/again/);
    await say('next');
    await waitFor(() => expect(screen()).toMatch(/second answer[\s\S]*tokens\/s/));
    expect(runtime.outcomes).toEqual(['aborted', 'done']);
    // The partial reply stays in the conversation.
    const context = runtime.requests[1].messages;
    expect(context[1].role).toBe('assistant');
    expect(context[1].content).toMatch(/^one two/);
    expect(context[2]).toEqual({ role: 'user', content: 'next' });
  });

  it('Ctrl-C when idle shows a hint first; the second one leaves', async () => {
    const runtime = createFakeChatRuntime();
    const { app, screen } = start(runtime);
    await settle();
    app.stdin.write('\u0003');
    await waitFor(() => expect(screen()).toMatch(/Ctrl-C again/));
    // Leaving unmounts the app: a key pressed afterwards changes nothing.
    app.stdin.write('\u0003');
    await settle();
    const frame = screen();
    app.stdin.write('typed after exit');
    await settle();
    expect(screen()).toBe(frame);
    expect(frame).not.toContain('typed after exit');
  });

  it('/clear empties the conversation sent with the next request', async () => {
    const runtime = createFakeChatRuntime();
    const { screen, say } = start(runtime);
    await settle();
    await say('remember me');
    await waitFor(() => expect(screen()).toMatch(/You said: remember me[\s\S]*tokens\/s/));
    await say('/clear');
    await waitFor(() => expect(screen()).toContain('Conversation cleared.'));
    await say('fresh');
    await waitFor(() => expect(runtime.requests).toHaveLength(2));
    expect(runtime.requests[1].messages).toEqual([{ role: 'user', content: 'fresh' }]);
  });

  it('/system changes the system prompt of the next request', async () => {
    const runtime = createFakeChatRuntime();
    const { screen, say } = start(runtime, { system: 'Be terse.' });
    await settle();
    await say('first');
    await waitFor(() => expect(screen()).toMatch(/You said: first[\s\S]*tokens\/s/));
    expect(runtime.requests[0].messages[0]).toEqual({ role: 'system', content: 'Be terse.' });
    await say('/system You are a pirate.');
    await waitFor(() => expect(screen()).toContain('System prompt set.'));
    await say('second');
    await waitFor(() => expect(runtime.requests).toHaveLength(2));
    expect(runtime.requests[1].messages[0]).toEqual({ role: 'system', content: 'You are a pirate.' });
    expect(runtime.requests[1].messages.at(-1)).toEqual({ role: 'user', content: 'second' });
  });

  it('multi-line input: a trailing backslash continues the message', async () => {
    const runtime = createFakeChatRuntime();
    const { app, screen, say } = start(runtime);
    await settle();
    await say('line one\\');
    expect(runtime.requests).toHaveLength(0);
    await say('line two');
    await waitFor(() => expect(runtime.requests).toHaveLength(1));
    expect(runtime.requests[0].messages.at(-1)?.content).toBe('line one\nline two');
    await waitFor(() => expect(screen()).toMatch(/tokens\/s/));
    app.stdin.write('\u001b\r');
    await settle();
    expect(runtime.requests).toHaveLength(1);
  });

  it('/model switches to an installed model and refuses an unknown one', async () => {
    const runtime = createFakeChatRuntime({ models: ['tiny', 'other'] });
    const { screen, say } = start(runtime);
    await settle();
    await say('/model missing');
    await waitFor(() => expect(screen()).toMatch(/'missing' is not downloaded/));
    await say('/model other');
    await waitFor(() => expect(screen()).toContain('Now chatting with other.'));
    await say('hi');
    await waitFor(() => expect(runtime.requests).toHaveLength(1));
    expect(runtime.requests[0].model).toBe('other');
  });

  it('/save writes the transcript', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-chat-ui-'));
    try {
      const runtime = createFakeChatRuntime();
      const { screen, say } = start(runtime, { cwd: dir });
      await settle();
      await say('save this');
      await waitFor(() => expect(screen()).toMatch(/tokens\/s/));
      await say('/save talk.json');
      await waitFor(() => expect(screen()).toContain('Saved the conversation'));
      const saved = JSON.parse(await readFile(join(dir, 'talk.json'), 'utf8'));
      expect(saved.messages).toEqual([{ role: 'user', content: 'save this' }, { role: 'assistant', content: 'You said: save this' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the chat UI keeps going', () => {
  it('drops the oldest turns when the conversation outgrows the context, and says so', async () => {
    // 40 "tokens" of context; each reply is 6 words, so a few turns fill it.
    const runtime = createFakeChatRuntime({ contextSize: 40, reply: () => 'one two three four five six' });
    const { screen, say } = start(runtime);
    await settle();
    for (const word of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']) {
      const before = runtime.outcomes.length;
      await say(`${word} is my word`);
      await waitFor(() => expect(runtime.outcomes.length).toBe(before + 1));
    }
    await waitFor(() => expect(screen()).toMatch(/dropped the \d+ oldest messages to fit tiny's 40-token context/));
    expect(screen()).not.toMatch(/holds 40 tokens/);
    expect(runtime.outcomes.every((o) => o === 'done')).toBe(true);
    const last = runtime.requests.at(-1)!;
    expect(last.messages.at(-1)).toEqual({ role: 'user', content: 'foxtrot is my word' });
    expect(last.messages[0]).toMatchObject({ role: 'user' });
    expect(last.messages.some((m) => m.content.startsWith('alpha'))).toBe(false);
    // No max_tokens given: a quarter of the context once it is known, not all of it.
    expect(last.maxTokens).toBe(10);
  });

  it('a message too long for the context fails with a hint naming /clear, and the chat goes on', async () => {
    const runtime = createFakeChatRuntime({ contextSize: 5 });
    const { screen, say } = start(runtime);
    await settle();
    await say('this message has far too many words in it');
    await waitFor(() => expect(screen()).toMatch(/holds 5 tokens[\s\S]*\/clear/));
    await say('hi');
    await waitFor(() => expect(screen()).toContain('You said: hi'));
  });

  it('Ctrl-D on a draft keeps it; on an empty line it leaves', async () => {
    const runtime = createFakeChatRuntime();
    const { app, screen } = start(runtime);
    await settle();
    app.stdin.write('my draft');
    await settle();
    app.stdin.write('\u0004');
    await settle();
    expect(screen()).toContain('my draft');
    app.stdin.write('\u0015');
    await settle();
    app.stdin.write('\u0004');
    await settle();
    const frame = screen();
    app.stdin.write('after');
    await settle();
    expect(screen()).toBe(frame);
  });

  it('/set changes the sampling of the next request; /set alone lists the settings', async () => {
    const runtime = createFakeChatRuntime();
    const { screen, say } = start(runtime);
    await settle();
    await say('/set temperature 0.7');
    await waitFor(() => expect(screen()).toContain('temperature set to 0.7'));
    await say('/set top_k 5');
    await say('/set seed x');
    await waitFor(() => expect(screen()).toContain("seed must be a whole number of 0 or more, not 'x'"));
    await say('/set');
    await waitFor(() => expect(screen()).toMatch(/temperature\s+0\.7[\s\S]*top_k\s+5[\s\S]*max_tokens\s+default/));
    await say('hi');
    await waitFor(() => expect(runtime.requests).toHaveLength(1));
    expect(runtime.requests[0]).toMatchObject({ temperature: 0.7, topK: 5 });
  });

  it('/model alone lists the installed chat models', async () => {
    const runtime = createFakeChatRuntime({ models: ['tiny', 'other'] });
    const { screen, say } = start(runtime);
    await settle();
    await say('/model');
    await waitFor(() => expect(screen()).toMatch(/Installed chat models[\s\S]*\* tiny[\s\S]*  other/));
  });

  it('/save to a missing folder says so in one line; /load reads a saved conversation back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-chat-ui-'));
    try {
      const runtime = createFakeChatRuntime();
      const first = start(runtime, { cwd: dir, system: 'Be kind.' });
      await settle();
      await first.say('/save /nonexistent/x.md');
      await waitFor(() => expect(first.screen()).toContain('Could not save to /nonexistent/x.md: no such file or folder.'));
      expect(first.screen()).not.toContain('ENOENT');
      await first.say('keep this');
      await waitFor(() => expect(first.screen()).toMatch(/tokens\/s|1 token|\d tokens/));
      await first.say('/save talk.md');
      await waitFor(() => expect(first.screen()).toContain('Saved the conversation'));
      first.app.unmount();

      const second = start(runtime, { cwd: dir });
      await settle();
      await second.say('/load missing.md');
      await waitFor(() => expect(second.screen()).toMatch(/Could not load .*missing\.md: no such file or folder\./));
      await second.say('/load talk.md');
      await waitFor(() => expect(second.screen()).toMatch(/Loaded 2 messages/));
      await second.say('and then');
      await waitFor(() => expect(runtime.requests).toHaveLength(2));
      expect(runtime.requests[1].messages).toEqual([
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'keep this' },
        { role: 'assistant', content: 'You said: keep this' },
        { role: 'user', content: 'and then' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the input history in a file, and Up recalls an earlier session', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-chat-ui-'));
    try {
      const historyFile = join(dir, 'chat_history');
      const runtime = createFakeChatRuntime();
      const first = render(<ChatApp runtime={runtime} model="tiny" historyFile={historyFile} />);
      await settle();
      first.stdin.write('two\\');
      await settle();
      first.stdin.write('\r');
      await settle();
      first.stdin.write('lines');
      await settle();
      first.stdin.write('\r');
      await waitFor(() => expect(runtime.outcomes).toHaveLength(1));
      first.unmount();
      const { readHistory } = await import('../../commands/ui/chat-history.js');
      await waitFor(async () => expect(await readFile(historyFile, 'utf8')).toBe('"two\\nlines"\n'));
      const history = await readHistory(historyFile);
      expect(history).toEqual(['two\nlines']);
      const second = render(<ChatApp runtime={runtime} model="tiny" history={history} historyFile={historyFile} />);
      await settle();
      second.stdin.write('\u001b[A');
      await waitFor(() => expect(second.lastFrame()).toMatch(/› two\n\s+lines/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a one-token reply says "1 token" with no rate', async () => {
    const runtime = createFakeChatRuntime({ reply: () => 'Yes' });
    const { screen, say } = start(runtime);
    await settle();
    await say('ok?');
    await waitFor(() => expect(screen()).toMatch(/Yes\n1 token/));
    expect(screen()).not.toMatch(/tokens\/s/);
  });

  it('draws no colour when told not to (NO_COLOR)', async () => {
    const { default: chalk } = await import('chalk');
    const level = chalk.level;
    chalk.level = 1;
    try {
      const coloured = render(<ChatApp runtime={createFakeChatRuntime()} model="tiny" />);
      await settle();
      expect(coloured.lastFrame()).toMatch(/\u001b\[36m/);
      coloured.unmount();
      const plain = render(<ChatApp runtime={createFakeChatRuntime()} model="tiny" color={false} />);
      await settle();
      expect(plain.lastFrame()).not.toMatch(/\u001b\[3\dm/);
      expect(plain.lastFrame()).toContain('›');
    } finally {
      chalk.level = level;
    }
  });

  it('wraps a long input line at its words', async () => {
    const runtime = createFakeChatRuntime();
    const { app, screen } = start(runtime);
    await settle();
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    app.stdin.write(words);
    await settle();
    // The cursor in the middle of the line, where the line is split to draw it.
    for (let i = 0; i < 100; i++) app.stdin.write('\u001b[D');
    await settle();
    const lines = screen().split('\n').filter((line) => line.includes('word'));
    expect(lines.length).toBeGreaterThan(1);
    // Read in order, the lines give back the words whole (no word cut, no column drawn beside another).
    expect(lines.map((line) => line.replace(/^[›\s]+/, '').trimEnd()).join(' ')).toBe(words);
  });
});
