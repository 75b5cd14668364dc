import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { createSlotQueue } from '../../../src/runtime/queue.js';

describe('slot queue', () => {
  it('grants free slots at once and waiters in arrival order', async () => {
    const queue = createSlotQueue({ slots: 2, maxQueued: 5 });
    const first = await queue.acquire();
    const second = await queue.acquire();
    const order: number[] = [];
    const waiting = [3, 4, 5].map((n) => queue.acquire().then((release) => (order.push(n), release)));
    expect(queue).toMatchObject({ active: 2, queued: 3 });
    first();
    first(); // a second call must not free another slot
    await waiting[0];
    expect(queue).toMatchObject({ active: 2, queued: 2 });
    second();
    (await waiting[0])();
    await Promise.all(waiting).then((releases) => releases.forEach((r) => r()));
    expect(order).toEqual([3, 4, 5]);
    expect(queue).toMatchObject({ active: 0, queued: 0 });
  });

  it('refuses beyond the queue bound with an overloaded error naming the model', async () => {
    const queue = createSlotQueue({ slots: 1, maxQueued: 0, label: 'tiny' });
    await queue.acquire();
    const error = (await queue.acquire().catch((e: unknown) => e)) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('overloaded');
    expect(error.message).toContain("'tiny'");
  });

  it('rejects an already-aborted signal without taking a slot, and reports changes', async () => {
    let changes = 0;
    const queue = createSlotQueue({ slots: 1, maxQueued: 1, onChange: () => changes++ });
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(queue.acquire(controller.signal)).rejects.toThrow('gone');
    expect(queue.active).toBe(0);
    expect(changes).toBe(0);
    (await queue.acquire())();
    expect(changes).toBe(2);
  });
});
