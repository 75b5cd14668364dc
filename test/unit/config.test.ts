import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, loadConfig, normaliseHost, parseCount, parseNumber } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

describe('parseNumber and parseCount', () => {
  it('accept numbers that pass the check', () => {
    expect(parseNumber('1.25', '--speed')).toBe(1.25);
    expect(parseNumber(' 0.5 ', '--top-p', (n) => n > 0 && n <= 1, 'a number above 0 and at most 1')).toBe(0.5);
    expect(parseCount('4', '--jobs')).toBe(4);
    expect(parseCount('0', '--max-queue', 0)).toBe(0);
  });

  it('refuse blank, non-numeric, fractional and too-small values with a message naming the flag', () => {
    expect(() => parseNumber('fast', '--speed')).toThrow("--speed must be a number, not 'fast'.");
    expect(() => parseNumber('Infinity', '--speed')).toThrow(UsageError);
    expect(() => parseCount('2.5', '--jobs')).toThrow("--jobs must be a whole number of 1 or more, not '2.5'.");
    expect(() => parseCount('0', '--parallel')).toThrow("--parallel must be a whole number of 1 or more, not '0'.");
    // Number('') and Number(' ') are 0: a blank value must not pass as zero.
    expect(() => parseCount(' ', '--max-queue', 0)).toThrow("--max-queue must be a whole number of 0 or more, not ' '.");
    expect(() => parseNumber('', '--temperature', (n) => n >= 0, 'a number from 0 to 10')).toThrow('--temperature must be a number from 0 to 10');
  });

  it('check the MURMUR_* counts the same way', () => {
    expect(loadConfig({ MURMUR_PARALLEL: '2', MURMUR_MAX_QUEUE: '0' })).toMatchObject({ parallel: 2, maxQueue: 0 });
    expect(() => loadConfig({ MURMUR_THREADS: 'many' })).toThrow("MURMUR_THREADS must be a whole number of 1 or more, not 'many'.");
    expect(() => loadConfig({ MURMUR_MAX_QUEUE: ' ' })).toThrow(/MURMUR_MAX_QUEUE must be a whole number of 0 or more/);
  });
});

describe('normaliseHost', () => {
  it('adds http and the default port to a bare host, and keeps URLs as given', () => {
    expect(normaliseHost('127.0.0.1')).toBe(`http://127.0.0.1:${DEFAULT_PORT}`);
    expect(normaliseHost('box:8080/')).toBe('http://box:8080');
    expect(normaliseHost('https://api.example.com/v1/')).toBe('https://api.example.com/v1');
    expect(loadConfig({ MURMUR_HOST: 'box' }).host).toBe(normaliseHost('box'));
  });
});
