import { afterAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../../../src/audio/encode.js';
import type { EncoderPool } from '../../../src/audio/encoder-pool.js';

/**
 * The encoder pool's worker threads run the built encoder-thread.js, so the
 * pool is loaded from dist/ (test/global-setup.ts builds it): the bytes it
 * gives must be the bytes the in-thread encoder gives, in order, however
 * many sessions share a thread.
 */
const { createEncoderPool } = (await import('../../../dist/src/audio/encoder-pool.js' as string)) as typeof import('../../../src/audio/encoder-pool.js');

const tone = (n: number, step: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i / step) * 0.3);
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('encoder pool (worker threads)', () => {
  const pool: EncoderPool = createEncoderPool({ threads: 2 });
  afterAll(() => pool.close());

  it.each(['wav', 'mp3', 'flac', 'pcm'] as const)('%s: the same bytes as the encoder on this thread', async (format) => {
    const options = { sampleRate: 22_050, outputRate: format === 'pcm' ? 24_000 : undefined };
    const here = createEncoder(format, options);
    const there = pool.open(format, options);
    expect(there.sampleRate).toBe(here.sampleRate);
    expect(there.contentType).toBe(here.contentType);
    const pieces = [tone(5000, 7), tone(3000, 11), tone(7000, 5)];
    const expected = concat([...pieces.map((p) => here.push(p)), here.end()]);
    const pushed = pieces.map((p) => there.push(p));
    const got = concat([...(await Promise.all(pushed)), await there.end()]);
    expect(got.equals(expected)).toBe(true);
  });

  it('opus comes out whole (an Ogg stream of the same length; its serial number is random)', async () => {
    const here = createEncoder('opus', { sampleRate: 16_000 });
    const there = pool.open('opus', { sampleRate: 16_000 });
    expect(there.sampleRate).toBe(48_000);
    const expected = concat([here.push(tone(16_000, 9)), here.end()]);
    const got = concat([await there.push(tone(16_000, 9)), await there.end()]);
    expect(got.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(got.length).toBe(expected.length);
  });

  it('many sessions at once each get their own stream, in order', async () => {
    const sessions = Array.from({ length: 12 }, (_, i) => ({ i, here: createEncoder('mp3', { sampleRate: 16_000 }), there: pool.open('mp3', { sampleRate: 16_000 }) }));
    const results = await Promise.all(
      sessions.map(async ({ i, here, there }) => {
        const pieces = Array.from({ length: 6 }, (_, k) => tone(1600 + k * 300, 3 + i + k));
        const expected = concat([...pieces.map((p) => here.push(p)), here.end()]);
        const got = concat([...(await Promise.all(pieces.map((p) => there.push(p)))), await there.end()]);
        return got.equals(expected);
      }),
    );
    expect(results).toEqual(Array(12).fill(true));
  });

  it('an unknown format is refused at once, as createEncoder refuses it', () => {
    expect(() => pool.open('aiff' as never, { sampleRate: 16_000 })).toThrow(/Unsupported audio format 'aiff'/);
  });

  it('a disposed session answers nothing more', async () => {
    const session = pool.open('mp3', { sampleRate: 16_000 });
    await session.push(tone(1600, 4));
    session.dispose();
    expect((await session.push(tone(1600, 4))).length).toBe(0);
    expect((await session.end()).length).toBe(0);
  });
});
