import { describe, expect, it } from 'vitest';
import { framesToMono, type FrameLayout } from '../../../src/audio/mixdown.js';

/** The mono mix of 16-bit little-endian frames, worked out plainly with a DataView. */
const reference = (bytes: Uint8Array, channels: number): Float32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blockAlign = channels * 2;
  const frames = Math.floor(bytes.length / blockAlign);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += view.getInt16(f * blockAlign + c * 2, true) / 32768;
    out[f] = sum / channels;
  }
  return out;
};

/**
 * Interleaved 16-bit frames placed `byteOffset` bytes into a larger buffer
 * (an odd offset gives an unaligned view), with the extremes and a spread
 * of other values in every channel, plus one stray trailing byte.
 */
const pcm16 = (channels: number, frames: number, byteOffset: number): Uint8Array => {
  const data = frames * channels * 2 + 1;
  const backing = new Uint8Array(byteOffset + data + 5).fill(0xa5);
  const view = new DataView(backing.buffer, byteOffset, data);
  const extremes = [-32768, 32767, 0, -1, 1, -32767];
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) {
      const i = f * channels + c;
      const value = i < extremes.length * channels ? extremes[(f + c) % extremes.length]! : ((i * 7919 + c * 104729) % 65536) - 32768;
      view.setInt16(i * 2, value, true);
    }
  }
  return new Uint8Array(backing.buffer, byteOffset, data);
};

const layout16 = (channels: number): FrameLayout => ({ encoding: 'pcm', channels, bitsPerSample: 16, blockAlign: channels * 2 });

describe('framesToMono: 16-bit PCM gives what the plain per-sample reading gives', () => {
  for (const channels of [1, 2, 3, 6]) {
    for (const byteOffset of [0, 1, 2, 3]) {
      it(`${channels} channel(s), source view at byte offset ${byteOffset}`, () => {
        const frames = 257;
        const bytes = pcm16(channels, frames, byteOffset);
        const expected = reference(bytes, channels);
        expect(expected).toHaveLength(frames);

        const fresh = framesToMono(bytes, layout16(channels));
        expect(fresh).toEqual(expected);

        // Into a caller's array at an offset: only that stretch is written.
        const outOffset = 11;
        const out = new Float32Array(outOffset + frames + 4).fill(9);
        expect(framesToMono(bytes, layout16(channels), out, outOffset)).toBe(out);
        expect(out.subarray(outOffset, outOffset + frames)).toEqual(expected);
        expect([...out.subarray(0, outOffset), ...out.subarray(outOffset + frames)].every((x) => x === 9)).toBe(true);
      });
    }
  }

  it('maps the extremes exactly: -32768 to -1 and 32767 to 32767/32768', () => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt16(0, -32768, true);
    new DataView(bytes.buffer).setInt16(2, 32767, true);
    expect(Array.from(framesToMono(bytes, layout16(1)))).toEqual([-1, Math.fround(32767 / 32768)]);
    // Mixed as one stereo frame they average to -1/65536.
    expect(Array.from(framesToMono(bytes, layout16(2)))).toEqual([Math.fround((-1 + 32767 / 32768) / 2)]);
  });

  it('reads a 16-bit sample inside a wider block (padding after the channels) the same way', () => {
    // blockAlign 6 with 2 channels: each frame carries 2 bytes the mix must skip.
    const layout: FrameLayout = { encoding: 'pcm', channels: 2, bitsPerSample: 16, blockAlign: 6 };
    const frames = 40;
    const bytes = new Uint8Array(frames * 6);
    const view = new DataView(bytes.buffer);
    const expected = new Float32Array(frames);
    for (let f = 0; f < frames; f++) {
      const a = f % 2 ? -32768 : 32767 - f * 3;
      const b = -f * 811;
      view.setInt16(f * 6, a, true);
      view.setInt16(f * 6 + 2, b, true);
      view.setInt16(f * 6 + 4, 12345, true); // padding, not a channel
      expected[f] = (a / 32768 + b / 32768) / 2;
    }
    expect(framesToMono(bytes, layout)).toEqual(expected);
  });
});
