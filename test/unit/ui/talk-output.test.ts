import { describe, expect, it } from 'vitest';
import { createTalkPrinter, eventJson } from '../../../commands/ui/talk-output.js';
import type { ConversationEvent } from '../../../src/runtime/conversation.js';
import { Capture } from '../../helpers/cli.js';

const timings = { totalMs: 5 };
const transcript = (turn: number, text: string) => ({ type: 'transcript', turn, text, transcribeMs: 1 }) as ConversationEvent;
const started = (response: number) => ({ type: 'response_started', response, itemId: `r${response}` }) as ConversationEvent;
const delta = (response: number, text: string) => ({ type: 'text_delta', response, text }) as ConversationEvent;
const done = (response: number, status = 'completed', extra: Record<string, unknown> = {}) =>
  ({ type: 'response_done', response, itemId: `r${response}`, status, text: '', kept: '', spoken: true, timings, ...extra }) as ConversationEvent;

const printed = (events: ConversationEvent[]) => {
  const out = new Capture();
  const warn = new Capture();
  const printer = createTalkPrinter(out, warn, false);
  for (const event of events) printer.event(event);
  printer.end();
  return { out: out.text, warn: warn.text };
};

describe("murmur talk's terminal lines", () => {
  it('prints each turn, then its reply as one line, the model\'s line breaks as spaces', () => {
    const { out } = printed([transcript(1, ' yes  no '), started(1), delta(1, '\n Once'), delta(1, ' upon\n'), delta(1, '\na time.'), done(1)]);
    expect(out).toBe('you: yes no\nmurmur: Once upon a time.\n');
  });

  it('holds a turn heard during a reply back until the reply before it ends', () => {
    const { out } = printed([transcript(1, 'one'), started(1), delta(1, 'A'), transcript(2, 'two'), transcript(3, 'three'), delta(1, 'B'), done(1), started(2), delta(2, 'C'), done(2), started(3), done(3)]);
    expect(out).toBe('you: one\nmurmur: AB\nyou: two\nmurmur: C\nyou: three\nmurmur: \n');
  });

  it('marks a reply cut off, warns about a failed reply or turn on the other stream, and skips empty turns', () => {
    const { out, warn } = printed([
      transcript(1, '  '),
      { type: 'transcript_failed', turn: 2, error: new Error('decoder broke') } as ConversationEvent,
      transcript(3, 'hi'),
      started(1),
      delta(1, 'Hel'),
      done(1, 'cancelled', { reason: 'turn_detected' }),
      started(2),
      done(2, 'failed', { error: new Error('engine crashed') }),
    ]);
    expect(out).toBe('you: hi\nmurmur: Hel [interrupted]\nmurmur:  [failed]\n');
    expect(warn).toMatch(/turn 2 could not be transcribed: decoder broke/);
    expect(warn).toMatch(/the reply failed: engine crashed/);
  });

  it('shows turns still held back when the conversation ends', () => {
    expect(printed([started(1), delta(1, 'A'), transcript(2, 'two')]).out).toBe('murmur: A\nyou: two\n');
  });

  it('--json: one object per event, audio described without its samples, errors as messages', () => {
    const chunk = { samples: new Float32Array(1600), sampleRate: 16_000, offsetMs: 250, offsetSamples: 4000, text: 'Hi.' };
    expect(eventJson({ type: 'audio', response: 1, chunk } as ConversationEvent)).toEqual({ type: 'audio', response: 1, text: 'Hi.', offsetMs: 250, durationMs: 100, sampleRate: 16_000 });
    expect(eventJson({ type: 'transcript_failed', turn: 2, error: new Error('x') } as ConversationEvent)).toEqual({ type: 'transcript_failed', turn: 2, error: 'x' });
    const out = new Capture();
    const printer = createTalkPrinter(out, new Capture(), true);
    printer.event(transcript(1, 'yes'));
    printer.event(done(1));
    expect(out.text.trim().split('\n').map((line) => JSON.parse(line).type)).toEqual(['transcript', 'response_done']);
  });
});
