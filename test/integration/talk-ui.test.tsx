import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../commands/context.js';
import { openTalkScreen, TalkApp } from '../../commands/ui/talk-app.js';
import { createTalkStore } from '../../commands/ui/talk-state.js';
import { loadConfig } from '../../src/config.js';
import type { ConversationEvent, ResponseTimings } from '../../src/runtime/conversation.js';
import { Capture } from '../helpers/cli.js';

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

const ev = {
  started: (turn: number) => ({ type: 'speech_started', turn, audioStartMs: 0 }) as ConversationEvent,
  stopped: (turn: number) => ({ type: 'speech_stopped', turn, audioEndMs: 900 }) as ConversationEvent,
  committed: (turn: number) => ({ type: 'committed', turn, audioStartMs: 0, audioEndMs: 900 }) as ConversationEvent,
  partial: (turn: number, text: string) => ({ type: 'transcript_delta', turn, delta: text, text }) as ConversationEvent,
  transcript: (turn: number, text: string) => ({ type: 'transcript', turn, text, transcribeMs: 120 }) as ConversationEvent,
  failed: (turn: number, message: string) => ({ type: 'transcript_failed', turn, error: new Error(message) }) as ConversationEvent,
  reply: (response: number) => ({ type: 'response_started', response, itemId: `r${response}` }) as ConversationEvent,
  text: (response: number, text: string) => ({ type: 'text_delta', response, text }) as ConversationEvent,
  done: (response: number, status: string, timings: ResponseTimings = { totalMs: 900 }, extra: Record<string, unknown> = {}) =>
    ({ type: 'response_done', response, itemId: `r${response}`, status, text: '', kept: '', spoken: true, timings, ...extra }) as ConversationEvent,
};

const start = () => {
  const store = createTalkStore();
  const app = render(<TalkApp store={store} />);
  const screen = () => app.lastFrame() ?? '';
  const send = (...events: ConversationEvent[]) => {
    for (const event of events) store.dispatch({ type: 'event', event });
  };
  /** The status line: the last line of the frame. */
  const status = () => screen().trimEnd().split('\n').at(-1) ?? '';
  return { store, app, screen, send, status };
};

afterEach(() => cleanup());

describe('the talk UI', () => {
  it('follows a turn: listening, hearing you with the live transcript, thinking, speaking, then the lines and the timings', async () => {
    const { screen, send, status } = start();
    await waitFor(() => expect(status()).toBe('listening · Ctrl-C leaves'));

    send(ev.started(1));
    await waitFor(() => expect(status()).toBe('hearing you… · Ctrl-C leaves'));
    send(ev.partial(1, 'yes'));
    await waitFor(() => expect(screen()).toContain('you: yes\n'));
    send(ev.partial(1, 'yes no'), ev.stopped(1));
    await waitFor(() => expect(screen()).toContain('you: yes no'));
    expect(status()).toMatch(/^hearing you…/);

    send(ev.committed(1));
    await waitFor(() => expect(status()).toMatch(/^thinking…/));
    send(ev.transcript(1, ' yes  no '));
    await waitFor(() => expect(screen()).toMatch(/^you: yes no$/m));
    expect(status()).toMatch(/^thinking…/);
    send(ev.reply(1));
    await waitFor(() => expect(status()).toMatch(/^thinking…/));
    expect(screen()).not.toContain('murmur:');

    send(ev.text(1, '\n Once'), ev.text(1, ' upon\n'));
    await waitFor(() => expect(status()).toBe('speaking · Ctrl-C leaves'));
    expect(screen()).toMatch(/^murmur: Once upon$/m);
    send(ev.text(1, '\na time.'), ev.done(1, 'completed', { transcribeMs: 120, firstTokenMs: 80.4, firstAudioMs: 412, totalMs: 900 }));
    await waitFor(() => expect(status()).toBe('listening · first audio 412 ms · Ctrl-C leaves'));
    // Each line once, in order: the live transcript and the live reply are gone.
    expect(screen().trimEnd().split('\n')).toEqual(['you: yes no', 'murmur: Once upon a time.', '', status()]);
  });

  it('speaking over a reply cuts it off: the line and the status are marked interrupted until the next reply', async () => {
    const { screen, send, status } = start();
    send(ev.started(1), ev.committed(1), ev.transcript(1, 'tell me a story'), ev.reply(1), ev.text(1, 'Once upon'));
    await waitFor(() => expect(status()).toMatch(/^speaking/));
    send(ev.started(2));
    await waitFor(() => expect(status()).toMatch(/^hearing you…/));
    send(ev.done(1, 'cancelled', { firstTokenMs: 50, totalMs: 300 }, { reason: 'turn_detected' }));
    await waitFor(() => expect(screen()).toMatch(/^murmur: Once upon \[interrupted\]$/m));
    expect(status()).toBe('hearing you… · interrupted · first token 50 ms · Ctrl-C leaves');

    send(ev.committed(2), ev.transcript(2, 'stop'));
    await waitFor(() => expect(screen()).toMatch(/^you: stop$/m));
    expect(status()).toMatch(/^thinking… · interrupted/);
    send(ev.reply(2), ev.text(2, 'Stopped.'));
    await waitFor(() => expect(status()).toBe('speaking · first token 50 ms · Ctrl-C leaves'));
    send(ev.done(2, 'completed', { firstAudioMs: 200, totalMs: 400 }));
    await waitFor(() => expect(status()).toBe('listening · first audio 200 ms · Ctrl-C leaves'));
    expect(screen().trimEnd().split('\n').slice(0, 4)).toEqual(['you: tell me a story', 'murmur: Once upon [interrupted]', 'you: stop', 'murmur: Stopped.']);
  });

  it('shows a turn not transcribed, an error event and a failed reply as lines', async () => {
    const { screen, send, status } = start();
    send(ev.started(1), ev.committed(1), ev.failed(1, 'decoder broke'));
    await waitFor(() => expect(screen()).toContain('warning: turn 1 could not be transcribed: decoder broke'));
    expect(status()).toMatch(/^listening/);
    send({ type: 'error', error: new Error('unknown voice') } as ConversationEvent);
    await waitFor(() => expect(screen()).toContain('error: unknown voice'));
    send(ev.transcript(2, 'hi'), ev.reply(1), ev.text(1, 'Hel'), ev.done(1, 'failed', { totalMs: 10 }, { error: new Error('out of memory') }));
    await waitFor(() => expect(screen()).toContain('warning: the reply failed: out of memory'));
    expect(screen()).toMatch(/^murmur: Hel \[failed\]$/m);
    expect(status()).toMatch(/^listening/);
  });

  it('holds a turn heard during a reply until just before its own reply, and shows it when the talk ends', async () => {
    const { store, screen, send, status } = start();
    send(ev.transcript(1, 'one'), ev.reply(1), ev.text(1, 'A'), ev.transcript(2, 'two'), ev.transcript(3, 'three'));
    await waitFor(() => expect(screen()).toMatch(/^murmur: A$/m));
    expect(screen()).not.toContain('you: two');
    send(ev.done(1, 'completed'));
    await waitFor(() => expect(screen()).toMatch(/^you: two$/m));
    expect(screen()).not.toContain('you: three');
    expect(status()).toMatch(/^thinking…/);
    send(ev.reply(2), ev.text(2, 'B'));
    await waitFor(() => expect(status()).toMatch(/^speaking/));
    // The talk ends (the recording answered, or Ctrl-C): the reply under way and the turn held back become lines; nothing is live.
    store.dispatch({ type: 'end' });
    await waitFor(() => expect(screen()).not.toContain('Ctrl-C leaves'));
    expect(screen().trimEnd().split('\n')).toEqual(['you: one', 'murmur: A', 'you: two', 'murmur: B', 'you: three']);
    send(ev.started(4));
    expect(screen()).not.toContain('hearing');
  });

  it('on a terminal: shows leaving… after Ctrl-C, and close() draws the last lines and unmounts', async () => {
    const stdout = new Capture(true);
    const stderr = new Capture(true);
    const controller = new AbortController();
    const ctx: CommandContext = { env: {}, stdin: process.stdin, stdout, stderr, signal: controller.signal, config: (overrides) => loadConfig({}, overrides) };
    const screen = openTalkScreen(ctx);
    screen.event(ev.transcript(1, 'yes'));
    screen.event(ev.reply(1));
    screen.event(ev.text(1, 'Hello there.'));
    await waitFor(() => expect(stdout.text).toContain('speaking'));
    controller.abort();
    await waitFor(() => expect(stdout.text).toContain('leaving…'));
    screen.event(ev.done(1, 'cancelled', { totalMs: 5 }, { reason: 'client_cancelled' }));
    screen.end();
    await screen.close();
    await screen.close();
    expect(stdout.text).toContain('you: yes');
    expect(stdout.text).toMatch(/murmur: Hello there\.(\u001b\[[0-9;]*m)* \[interrupted\]/);
    expect(stderr.text).toBe('');
    // Unmounted: what comes after draws nothing.
    const drawn = stdout.text;
    screen.event(ev.transcript(2, 'after'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stdout.text).toBe(drawn);
  });
});
