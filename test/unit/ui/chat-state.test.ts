import { describe, expect, it } from 'vitest';
import {
  initialChatState, pressKey, requestMessages, step, type ChatAction, type ChatEffect, type ChatState, type KeyInfo,
} from '../../../commands/ui/chat-state.js';
import { cursorPosition, inputOf } from '../../../commands/ui/chat-input.js';

const key = (input: string, info: KeyInfo = {}): ChatAction => ({ type: 'key', input, key: info });

/** Runs actions in order; returns the final state and every effect emitted. */
const play = (state: ChatState, ...actions: ChatAction[]): { state: ChatState; effects: ChatEffect[] } => {
  const effects: ChatEffect[] = [];
  for (const action of actions) {
    const next = step(state, action);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
};

const typed = (text: string): ChatAction[] => [...text].map((ch) => key(ch));
const enter = key('\r', { return: true });
const ctrlC = key('c', { ctrl: true });
const start = () => initialChatState('tiny', 'Be brief.');

const send = (state: ChatState, text: string) => play(state, ...typed(text), enter);
const lastLog = (state: ChatState) => state.log.at(-1)!;
/** The contents of the messages a 'send' effect carries. */
const sentContents = (effect: ChatEffect | undefined): string[] => {
  if (effect?.type !== 'send') throw new Error(`expected a send effect, got ${JSON.stringify(effect)}`);
  return effect.messages.map((m) => m.content);
};

describe('sending and streaming', () => {
  it('sends the system prompt and the message, then appends streamed tokens', () => {
    const { state, effects } = send(start(), 'hello');
    expect(effects).toEqual([{ type: 'send', model: 'tiny', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] }]);
    expect(state.input.text).toBe('');
    expect(lastLog(state)).toMatchObject({ kind: 'user', text: 'hello' });
    const streamed = play(state, { type: 'token', text: 'Hi' }, { type: 'token', text: ' there' }).state;
    expect(streamed.reply?.text).toBe('Hi there');
    const done = play(streamed, { type: 'reply-done', result: { text: 'Hi there', tokensPerSecond: 42.25, completionTokens: 2, finishReason: 'stop' } }).state;
    expect(done.reply).toBeUndefined();
    expect(done.messages.at(-1)).toEqual({ role: 'assistant', content: 'Hi there' });
    expect(lastLog(done)).toMatchObject({ kind: 'assistant', text: 'Hi there' });
    expect(lastLog(done).stats).toContain('42.3 tokens/s');
  });

  it('keeps the conversation: the second request carries the first exchange', () => {
    let { state } = send(start(), 'one');
    state = play(state, { type: 'reply-done', result: { text: 'uno', tokensPerSecond: 1, completionTokens: 1, finishReason: 'stop' } }).state;
    const { effects } = send(state, 'two');
    expect(sentContents(effects[0])).toEqual(['Be brief.', 'one', 'uno', 'two']);
  });

  it('ignores an empty Enter and refuses a second message while a reply streams', () => {
    expect(play(start(), enter).effects).toEqual([]);
    const { state } = send(start(), 'first');
    const again = send(state, 'second');
    expect(again.effects).toEqual([]);
    expect(again.state.notice).toMatch(/Ctrl-C/);
    expect(again.state.input.text).toBe('second');
  });

  it('marks a reply cut by the token limit', () => {
    const { state } = send(start(), 'go');
    const done = play(state, { type: 'reply-done', result: { text: 'x', tokensPerSecond: 3, completionTokens: 8, finishReason: 'length' } }).state;
    expect(lastLog(done).stats).toMatch(/token limit/);
  });

  it('drops the unanswered message from the context when the request fails', () => {
    const { state } = send(start(), 'boom');
    const failed = play(state, { type: 'reply-failed', message: 'engine exploded', aborted: false }).state;
    expect(failed.reply).toBeUndefined();
    expect(failed.messages).toEqual([]);
    expect(lastLog(failed)).toMatchObject({ kind: 'error', text: 'engine exploded' });
  });
});

describe('Ctrl-C and Ctrl-D', () => {
  it('Ctrl-C during a reply aborts it, keeps the partial text and the program', () => {
    let { state } = send(start(), 'tell me');
    state = play(state, { type: 'token', text: 'Once' }).state;
    const stopped = play(state, ctrlC);
    expect(stopped.effects).toEqual([{ type: 'abort' }]);
    expect(stopped.state.reply?.stopping).toBe(true);
    expect(play(stopped.state, ctrlC).effects).toEqual([]);
    const after = play(stopped.state, { type: 'reply-failed', message: 'aborted', aborted: true }).state;
    expect(after.reply).toBeUndefined();
    expect(after.messages.at(-1)).toEqual({ role: 'assistant', content: 'Once' });
    expect(lastLog(after)).toMatchObject({ kind: 'assistant', text: 'Once', stats: 'stopped' });
    expect(after.exitArmed).toBe(false);
  });

  it('a reply that returns normally after Ctrl-C is marked stopped', () => {
    let { state } = send(start(), 'x');
    state = play(state, ctrlC, { type: 'reply-done', result: { text: 'part', tokensPerSecond: 5, completionTokens: 1, finishReason: 'stop' } }).state;
    expect(lastLog(state).stats).toMatch(/stopped/);
  });

  it('Ctrl-C when idle warns once, then leaves; another key disarms it', () => {
    const first = play(start(), ctrlC);
    expect(first.effects).toEqual([]);
    expect(first.state.notice).toMatch(/again/);
    expect(play(first.state, ctrlC).effects).toEqual([{ type: 'exit' }]);
    const disarmed = play(first.state, key('a'), ctrlC);
    expect(disarmed.effects).toEqual([]);
  });

  it('Ctrl-D leaves, stopping a reply first', () => {
    expect(play(start(), key('d', { ctrl: true })).effects).toEqual([{ type: 'exit' }]);
    const { state } = send(start(), 'hi');
    expect(play(state, key('d', { ctrl: true })).effects).toEqual([{ type: 'abort' }, { type: 'exit' }]);
  });
});

describe('multi-line editing', () => {
  it('a line ending with a backslash continues on a new line instead of sending', () => {
    const { state, effects } = play(start(), ...typed('first\\'), enter, ...typed('second'));
    expect(effects).toEqual([]);
    expect(state.input.text).toBe('first\nsecond');
    expect(sentContents(play(state, enter).effects[0]).at(-1)).toBe('first\nsecond');
  });

  it('Alt+Enter and Ctrl-J insert a newline; pasted text keeps its newlines', () => {
    const alt = play(start(), ...typed('a'), key('\r', { return: true, meta: true }), ...typed('b')).state;
    expect(alt.input.text).toBe('a\nb');
    const ctrlJ = play(start(), ...typed('a'), key('\n'), ...typed('b')).state;
    expect(ctrlJ.input.text).toBe('a\nb');
    const pasted = play(start(), key('x\r\ny')).state;
    expect(pasted.input.text).toBe('x\ny');
    expect(play(start(), key('x\r\ny\r')).effects).toEqual([]);
  });

  it('one line and Enter arriving in one chunk is sent; a continued line is not', () => {
    const sent = play(start(), key('quick\r'));
    expect(sent.effects[0]).toMatchObject({ type: 'send', messages: [{ role: 'system' }, { role: 'user', content: 'quick' }] });
    const continued = play(start(), key('more\\\r'));
    expect(continued.effects).toEqual([]);
    expect(continued.state.input.text).toBe('more\n');
  });

  it('moves the cursor by character, line edge and line, and edits in the middle', () => {
    let state = play(start(), ...typed('abc\\'), enter, ...typed('de')).state;
    state = play(state, key('', { upArrow: true })).state;
    expect(cursorPosition(state.input)).toEqual({ line: 0, column: 2 });
    state = play(state, key('', { leftArrow: true }), key('X')).state;
    expect(state.input.text).toBe('aXbc\nde');
    state = play(state, key('e', { ctrl: true }), key('!')).state;
    expect(state.input.text).toBe('aXbc!\nde');
    state = play(state, key('', { downArrow: true }), key('', { end: true }), key('', { backspace: true }), key('', { delete: true })).state;
    expect(state.input.text).toBe('aXbc!\n');
    state = play(state, key('', { backspace: true }), key('a', { ctrl: true }), key('>')).state;
    expect(state.input.text).toBe('>aXbc!');
    state = play(state, key('w', { ctrl: true })).state;
    expect(state.input.text).toBe('aXbc!');
  });

  it('Up and Down past the first and last line recall earlier messages', () => {
    let { state } = send(start(), 'older');
    state = play(state, { type: 'reply-done', result: { text: 'r', tokensPerSecond: 1, completionTokens: 1, finishReason: 'stop' } }).state;
    state = play(state, ...typed('draft')).state;
    state = play(state, key('', { upArrow: true })).state;
    expect(state.input).toEqual(inputOf('older'));
    state = play(state, key('', { downArrow: true })).state;
    expect(state.input.text).toBe('');
  });
});

describe('slash commands', () => {
  it('/clear forgets the conversation but keeps the system prompt', () => {
    let { state } = send(start(), 'hello');
    state = play(state, { type: 'reply-done', result: { text: 'hi', tokensPerSecond: 1, completionTokens: 1, finishReason: 'stop' } }).state;
    state = send(state, '/clear').state;
    expect(state.messages).toEqual([]);
    expect(requestMessages(state)).toEqual([{ role: 'system', content: 'Be brief.' }]);
    expect(lastLog(state).text).toMatch(/cleared/);
  });

  it('/system sets, shows and removes the system prompt', () => {
    let state = send(start(), '/system You are a pirate.').state;
    expect(state.system).toBe('You are a pirate.');
    expect(send(state, 'ahoy').effects[0]).toMatchObject({ messages: [{ role: 'system', content: 'You are a pirate.' }, { role: 'user', content: 'ahoy' }] });
    expect(lastLog(send(state, '/system').state).text).toContain('You are a pirate.');
    state = send(state, '/system -').state;
    expect(state.system).toBeUndefined();
    expect(requestMessages(state)).toEqual([]);
  });

  it('/model asks to check the model and switches when it is ready', () => {
    const { state, effects } = send(start(), '/model other');
    expect(effects).toEqual([{ type: 'check-model', name: 'other' }]);
    expect(state.model).toBe('tiny');
    const switched = play(state, { type: 'model-ready', name: 'other' }).state;
    expect(switched.model).toBe('other');
    expect(send(switched, 'hi').effects[0]).toMatchObject({ model: 'other' });
    expect(lastLog(send(start(), '/model').state).text).toContain('tiny');
  });

  it('/save writes JSON for .json and markdown otherwise', () => {
    let { state } = send(start(), 'q');
    state = play(state, { type: 'reply-done', result: { text: 'a', tokensPerSecond: 1, completionTokens: 1, finishReason: 'stop' } }).state;
    const json = send(state, '/save out.json').effects[0] as { type: string; path: string; content: string };
    expect(json).toMatchObject({ type: 'save', path: 'out.json' });
    expect(JSON.parse(json.content)).toEqual({ model: 'tiny', system: 'Be brief.', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] });
    const md = send(state, '/save notes.md').effects[0] as { content: string };
    expect(md.content).toMatch(/^# Chat with tiny/);
    expect(md.content).toContain('## You\n\nq');
    expect(md.content).toContain('## Assistant\n\na');
    const bare = send(state, '/save');
    expect(bare.effects).toEqual([]);
    expect(lastLog(bare.state)).toMatchObject({ kind: 'error' });
  });

  it('/help lists the commands and keys; /exit and /quit leave; unknown commands say so', () => {
    const help = lastLog(send(start(), '/help').state).text;
    for (const word of ['/clear', '/system', '/model', '/save', '/exit', 'Alt+Enter', 'Ctrl-C']) expect(help).toContain(word);
    expect(send(start(), '/exit').effects).toEqual([{ type: 'exit' }]);
    expect(send(start(), '/quit').effects).toEqual([{ type: 'exit' }]);
    const unknown = send(start(), '/frobnicate');
    expect(unknown.effects).toEqual([]);
    expect(lastLog(unknown.state)).toMatchObject({ kind: 'error' });
    expect(lastLog(unknown.state).text).toContain('/frobnicate');
  });

  it('slash commands are remembered for Up recall but never sent to the model', () => {
    const { state, effects } = send(start(), '/clear');
    expect(effects).toEqual([]);
    expect(state.history).toEqual(['/clear']);
    expect(pressKey(state, '', { upArrow: true }).state.input.text).toBe('/clear');
  });
});
