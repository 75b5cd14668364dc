import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/server/app.js';
import { packageVersion } from '../../src/project.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

describe('/health says which daemon answers', () => {
  it('carries version, pid, start time and uptime, stopping or not', async () => {
    const stop = new AbortController();
    const app = createApp(createFakeRuntime(), { shutdown: stop.signal });
    const body = (await (await app.request('/health')).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', version: packageVersion(), pid: process.pid });
    expect(body.uptime_s).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(body.started_at as string))).toBe(false);
    stop.abort();
    const stopping = await app.request('/health');
    expect(stopping.status).toBe(503);
    expect(await stopping.json()).toMatchObject({ status: 'stopping', version: packageVersion(), pid: process.pid });
  });
});

describe('POST /murmur/v1/shutdown (murmur stop)', () => {
  it('asks the daemon to stop and says its grace period; needs the API key; not served without a stop handler or under /api', async () => {
    let asked = 0;
    const app = createApp(createFakeRuntime(), { apiKey: 'k', stop: { request: () => void asked++, graceMs: 7000 } });
    expect((await app.request('/murmur/v1/shutdown', { method: 'POST' })).status).toBe(401);
    expect((await app.request('/murmur/v1/shutdown', { method: 'POST', headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(0);
    const res = await app.request('/murmur/v1/shutdown', { method: 'POST', headers: { Authorization: 'Bearer k' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'stopping', grace_ms: 7000 });
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(1);
    expect((await app.request('/api/shutdown', { method: 'POST', headers: { Authorization: 'Bearer k' } })).status).toBe(404);
    const plain = createApp(createFakeRuntime());
    expect((await plain.request('/murmur/v1/shutdown', { method: 'POST' })).status).toBe(404);
  });
});
