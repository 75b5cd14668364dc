import { setImmediate as nextTurnOfLoop } from 'node:timers/promises';
import type { Conversation, ConversationEvent } from '../../src/runtime/conversation.js';

/**
 * Reads a conversation's events for `murmur talk` and keeps count of the
 * turns: each committed turn ends in a transcript (or a failure), and each
 * transcript with words in it starts one response. That is how talk knows,
 * once a recording has been pushed and the listening session closed, that
 * every turn has been answered.
 */
export interface FollowedConversation {
  /** Resolves when the events end; rejects when listening itself fails (the session cannot go on). */
  readonly finished: Promise<void>;
  /**
   * Resolves once every turn heard is transcribed and answered. Call it
   * after the listening session has closed (no turn can come after).
   */
  settled(): Promise<void>;
  /** Turns heard so far. */
  turns(): number;
}

export const followConversation = (conversation: Conversation, onEvent: (event: ConversationEvent) => void): FollowedConversation => {
  let committed = 0;
  let transcribed = 0;
  let responses = 0;
  let answered = 0;
  let wake: (() => void) | undefined;
  let over = false;

  const finished = (async () => {
    try {
      for await (const event of conversation) {
        // Turn 0 is the listening session failing as a whole (its voice detector), not one turn.
        if (event.type === 'transcript_failed' && event.turn === 0) throw event.error;
        onEvent(event);
        if (event.type === 'committed') committed++;
        else if (event.type === 'transcript_failed') transcribed++;
        else if (event.type === 'transcript') {
          transcribed++;
          if (event.text.trim()) responses++;
        } else if (event.type === 'response_done') answered++;
        wake?.();
      }
    } finally {
      over = true;
      wake?.();
    }
  })();
  finished.catch(() => undefined);

  return {
    finished,
    turns: () => committed,
    async settled() {
      for (;;) {
        // Events the closed listening session still holds reach this reader within the turn of the loop.
        await nextTurnOfLoop();
        if (over || (transcribed >= committed && answered >= responses)) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
};
