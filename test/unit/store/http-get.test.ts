import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from '../../../src/store/http-get.js';

const tlsDir = join(import.meta.dirname, '..', '..', 'fixtures', 'tls');
const big = Buffer.alloc(5 * 1024 * 1024 + 123);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const handler = (req: IncomingMessage, res: ServerResponse) => {
  switch (req.url) {
    case '/big':
      res.writeHead(200, { 'Content-Length': big.length, ETag: '"v1"', 'X-Seen-Agent': req.headers['user-agent'] ?? '' });
      res.end(big);
      return;
    case '/chunked':
      res.write('hello ');
      setTimeout(() => res.end('world'), 20);
      return;
    case '/drop':
      res.writeHead(200, { 'Content-Length': 1000 });
      res.write(Buffer.alloc(500));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    case '/until-close':
      res.socket!.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
      return;
    case '/garbage':
      res.socket!.end('NOT HTTP AT ALL\r\n\r\n');
      return;
    case '/slow':
      res.writeHead(200, { 'Content-Length': 10 });
      res.write('12345');
      return; // never ends
    default:
      res.writeHead(404, { 'Set-Cookie': ['a=1', 'b=2'] });
      res.end('nope');
  }
};

/** Reads a whole body, copying each view (they are reused). */
const readAll = async (url: string, options: Parameters<typeof httpGet>[1] = {}, delayMs = 0) => {
  const { head, body } = await httpGet(url, options);
  if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const parts: Buffer[] = [];
  await body.forEach((chunk) => parts.push(Buffer.from(chunk)));
  return { head, bytes: Buffer.concat(parts) };
};

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('httpGet', () => {
  it('reads a large body intact, with the head, through the reused read buffer', async () => {
    const { head, bytes } = await readAll(`${base}/big`, { headers: { 'User-Agent': 'murmur-test' } });
    expect(head.status).toBe(200);
    expect(head.headers.etag).toBe('"v1"');
    expect(head.headers['x-seen-agent']).toBe('murmur-test');
    expect(bytes.length).toBe(big.length);
    expect(sha(bytes)).toBe(sha(big));
  });

  it('holds the body until it is read (nothing lost while the caller is busy)', async () => {
    const { bytes } = await readAll(`${base}/big`, {}, 150);
    expect(sha(bytes)).toBe(sha(big));
  });

  it('decodes chunked bodies and bodies that run to the connection end', async () => {
    expect((await readAll(`${base}/chunked`)).bytes.toString()).toBe('hello world');
    expect((await readAll(`${base}/chunked`, {}, 60)).bytes.toString()).toBe('hello world');
    expect((await readAll(`${base}/until-close`)).bytes.toString()).toBe('until the end');
  });

  it('gives error statuses as they are, repeated headers joined', async () => {
    const { head, bytes } = await readAll(`${base}/missing`);
    expect(head.status).toBe(404);
    expect(head.headers['set-cookie']).toBe('a=1, b=2');
    expect(bytes.toString()).toBe('nope');
  });

  it('fails a body cut short as a premature close (which a retry resumes)', async () => {
    const { body } = await httpGet(`${base}/drop`);
    let received = 0;
    await expect(body.forEach((chunk) => (received += chunk.length))).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(received).toBe(500);
  });

  it('rejects a refused connection, a reply that is not HTTP, and an idle server', async () => {
    await expect(httpGet('http://127.0.0.1:9/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(httpGet(`${base}/garbage`)).rejects.toMatchObject({ code: 'HPE_INVALID' });
    const { body } = await httpGet(`${base}/slow`, { idleTimeoutMs: 200 });
    await expect(body.forEach(() => {})).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('stops on the signal with an AbortError, before and during the body', async () => {
    const before = new AbortController();
    before.abort();
    await expect(httpGet(`${base}/big`, { signal: before.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const during = new AbortController();
    const { body } = await httpGet(`${base}/slow`, { signal: during.signal });
    setTimeout(() => during.abort(), 30);
    await expect(body.forEach(() => {})).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('discard ends a read under way without an error', async () => {
    const { body } = await httpGet(`${base}/slow`);
    const reading = body.forEach(() => body.discard());
    await expect(reading).resolves.toBeUndefined();
  });

  it('refuses header values with line breaks (no header injection)', async () => {
    await expect(httpGet(`${base}/big`, { headers: { 'X-Evil': 'a\r\nHost: elsewhere' } })).rejects.toThrow(/Invalid header/);
  });

  it('speaks TLS, checking the certificate', async () => {
    const cert = readFileSync(join(tlsDir, 'cert.pem'));
    const tls = createTlsServer({ key: readFileSync(join(tlsDir, 'key.pem')), cert }, handler);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(tls.address() as AddressInfo).port}/big`;
    try {
      const { head, bytes } = await readAll(url, { tls: { ca: cert } });
      expect(head.status).toBe(200);
      expect(sha(bytes)).toBe(sha(big));
      // Without the test CA the self-signed certificate is refused.
      await expect(httpGet(url)).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/) });
    } finally {
      tls.closeAllConnections();
      tls.close();
    }
  });
});

describe('httpGet, a reader that throws', () => {
  it('ends the body with the reader’s error instead of crashing the process', async () => {
    const { body } = await httpGet(`${base}/big`);
    await expect(
      body.forEach(() => {
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
  });
});
