import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/errors.js';
import { toHttpError } from '../../src/server/errors.js';
import { createMetrics } from '../../src/server/metrics.js';
import { createLimiter, createTenants } from '../../src/server/tenants.js';

/** A clock the test moves by hand, in ms. */
const fakeClock = (start = 1_000_000) => {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe('a key\'s limits over a fake clock', () => {
  it('admits requestsPerMinute in a sliding minute, then says when the oldest ages out', () => {
    const clock = fakeClock();
    const limiter = createLimiter({ requestsPerMinute: 2 }, clock.now);
    expect(limiter.admit().ok).toBe(true);
    clock.advance(10_000);
    expect(limiter.admit().ok).toBe(true);
    clock.advance(2_500);
    expect(limiter.admit()).toMatchObject({ ok: false, reason: 'requests', limit: 2, retryAfterSeconds: 48 }); // 60 − 12.5 s, rounded up
    // A refused request counts against nothing: just before the first ages out it is still refused, then one more is allowed.
    clock.advance(47_499);
    expect(limiter.admit()).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    clock.advance(1);
    expect(limiter.admit().ok).toBe(true);
    expect(limiter.admit()).toMatchObject({ ok: false, reason: 'requests', retryAfterSeconds: 10 });
  });

  it('counts streams until they are released, once each', () => {
    const limiter = createLimiter({ streams: 1 }, fakeClock().now);
    const first = limiter.admit();
    expect(first.ok).toBe(true);
    expect(limiter.admit()).toMatchObject({ ok: false, reason: 'streams', limit: 1, retryAfterSeconds: 1 });
    expect(limiter.inFlight).toBe(1);
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(limiter.inFlight).toBe(0);
    const second = limiter.admit();
    expect(second.ok).toBe(true);
    expect(limiter.inFlight).toBe(1);
  });

  it('refuses while the last minute\'s tokens are at or over tokensPerMinute, until enough age out', () => {
    const clock = fakeClock();
    const limiter = createLimiter({ tokensPerMinute: 100 }, clock.now);
    expect(limiter.admit().ok).toBe(true);
    limiter.charge(60);
    clock.advance(5_000);
    expect(limiter.admit().ok).toBe(true); // 60 < 100
    limiter.charge(30);
    clock.advance(5_000);
    expect(limiter.admit().ok).toBe(true); // 90 < 100: a request is refused only once the limit is reached
    limiter.charge(10);
    // 100 tokens now: the first 60 age out at 60 s, which leaves 40.
    expect(limiter.admit()).toMatchObject({ ok: false, reason: 'tokens', limit: 100, retryAfterSeconds: 50 });
    clock.advance(50_000);
    expect(limiter.admit().ok).toBe(true);
  });

  it('waits for as many charges as it takes to come under the limit', () => {
    const clock = fakeClock();
    const limiter = createLimiter({ tokensPerMinute: 50 }, clock.now);
    limiter.charge(30);
    clock.advance(20_000);
    limiter.charge(30);
    clock.advance(20_000);
    limiter.charge(30);
    // 90 tokens: dropping the first leaves 60 (still over), the second 30 — at 20 + 60 s, 40 s from now.
    expect(limiter.admit()).toMatchObject({ ok: false, reason: 'tokens', retryAfterSeconds: 40 });
  });

  it('has no limits where none are set', () => {
    const limiter = createLimiter({}, fakeClock().now);
    for (let i = 0; i < 1000; i++) expect(limiter.admit().ok).toBe(true);
    limiter.charge(10 ** 9);
    expect(limiter.admit().ok).toBe(true);
  });
});

describe('tenants', () => {
  const keys = [
    { name: 'alice', key: 'alice-key', requestsPerMinute: 1 },
    { name: 'bob', key: 'bob-key', streams: 1 },
  ];

  it('finds a key\'s tenant, keeps MURMUR_API_KEY as default with no limits, and knows no other key', () => {
    const tenants = createTenants(keys, 'old-key');
    expect(tenants.enabled).toBe(true);
    expect(tenants.identify('alice-key')?.name).toBe('alice');
    expect(tenants.identify('bob-key')?.name).toBe('bob');
    expect(tenants.identify('old-key')?.spec).toEqual({ name: 'default', key: 'old-key' });
    expect(tenants.identify('alice-ke')).toBeUndefined();
    expect(tenants.identify('')).toBeUndefined();
    expect(createTenants([], undefined).enabled).toBe(false);
    expect(createTenants([], 'k').list.map((t) => t.name)).toEqual(['default']);
  });

  it('refuses over a limit with a 429 naming the key and the limit, never the key itself; other keys are unaffected', () => {
    const clock = fakeClock();
    const tenants = createTenants(keys, undefined, { now: clock.now });
    const alice = tenants.identify('alice-key')!;
    tenants.admit(alice)();
    let refused: unknown;
    try {
      tenants.admit(alice);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as Error).message).toBe("Key 'alice' is over its 1 request per minute; retry in 60 s.");
    expect((refused as Error).message).not.toContain('alice-key');
    const http = toHttpError(refused);
    expect(http.status).toBe(429);
    expect(http.headers['Retry-After']).toBe('60');
    expect(http.body.error).toMatchObject({ code: 'rate_limit_exceeded' });
    const bob = tenants.identify('bob-key')!;
    expect(() => tenants.admit(bob)).not.toThrow();
  });

  it('writes per-key counts by name when keys are configured, and none for MURMUR_API_KEY alone', () => {
    const metrics = createMetrics();
    const tenants = createTenants(keys, 'old-key', { metrics });
    const bob = tenants.identify('bob-key')!;
    const release = tenants.admit(bob);
    expect(() => tenants.admit(bob)).toThrow(/over its 1 concurrent stream/);
    bob.charge(7, 5);
    let page = metrics.render([]);
    expect(page).toContain('murmur_tenant_requests_total{tenant="bob"} 1');
    expect(page).toContain('murmur_tenant_rejected_total{tenant="bob",reason="streams"} 1');
    expect(page).toContain('murmur_tenant_tokens_total{tenant="bob"} 12');
    expect(page).toContain('murmur_tenant_streams_in_flight{tenant="bob"} 1');
    expect(page).toContain('murmur_tenant_requests_total{tenant="default"} 0');
    expect(page).not.toContain('bob-key');
    release();
    release();
    page = metrics.render([]);
    expect(page).toContain('murmur_tenant_streams_in_flight{tenant="bob"} 0');

    const alone = createMetrics();
    const one = createTenants([], 'old-key', { metrics: alone });
    one.admit(one.identify('old-key')!)();
    expect(alone.render([])).not.toContain('murmur_tenant_');
  });
});
