import { describe, expect, it } from 'vitest';
import { newestOnly } from '../../../web/src/newest-only.js';

// A request whose answer is held until the test lets it go.
const held = <T>() => {
  let release!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (release = resolve));
  return { promise, release };
};

describe('newestOnly (the page keeps the newest answer of overlapping look-ups)', () => {
  it('drops an answer to an older request that arrives after a newer one', async () => {
    const shown: string[] = [];
    const ask = newestOnly((value: string) => shown.push(value));
    const poll = held<string>();
    const lookUp = held<string>();
    const first = ask(() => poll.promise); // sent before the unload finished
    const second = ask(() => lookUp.promise); // sent after it
    lookUp.release('not loaded');
    await second;
    poll.release('loaded');
    await first;
    expect(shown).toEqual(['not loaded']);
  });

  it('applies answers that arrive in the order they were asked, and a later one after a failure', async () => {
    const shown: number[] = [];
    const ask = newestOnly((value: number) => shown.push(value));
    await ask(async () => 1);
    await expect(ask(async () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    const a = held<number>();
    const b = held<number>();
    const pa = ask(() => a.promise);
    const pb = ask(() => b.promise);
    a.release(2);
    await pa;
    b.release(3);
    await pb;
    expect(shown).toEqual([1, 2, 3]);
  });

  it('keeps quiet about an older request that fails after a newer one answered', async () => {
    const shown: string[] = [];
    const ask = newestOnly((value: string) => shown.push(value));
    const slow = held<string>();
    let fail!: (error: Error) => void;
    const first = ask(() => Promise.race([slow.promise, new Promise<string>((_, reject) => (fail = reject))]));
    await ask(async () => 'fresh');
    fail(new Error('timed out'));
    await expect(first).resolves.toBeUndefined();
    expect(shown).toEqual(['fresh']);
  });
});
