import type { LlamaContext, LlamaContextSequence } from 'node-llama-cpp';

/**
 * The sequences of one context, lent to one request at a time. The model
 * manager already bounds requests to the context's sequence count, so a
 * borrower rarely waits; when it does (a sequence still being erased), it
 * waits in order. Each sequence's state is erased before it is lent again.
 */
export interface SequencePool {
  /** Borrows a clean sequence; `give` returns it. */
  borrow(): Promise<{ sequence: LlamaContextSequence; give: () => Promise<void> }>;
  /** Sequences in use now. */
  readonly busy: number;
}

/** Creates a pool over `context` (sequences are created lazily, up to its total). */
export const createSequencePool = (context: LlamaContext): SequencePool => {
  const free: LlamaContextSequence[] = [];
  const waiters: ((sequence: LlamaContextSequence) => void)[] = [];
  let busy = 0;

  const take = async (): Promise<LlamaContextSequence> => {
    const ready = free.pop();
    if (ready) return ready;
    if (context.sequencesLeft > 0) return context.getSequence();
    return new Promise((resolve) => waiters.push(resolve));
  };

  const giveBack = async (sequence: LlamaContextSequence) => {
    if (sequence.disposed) return;
    // Erase this request's tokens so the next one starts from an empty state.
    await sequence.clearHistory().catch(() => undefined);
    const waiter = waiters.shift();
    if (waiter) waiter(sequence);
    else free.push(sequence);
  };

  return {
    get busy() {
      return busy;
    },
    async borrow() {
      const sequence = await take();
      busy += 1;
      let given = false;
      return {
        sequence,
        give: async () => {
          if (given) return;
          given = true;
          busy -= 1;
          await giveBack(sequence);
        },
      };
    },
  };
};
