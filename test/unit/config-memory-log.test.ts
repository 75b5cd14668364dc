import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('MURMUR_MAX_MEMORY and MURMUR_LOG_FORMAT', () => {
  it('read sizes in binary units (or off) and json or pretty; refuse anything else with one line', () => {
    expect(loadConfig({ MURMUR_MAX_MEMORY: '8G' }).maxMemoryBytes).toBe(8 * 1024 ** 3);
    expect(loadConfig({ MURMUR_MAX_MEMORY: '512M' }).maxMemoryBytes).toBe(512 * 1024 ** 2);
    expect(loadConfig({ MURMUR_MAX_MEMORY: '1.5GiB' }).maxMemoryBytes).toBe(1.5 * 1024 ** 3);
    expect(loadConfig({ MURMUR_MAX_MEMORY: 'off' }).maxMemoryBytes).toBe(Number.POSITIVE_INFINITY);
    expect(loadConfig({}).maxMemoryBytes).toBeUndefined();
    expect(() => loadConfig({ MURMUR_MAX_MEMORY: 'lots' })).toThrow("MURMUR_MAX_MEMORY must be a size such as 8G or 512M (or off), not 'lots'.");
    expect(loadConfig({ MURMUR_LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ MURMUR_LOG_FORMAT: 'xml' })).toThrow("MURMUR_LOG_FORMAT must be json or pretty, not 'xml'.");
  });
});
