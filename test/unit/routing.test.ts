import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRouting, type Routing } from '../../src/routing/router.js';
import { UpstreamRetryable } from '../../src/routing/upstream.js';
import type { UpstreamSpec } from '../../src/types/routing.js';

/** The router's choices, against HTTP servers of the test's own on 127.0.0.1. */

const servers: Server[] = [];
let routing: Routing | undefined;
afterEach(() => {
  routing?.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const serve = async (handle: RequestListener): Promise<string> => {
  const server = createServer(handle);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
};
const models = (ids: string[]): RequestListener => (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'list', data: ids.map((id) => ({ id })) }));
const spec = (name: string, url: string, extra: Partial<UpstreamSpec> = {}): UpstreamSpec => ({ name, url, timeoutMs: 2_000, dialect: 'openai', healthIntervalMs: 60_000, ...extra });

describe('routing', () => {
  it('resolves the first matching route in order, renaming where the route says', () => {
    routing = createRouting({
      upstreams: [spec('a', 'http://127.0.0.1:9/v1'), spec('b', 'http://127.0.0.1:9/v1')],
      routes: [{ pattern: 'qwen3-70b', upstreams: ['a'], model: 'Qwen/Qwen3-70B' }, { pattern: 'qwen*', upstreams: ['b'] }],
      checks: false,
    });
    expect(routing.resolve('qwen3-70b')).toMatchObject({ model: 'Qwen/Qwen3-70B', route: { upstreams: ['a'] } });
    expect(routing.resolve('qwen3')).toMatchObject({ model: 'qwen3', route: { upstreams: ['b'] } });
    expect(routing.resolve('llama')).toBeUndefined();
    expect(routing.resolve(undefined)).toBeUndefined();
  });

  it('gives each request to the least busy replica', async () => {
    const [a, b] = [await serve(models([])), await serve(models([]))];
    routing = createRouting({ upstreams: [spec('a', a), spec('b', b)], routes: [{ pattern: 'm', upstreams: ['a', 'b'] }], checks: false });
    const target = routing.resolve('m')!;
    // Three held requests: they spread over both, and the fourth goes to the one holding fewer.
    const ends: (() => void)[] = [];
    const picked: string[] = [];
    for (let i = 0; i < 3; i++) {
      await routing.dispatchHeld(target, async (upstream, end) => {
        picked.push(upstream.spec.name);
        ends.push(() => end());
      });
    }
    expect(new Set(picked)).toEqual(new Set(['a', 'b']));
    const busier = picked.filter((n) => n === 'a').length > 1 ? 'a' : 'b';
    const next = await routing.dispatch(target, async (upstream) => upstream.spec.name);
    expect(next).not.toBe(busier);
    for (const end of ends) end();
    expect(routing.status().every((s) => s.inFlight === 0)).toBe(true);
  });

  it('tries the next replica when one is down, and takes the down one out until a check passes', async () => {
    const up = await serve(models(['m']));
    const down = await serve(models([]));
    await new Promise<void>((done) => servers.pop()!.close(() => done()));
    routing = createRouting({ upstreams: [spec('down', down), spec('up', up)], routes: [{ pattern: 'm', upstreams: ['down', 'up'] }], checks: false });
    const target = routing.resolve('m')!;
    const served = [];
    for (let i = 0; i < 4; i++) served.push(await routing.dispatch(target, async (upstream) => (await upstream.fetch('/models', {})).ok && upstream.spec.name));
    expect(served).toEqual(['up', 'up', 'up', 'up']);
    // Out after its first refusal: the three requests after it went straight to `up`.
    expect(routing.status().find((s) => s.name === 'down')).toMatchObject({ healthy: false, requests: 1, errors: 1 });
    await routing.checkAll();
    expect(routing.status().find((s) => s.name === 'down')).toMatchObject({ healthy: false });
    expect(routing.status().find((s) => s.name === 'up')).toMatchObject({ healthy: true, models: ['m'] });
    // Back on its port, it passes the next check and is back in.
    const back = createServer(models(['m']));
    servers.push(back);
    await new Promise<void>((done) => back.listen(Number(new URL(down).port), '127.0.0.1', done));
    await routing.checkAll();
    expect(routing.status().find((s) => s.name === 'down')).toMatchObject({ healthy: true, models: ['m'] });
  });

  it('every replica failing: the error names each and what it did', async () => {
    const oom = await serve((_req, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":{"message":"CUDA out of memory"}}'));
    const gone = await serve(models([]));
    await new Promise<void>((done) => servers.pop()!.close(() => done()));
    routing = createRouting({ upstreams: [spec('gpu1', oom), spec('gpu2', gone)], routes: [{ pattern: 'big', upstreams: ['gpu1', 'gpu2'] }], checks: false });
    const error = await routing.dispatch(routing.resolve('big')!, (upstream) => upstream.fetch('/chat/completions', { method: 'POST', body: '{}' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamRetryable);
    expect((error as UpstreamRetryable).code).toBe('upstream_error');
    expect((error as UpstreamRetryable).message).toMatch(/^No replica of 'big' answered: (gpu1 \(HTTP 500\), gpu2 \(ECONNREFUSED\)|gpu2 \(ECONNREFUSED\), gpu1 \(HTTP 500\))\.$/);
    expect(routing.status().map((s) => [s.name, s.requests, s.errors, s.inFlight])).toEqual([
      ['gpu1', 1, 1, 0],
      ['gpu2', 1, 1, 0],
    ]);
  });

  it('one replica failing: its 5xx names the upstream and its words', async () => {
    const failing = await serve((_req, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":{"message":"CUDA out of memory"}}'));
    routing = createRouting({ upstreams: [spec('gpu', failing)], routes: [{ pattern: 'big', upstreams: ['gpu'] }], checks: false });
    const error = await routing.dispatch(routing.resolve('big')!, (upstream) => upstream.fetch('/chat/completions', { method: 'POST', body: '{}' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamRetryable);
    expect(error).toMatchObject({ code: 'upstream_error', message: "Upstream 'gpu' failed (HTTP 500: CUDA out of memory)." });
    expect(routing.status()[0]).toMatchObject({ errors: 1, requests: 1, inFlight: 0 });
  });

  it('lists routed models: literal routes by their name, globs by what their upstreams serve', async () => {
    const a = await serve(models(['llama-3', 'llama-4', 'other']));
    routing = createRouting({ upstreams: [spec('a', a)], routes: [{ pattern: 'big', upstreams: ['a'], model: 'llama-4' }, { pattern: 'llama-*', upstreams: ['a'] }], checks: false });
    await routing.checkAll();
    expect(routing.models().map((m) => [m.name, m.upstream])).toEqual([
      ['big', 'a'],
      ['llama-3', 'a'],
      ['llama-4', 'a'],
    ]);
  });

  it('warns once about a listed model that two routes match', async () => {
    const a = await serve(models(['llama-3']));
    const warnings: string[] = [];
    routing = createRouting({ upstreams: [spec('a', a)], routes: [{ pattern: 'llama-*', upstreams: ['a'] }, { pattern: 'llama-?', upstreams: ['a'] }], checks: false, onWarning: (w) => warnings.push(w) });
    await routing.checkAll();
    await routing.checkAll();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/'llama-3' matches 2 routes .*the first wins/);
  });
});
