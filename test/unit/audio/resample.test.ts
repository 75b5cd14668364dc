import { describe, expect, it } from 'vitest';
import { createResampler, resample } from '../../../src/audio/resample.js';
import { concatFloat32 } from '../../../src/audio/pcm.js';
import { dominantFrequency, levelAt, sine } from './signal.js';

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('resample', () => {
  for (const [from, to] of [
    [22050, 48000],
    [16000, 24000],
    [48000, 16000],
    [22050, 24000],
    [24000, 22050],
  ]) {
    it(`${from} → ${to}: length, pitch and level kept, matches the ideal sine`, () => {
      const out = resample(sine(440, from, 1), from, to);
      expect(out.length).toBe(to); // 1 s in, 1 s out
      expect(dominantFrequency(out, to)).toBe(440);
      // Away from the edges the output is the sine sampled at the new rate.
      const ideal = sine(440, to, 1);
      const mid = (x: Float32Array): Float32Array => x.subarray(to / 10, to - to / 10);
      expect(maxAbsDiff(mid(out), mid(ideal))).toBeLessThan(2e-3);
    });
  }

  it('removes what the lower rate cannot carry (no aliasing)', () => {
    // 10 kHz is above 16 kHz's Nyquist (8 kHz) and would fold to 6 kHz; 6 kHz itself fits.
    const out = resample(sine(10_000, 48000, 0.5), 48000, 16000);
    expect(levelAt(out.subarray(800, 7200), 16000, 6000)).toBeLessThan(1e-3);
    const kept = resample(sine(6000, 48000, 0.5), 48000, 16000);
    expect(levelAt(kept.subarray(800, 7200), 16000, 6000)).toBeGreaterThan(0.2);
  });

  it('streaming in uneven chunks gives exactly the one-shot output (no clicks at joins)', () => {
    const input = sine(440, 22050, 1.3);
    const whole = resample(input, 22050, 48000);
    const r = createResampler(22050, 48000);
    const parts: Float32Array[] = [];
    let at = 0;
    for (const size of [1, 7, 300, 2205, 5000, 1, 13000]) {
      parts.push(r.push(input.subarray(at, at + size)));
      at += size;
    }
    parts.push(r.push(input.subarray(at)));
    parts.push(r.flush());
    const streamed = concatFloat32(parts);
    expect(streamed.length).toBe(whole.length);
    expect(maxAbsDiff(streamed, whole)).toBeLessThan(1e-6);
  });

  it('keeps a constant (DC) exactly', () => {
    const out = resample(new Float32Array(4000).fill(0.3), 16000, 22050);
    for (const v of out.subarray(100, out.length - 100)) expect(Math.abs(v - 0.3)).toBeLessThan(1e-5);
  });

  it('passes equal rates through and resamples to 24 kHz for OpenAI pcm', () => {
    const input = sine(440, 24000, 0.1);
    expect(Array.from(resample(input, 24000, 24000))).toEqual(Array.from(input));
    expect(resample(sine(440, 16000, 1), 16000, 24000).length).toBe(24000);
    expect(() => createResampler(0, 16000)).toThrow(RangeError);
  });
});
