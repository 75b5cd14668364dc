import { describe, expect, it } from 'vitest';
import { closestNames } from '../../../src/catalog/resolve.js';
import { sameKey } from '../../../src/server/middleware/auth.js';
import { createMetrics } from '../../../src/server/metrics.js';

describe('bounded work on client input', () => {
  it('metrics label only installed models by name; minted names cannot grow the page', () => {
    const metrics = createMetrics();
    metrics.observeOutcome('stories', 'completed');
    for (let i = 0; i < 3000; i++) metrics.observeOutcome(`x${i}-${'y'.repeat(2000)}`, 'failed');
    for (let i = 0; i < 1000; i++) metrics.observeOutcome(`n${i}`, 'failed');
    metrics.observeOutcome('bad\u0000name', 'failed');
    const page = metrics.render([], new Set(['stories']));
    expect(page).toContain('murmur_generations_total{model="stories",outcome="completed"} 1');
    expect(page).toContain('murmur_generations_total{model="other",outcome="failed"} 4001');
    expect(page).not.toContain('\u0000');
    expect(page.length).toBeLessThan(10_000);
  });

  it('suggests nothing for a name no model could have (a megabyte costs no time)', () => {
    expect(closestNames('q'.repeat(1_000_000), ['qwen3', 'qwen3-0.6b'])).toEqual([]);
    expect(closestNames('qwen3'.repeat(60), ['qwen3'])).toEqual([]);
    expect(closestNames('qwen', ['qwen3', 'stories'])).toEqual(['qwen3']);
  });

  it('compares keys whatever their lengths', () => {
    expect(sameKey('s3cret', 's3cret')).toBe(true);
    expect(sameKey('s3cre', 's3cret')).toBe(false);
    expect(sameKey('', 's3cret')).toBe(false);
    expect(sameKey('s3cret-and-more', 's3cret')).toBe(false);
  });
});
