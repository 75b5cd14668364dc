import { describe, expect, it } from 'vitest';
import { closestNames } from '../../../src/catalog/resolve.js';

const names = ['whisper-tiny.en', 'whisper-base.en', 'moonshine-tiny-en', 'kokoro-en-v0_19', 'kokoro', 'qwen3', 'qwen3-0.6b', 'silero-vad'];

describe('closestNames', () => {
  it('puts exact, punctuation-insensitive matches first', () => {
    expect(closestNames('Qwen_3', names)[0]).toBe('qwen3');
  });

  it('finds typos within a third of the length', () => {
    expect(closestNames('wisper-tiny.en', names)).toContain('whisper-tiny.en');
    expect(closestNames('sxlxrxvxd', names)).toEqual([]);
    expect(closestNames('silero-vda', names)).toEqual(['silero-vad']);
  });

  it('finds names that extend the query, prefixes first and shorter first', () => {
    expect(closestNames('koko', names)).toEqual(['kokoro', 'kokoro-en-v0_19']);
    expect(closestNames('tiny', names)).toEqual(['whisper-tiny.en', 'moonshine-tiny-en']);
  });

  it('returns nothing for far-off names and honours the limit', () => {
    expect(closestNames('zzzzzz', names)).toEqual([]);
    expect(closestNames('qwen3', names, 1)).toEqual(['qwen3']);
    expect(closestNames('qwen3', names, 0)).toEqual([]);
  });
});
