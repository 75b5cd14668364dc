import { describe, expect, it } from 'vitest';
import { FLUSH_INTERVAL_MS, streamResponse } from '../../../src/server/sse.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bytes = (text: string) => new TextEncoder().encode(text);

/** Reads a body, noting each chunk as it arrives. */
const readChunks = async (response: Response) => {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
  return chunks;
};

const plan = (start: (emit: (b: Uint8Array) => void) => Promise<string>) =>
  streamResponse<string>({
    signal: new AbortController().signal,
    start: (emit) => start(emit),
    tail: (result) => [bytes(`[${result}]`)],
    failure: () => bytes('[failed]'),
    headers: () => ({ 'Content-Type': 'text/plain' }),
  });

describe('streamResponse flushing', () => {
  it('lets a fast stream share writes, keeping every byte in order', async () => {
    const response = await plan(async (emit) => {
      for (let i = 0; i < 200; i++) {
        emit(bytes(`${i},`));
        if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
      }
      return 'end';
    });
    const chunks = await readChunks(response);
    const expected = `${Array.from({ length: 200 }, (_, i) => `${i},`).join('')}[end]`;
    expect(chunks.join('')).toBe(expected);
    // 200 pieces emitted in a burst: far fewer writes than pieces.
    expect(chunks.length).toBeLessThan(20);
  });

  it('never holds back a slow stream: each piece goes out before the next is made', async () => {
    const seen: string[][] = [];
    let chunks: string[] = [];
    const response = await plan(async (emit) => {
      for (let i = 0; i < 4; i++) {
        emit(bytes(`piece${i};`));
        await sleep(FLUSH_INTERVAL_MS * 4);
        seen.push([...chunks]);
      }
      return 'end';
    });
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks = [...chunks, decoder.decode(chunk)];
    })();
    await reading;
    // By the time each piece's successor is made, the piece itself was read.
    seen.forEach((readSoFar, i) => expect(readSoFar.join('')).toContain(`piece${i};`));
    expect(chunks.join('')).toBe('piece0;piece1;piece2;piece3;[end]');
  });

  it('sends what was pending before a failure frame', async () => {
    const response = await plan(async (emit) => {
      emit(bytes('a'));
      await sleep(1);
      emit(bytes('b'));
      throw new Error('boom');
    });
    expect((await readChunks(response)).join('')).toBe('ab[failed]');
  });
});
