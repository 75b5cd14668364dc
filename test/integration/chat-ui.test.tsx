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
