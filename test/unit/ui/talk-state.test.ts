import { describe, expect, it } from 'vitest';
import { createTalkStore, formatTalkTimings, initialTalkState, talkStatus, talkStep, type TalkAction, type TalkState } from '../../../commands/ui/talk-state.js';
import type { ConversationEvent } from '../../../src/runtime/conversation.js';

const event = (e: Record<string, unknown>): TalkAction => ({ type: 'event', event: e as unknown as ConversationEvent });
const done = (response: number, status: string, extra: Record<string, unknown> = {}) =>
  event({ type: 'response_done', response, itemId: `r${response}`, status, text: '', kept: '', spoken: true, timings: { totalMs: 5 }, ...extra });
const run = (...actions: TalkAction[]): TalkState => actions.reduce(talkStep, initialTalkState());
const lines = (state: TalkState) => state.lines.map((l) => `${l.kind}:${l.text}${l.mark ? `[${l.mark}]` : ''}`);

describe("murmur talk's UI state", () => {
  it('goes listening → hearing you… → thinking… → speaking → listening over one turn', () => {
    const steps: TalkAction[] = [
      event({ type: 'speech_started', turn: 1, audioStartMs: 0 }),
      event({ type: 'transcript_delta', turn: 1, delta: 'ye', text: 'ye' }),
      event({ type: 'committed', turn: 1, audioStartMs: 0, audioEndMs: 500 }),
      event({ type: 'transcript', turn: 1, text: 'yes', transcribeMs: 3 }),
      event({ type: 'response_started', response: 1, itemId: 'r1' }),
      event({ type: 'text_delta', response: 1, text: 'Hi' }),
      done(1, 'completed', { timings: { totalMs: 9, firstTokenMs: 4, firstAudioMs: 7.6 } }),
    ];
    const seen = [talkStatus(initialTalkState())];
    let state = initialTalkState();
    for (const step of steps) seen.push(talkStatus((state = talkStep(state, step))));
    expect(seen).toEqual(['listening', 'hearing you…', 'hearing you…', 'thinking…', 'thinking…', 'thinking…', 'speaking', 'listening']);
    expect(lines(state)).toEqual(['you:yes', 'murmur:Hi']);
    expect(state.timings).toBe('first audio 8 ms');
    expect(state.hearing).toBeUndefined();
  });

  it('keeps the live transcript of the turn being spoken, not of an earlier one', () => {
    const state = run(
      event({ type: 'speech_started', turn: 1, audioStartMs: 0 }),
      event({ type: 'committed', turn: 1, audioStartMs: 0, audioEndMs: 500 }),
      event({ type: 'speech_started', turn: 2, audioStartMs: 900 }),
      event({ type: 'transcript_delta', turn: 2, delta: 'no', text: 'no' }),
      event({ type: 'transcript', turn: 1, text: 'yes', transcribeMs: 3 }),
    );
    expect(state.hearing).toEqual({ turn: 2, text: 'no' });
    expect(talkStatus(state)).toBe('hearing you…');
  });

  it('marks an empty reply cut off, clears the mark when the next reply starts, and Ctrl-C shows leaving…', () => {
    let state = run(event({ type: 'response_started', response: 1, itemId: 'r1' }), done(1, 'cancelled', { reason: 'client_cancelled' }));
    expect(lines(state)).toEqual(['murmur:[interrupted]']);
    expect(state.interrupted).toBe(true);
    state = talkStep(state, event({ type: 'response_started', response: 2, itemId: 'r2' }));
    expect(state.interrupted).toBe(false);
    expect(talkStatus(talkStep(state, { type: 'leaving' }))).toBe('leaving…');
  });

  it('formats the timings of a reply with audio, one without, and one with neither', () => {
    expect(formatTalkTimings({ totalMs: 1, firstTokenMs: 80, firstAudioMs: 412.4 })).toBe('first audio 412 ms');
    expect(formatTalkTimings({ totalMs: 1, firstTokenMs: 79.6 })).toBe('first token 80 ms');
    expect(formatTalkTimings({ totalMs: 1 })).toBeUndefined();
  });

  it('ends once: the reply under way and held turns become lines, later events change nothing, the store tells only on change', () => {
    const store = createTalkStore();
    let told = 0;
    const unsubscribe = store.subscribe(() => told++);
    store.dispatch(event({ type: 'transcript', turn: 1, text: 'one', transcribeMs: 1 }));
    store.dispatch(event({ type: 'response_started', response: 1, itemId: 'r1' }));
    store.dispatch(event({ type: 'text_delta', response: 1, text: 'A ' }));
    store.dispatch(event({ type: 'transcript', turn: 2, text: 'two', transcribeMs: 1 }));
    store.dispatch({ type: 'end' });
    const ended = store.get();
    expect(ended.over).toBe(true);
    expect(lines(ended)).toEqual(['you:one', 'murmur:A', 'you:two']);
    expect(ended.lines.map((l) => l.id)).toEqual([0, 1, 2]);
    store.dispatch(event({ type: 'speech_started', turn: 3, audioStartMs: 0 }));
    store.dispatch({ type: 'end' });
    expect(store.get()).toBe(ended);
    expect(told).toBe(5);
    unsubscribe();
  });
});
