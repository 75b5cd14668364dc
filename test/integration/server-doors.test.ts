import { describe, expect, it } from 'vitest';
import { hostOf } from '../../src/server/middleware/doors.js';
import { createApp } from '../../src/server/app.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

/*
 * The daemon's doors against web pages: DNS rebinding (a foreign Host),
 * cross-site requests (a foreign Origin) and "simple" bodies a browser may
 * send without a preflight (text/plain). The attack that replaced a model
 * with a file from an attacker's URL is the first case.
 */

const request = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
  new Request(`http://127.0.0.1:11470${path}`, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers: { Host: '127.0.0.1:11470', ...init.headers }, body: init.body });

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string; type: string } }).error;

describe('the doors against web pages', () => {
  it('refuses the rebinding attack: a text/plain POST to /murmur/v1/pull from a foreign origin and host', async () => {
    const runtime = createFakeRuntime();
    let pulls = 0;
    const pull = runtime.pull;
    Object.assign(runtime, { pull: (...args: Parameters<typeof pull>) => (pulls++, pull(...args)) });
    const app = createApp(runtime);
    const res = await app.request(
      request('/murmur/v1/pull', { headers: { Host: 'evil.example', Origin: 'http://evil.example', 'Content-Type': 'text/plain' }, body: JSON.stringify({ model: 'https://evil.example/x.gguf', name: 'stories', force: true }) }),
    );
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ code: 'forbidden', type: 'invalid_request_error' });
    expect(pulls).toBe(0);
    // The same pull, sent as the CLI sends it, goes through.
    await app.request(request('/murmur/v1/pull', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'stories' }) }));
    expect(pulls).toBe(1);
  });

  it('refuses a foreign Host (403), and takes loopback names, the bound address and MURMUR_ALLOWED_HOSTS', async () => {
    const app = createApp(createFakeRuntime(), { allowedHosts: ['murmur.lan'] });
    for (const host of ['evil.example', 'evil.example:11470', '203.0.113.9:11470', '127.0.0.1.evil.example']) {
      const res = await app.request(request('/v1/models', { headers: { Host: host } }));
      expect(res.status, host).toBe(403);
      expect((await errorOf(res)).message).toMatch(/MURMUR_ALLOWED_HOSTS|refused/);
    }
    for (const host of ['127.0.0.1:11470', 'localhost:11470', 'LOCALHOST', '[::1]:11470', 'app.localhost', '127.0.0.2', 'murmur.lan:11470']) {
      expect((await app.request(request('/v1/models', { headers: { Host: host } }))).status, host).toBe(200);
    }
    // Bound to a LAN address, a daemon is reached by names it cannot know: any Host, unless the list names them.
    const lan = createApp(createFakeRuntime(), { boundHost: '0.0.0.0' });
    expect((await lan.request(request('/v1/models', { headers: { Host: 'box.example' } }))).status).toBe(200);
    const listed = createApp(createFakeRuntime(), { boundHost: '0.0.0.0', allowedHosts: ['box.example'] });
    expect((await listed.request(request('/v1/models', { headers: { Host: 'other.example' } }))).status).toBe(403);
    expect((await listed.request(request('/v1/models', { headers: { Host: 'box.example' } }))).status).toBe(200);
  });

  it('refuses a foreign Origin (403) unless --cors allows it; its own origin and clients without one pass', async () => {
    const app = createApp(createFakeRuntime(), { cors: ['https://app.example'] });
    const models = (origin?: string) => app.request(request('/v1/models', origin ? { headers: { Origin: origin } } : {}));
    expect((await models('https://evil.example')).status).toBe(403);
    expect((await models('null')).status).toBe(403);
    expect((await models('https://app.example')).status).toBe(200);
    expect((await models('http://127.0.0.1:11470')).status).toBe(200);
    expect((await models()).status).toBe(200);
    const open = createApp(createFakeRuntime(), { cors: ['*'] });
    expect((await open.request(request('/v1/models', { headers: { Origin: 'https://anything.example' } }))).status).toBe(200);
  });

  it('requires JSON bodies (415), multipart only where an upload is documented', async () => {
    const app = createApp(createFakeRuntime());
    const chat = JSON.stringify({ model: 'stories', messages: [{ role: 'user', content: 'hi' }] });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await app.request(request('/v1/chat/completions', { headers: { 'Content-Type': type }, body: chat }));
      expect(res.status, type).toBe(415);
      expect(await errorOf(res)).toMatchObject({ code: 'unsupported_media_type' });
    }
    const untyped = await app.request(new Request('http://127.0.0.1:11470/v1/chat/completions', { method: 'POST', body: new Blob([chat]) }));
    expect(untyped.status).toBe(415);
    expect((await app.request(request('/v1/chat/completions', { headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: chat }))).status).toBe(200);
    // Bodiless POSTs (close a session, unload all) need no type.
    expect((await app.request(request('/murmur/v1/unload', { method: 'POST' }))).status).not.toBe(415);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(10)]), 'a.wav');
    expect((await app.request(new Request('http://127.0.0.1:11470/v1/audio/transcriptions', { method: 'POST', body: form }))).status).not.toBe(415);
  });

  it("reads Ollama's curl examples (curl -d sends a form type) as JSON, but not from a browser (an Origin)", async () => {
    const app = createApp(createFakeRuntime());
    const chat = JSON.stringify({ model: 'stories', stream: false, messages: [{ role: 'user', content: 'hi' }] });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const res = await app.request(request('/api/chat', { headers: { 'Content-Type': type }, body: chat }));
      expect(res.status, type).toBe(200);
      expect(((await res.json()) as { done: boolean }).done).toBe(true);
      // A page's simple request always carries its Origin: refused as before, the same-site one included.
      const browser = await app.request(request('/api/chat', { headers: { 'Content-Type': type, Origin: 'http://127.0.0.1:11470' }, body: chat }));
      expect(browser.status, type).toBe(415);
    }
    // OpenAI's door keeps asking for JSON.
    expect((await app.request(request('/v1/chat/completions', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: chat }))).status).toBe(415);
  });

  it('reads the host out of any Host header form', () => {
    expect(hostOf('[::1]:8080')).toBe('::1');
    expect(hostOf('Example.COM.:80')).toBe('example.com');
    expect(hostOf('localhost')).toBe('localhost');
    expect(hostOf('::1')).toBe('::1');
  });
});
