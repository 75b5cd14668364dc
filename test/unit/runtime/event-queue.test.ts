import { describe, expect, it } from 'vitest';
import { createEventQueue } from '../../../src/runtime/event-queue.js';

describe('createEventQueue', () => {
  const read = async <T>(queue: AsyncIterable<T>) => {
    const seen: T[] = [];
    try {
      for await (const event of queue) seen.push(event);
    } catch (error) {
      return { seen, error: (error as Error).message };
    }
    return { seen };
  };
  it('gives every event pushed, in order, then stops at end()', async () => {
    const queue = createEventQueue<number>();
    const reading = read(queue);
    queue.push(1);
    await new Promise((r) => setTimeout(r, 5));
    queue.push(2);
    queue.end();
    queue.push(3); // queued before the reader looked again: still read
    expect(await reading).toEqual({ seen: [1, 2, 3] });
  });
  it('throws the first failure once the queued events are read', async () => {
    const queue = createEventQueue<string>();
    queue.push('a');
    queue.fail(new Error('first'));
    queue.fail(new Error('second'));
    queue.end();
    expect(await read(queue)).toEqual({ seen: ['a'], error: 'first' });
  });
});
