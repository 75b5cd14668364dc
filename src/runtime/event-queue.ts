/**
 * The events of a session, read by one async iterator: pushed as they
 * happen, read in order; end() lets the reader finish what is queued and
 * stop, fail(error) lets it finish and then throw. Listening sessions,
 * conversations and their remote twins all hand out their events this way.
 */
export interface EventQueue<T> extends AsyncIterable<T> {
  push(event: T): void;
  /** No more events: the reader stops once it has the ones queued. */
  end(): void;
  /** The session failed: the reader throws `error` once it has the ones queued (the first failure wins). */
  fail(error: Error): void;
}

export const createEventQueue = <T>(): EventQueue<T> => {
  const items: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  return {
    push(event) {
      items.push(event);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    fail(error) {
      failure ??= error;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length) yield items.shift()!;
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
};
