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

describe('the upstream families', () => {
  const status = (name: string, healthy: boolean) => ({ name, url: 'http://127.0.0.1:1/v1', dialect: 'openai' as const, healthy, inFlight: 2, requests: 7, errors: 1, latencyMs: 12.6, models: [] });

  it('are drawn from the router’s status, one line per upstream, each family typed once', () => {
    const page = createMetrics().render([], new Set(), undefined, [status('a', true), status('gone', false)]);
    expect(page).toContain('murmur_upstream_up{upstream="a"} 1\nmurmur_upstream_up{upstream="gone"} 0');
    expect(page).toContain('murmur_upstream_requests_in_flight{upstream="a"} 2');
    expect(page).toContain('murmur_upstream_requests_total{upstream="gone"} 7');
    expect(page).toContain('murmur_upstream_errors_total{upstream="a"} 1');
    expect(page).toContain('murmur_upstream_latency_seconds{upstream="a"} 0.013');
    expect(page.match(/^# TYPE murmur_upstream_up gauge$/gm)).toHaveLength(1);
  });

  it('are absent on a daemon with no upstreams', () => {
    expect(createMetrics().render([], new Set(), undefined, [])).not.toContain('murmur_upstream');
  });
});
