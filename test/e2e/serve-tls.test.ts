import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { httpsGet } from '../helpers/https-get.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * `murmur serve --tls-cert --tls-key`: HTTPS and WSS on one port (the
 * official realtime clients open only wss:// URLs), with the test's
 * self-signed certificate for localhost and 127.0.0.1; a bad pair or a
 * missing half is a clear usage error, not a stack trace.
 */

const fixtures = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'fixtures', 'tls');
const CERT = join(fixtures, 'cert.pem');
const KEY = join(fixtures, 'key.pem');
const VOICE = 'tts-synthetic/piper-style/model.onnx';
const skip = missingModels(VOICE);
const ca = readFileSync(CERT);

let home: string;
let daemon: Daemon;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '' });

/** GET over HTTPS, trusting only the test's certificate. */
const get = (url: string) => httpsGet(url, ca);

describe.skipIf(skip)(`murmur serve over TLS${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-tls-'));
    await runCli(env(), 'pull', dirname(testModel(VOICE)!), '--name', 'voice');
    daemon = await startDaemon(env(), ['--tls-cert', CERT, '--tls-key', KEY]);
  });
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('says it listens on https://, answers HTTPS requests and refuses plain HTTP on the same port', async () => {
    expect(daemon.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${daemon.url}/health`)).toMatchObject({ status: 200, body: expect.stringContaining('"ok"') });
    const models = JSON.parse((await get(`${daemon.url}/v1/models`)).body) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['voice']);
    await expect(fetch(daemon.url.replace('https', 'http') + '/health')).rejects.toThrow();
  });

  it('serves the WebSocket routes as wss:// on the same port', async () => {
    const ws = new WebSocket(`${daemon.url.replace(/^https/, 'wss')}/v1/audio/speech/stream?model=voice&response_format=pcm`, { ca });
    const events: { type: string }[] = [];
    const done = new Promise<void>((resolveDone, reject) => {
      ws.on('message', (data, binary) => {
        if (binary) return;
        const event = JSON.parse(String(data)) as { type: string };
        events.push(event);
        if (event.type === 'session.created') {
          ws.send(JSON.stringify({ type: 'input_text.append', text: 'Hello over TLS.' }));
          ws.send(JSON.stringify({ type: 'context.close' }));
        }
        if (event.type === 'context.done') resolveDone();
      });
      ws.on('error', reject);
    });
    await done;
    ws.close();
    expect(events.map((e) => e.type)).toContain('audio.delta');
  });

  it('refuses half a pair, a missing file and a key that is not the certificate’s, with a message', async () => {
    const half = await runCli(env(), 'serve', '--port', '0', '--tls-cert', CERT).catch((e: { code: number; stderr: string }) => e);
    expect(half).toMatchObject({ code: 2 });
    expect((half as { stderr: string }).stderr).toMatch(/--tls-key \(MURMUR_TLS_KEY\) is missing/);
    const missing = await runCli(env(), 'serve', '--port', '0', '--tls-cert', join(home, 'nope.pem'), '--tls-key', KEY).catch((e: { code: number; stderr: string }) => e);
    expect((missing as { stderr: string }).stderr).toMatch(/Cannot use '.*nope\.pem' as the TLS certificate: no such file/);
    // Another key (the certificate's own text is not a key at all).
    const wrong = join(home, 'wrong-key.pem');
    writeFileSync(wrong, ca);
    const mismatched = await runCli(env(), 'serve', '--port', '0', '--tls-cert', CERT, '--tls-key', wrong).catch((e: { code: number; stderr: string }) => e);
    expect((mismatched as { code: number }).code).toBe(2);
    expect((mismatched as { stderr: string }).stderr).toMatch(/cannot be used together/);
    for (const failure of [half, missing, mismatched]) expect((failure as { stderr: string }).stderr).not.toMatch(/^\s+at /m);
  });
});
