import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/project.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

const GGUF = 'stories260K/stories260K.gguf';
const MODEL = 'stories260k';
const KEY = 'status-key';
const skip = missingModels(GGUF);
const NOWHERE = 'http://127.0.0.1:9';

type Failed = { code: number; stdout: string; stderr: string };
const failing = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stdout: '', stderr: '' }), (e: Failed) => e);

const home = mkdtempSync(join(tmpdir(), 'murmur-status-'));
const env = (host: string, extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: host, MURMUR_API_KEY: KEY, MURMUR_THREADS: '1', MURMUR_GPU: 'off', ...extra });
const daemons: Daemon[] = [];
const start = async (args: string[] = []) => {
  const daemon = await startDaemon(env(NOWHERE), ['--api-key', KEY, ...args]);
  daemons.push(daemon);
  return daemon;
};

afterEach(() => {
  for (const d of daemons.splice(0)) if (d.process.exitCode === null) d.process.kill('SIGKILL');
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('murmur status and murmur stop with no daemon', () => {
  it('say so in one line with a hint, and exit 1', async () => {
    for (const verb of ['status', 'stop']) {
      const failed = await failing(runCli(env(NOWHERE), verb));
      expect(failed.code).toBe(1);
      expect(failed.stderr.split('\n')[0]).toBe(`murmur: no daemon answers at ${NOWHERE}`);
      expect(failed.stderr).toMatch(/murmur serve/);
      expect(failed.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe.skipIf(skip)(`murmur status and stop against a real daemon${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    await runCli(env(NOWHERE), 'pull', testModel(GGUF)!, '--name', MODEL);
  });

  it('status tells version, pid, uptime and the loaded models, as text and as JSON; --host picks the daemon', async () => {
    const daemon = await start();
    await runCli(env(daemon.url), 'load', MODEL, '--keep-alive', '-1');
    const text = (await runCli(env(NOWHERE), 'status', '--host', daemon.url)).stdout;
    expect(text).toContain(`daemon   ${daemon.url} (ok)`);
    expect(text).toMatch(new RegExp(`^version\\s+${packageVersion().replace(/\./g, '\\.')}$`, 'm'));
    expect(text).toMatch(new RegExp(`^pid\\s+${daemon.process.pid}$`, 'm'));
    expect(text).toMatch(/^uptime\s+\d+s$/m);
    expect(text).toMatch(/^NAME\s+KIND\s+MEMORY\s+EXPIRES$/m);
    expect(text).toMatch(new RegExp(`^${MODEL}\\s+llm\\s+.+\\s+forever$`, 'm'));

    const json = JSON.parse((await runCli(env(daemon.url), 'status', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ url: daemon.url, status: 'ok', version: packageVersion(), pid: daemon.process.pid, models: [expect.objectContaining({ name: MODEL, kind: 'llm', expiresAt: null })] });
    expect(json.uptime_s).toBeGreaterThanOrEqual(0);

    // Without the key, the models stay unknown but the daemon is still reported (exit 0).
    const keyless = await runCli(env(daemon.url, { MURMUR_API_KEY: '' }), 'status');
    expect(keyless.stdout).toMatch(/^models\s+unknown$/m);
    expect(keyless.stderr).toMatch(/cannot list the loaded models/);
  });

  it('stop with a wrong key is refused in one line (exit 1) and the daemon serves on', async () => {
    const daemon = await start();
    const failed = await failing(runCli(env(daemon.url, { MURMUR_API_KEY: 'wrong' }), 'stop'));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^murmur: /);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
  });

  it('stop drains a request in flight, as SIGTERM does: it finishes with 200, then the daemon exits 0 and stop says so', async () => {
    const daemon = await start();
    const body = Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 }));
    const target = new URL('/v1/chat/completions', daemon.url);
    // A slow request: its headers and half its body now, the rest once the daemon is stopping.
    const slow: { finish?: () => void } = {};
    const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(target, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Authorization: `Bearer ${KEY}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      slow.finish = () => req.end(body.subarray(10));
    });
    // In flight once the daemon counts it (the /metrics request itself is the other one).
    await expect.poll(async () => (await fetch(`${daemon.url}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } }).then((r) => r.text())).includes('murmur_http_requests_in_flight 2'), { timeout: 10_000 }).toBe(true);

    let stopDone = false;
    const stopping = runCli(env(daemon.url), 'stop').finally(() => (stopDone = true));
    // Draining: new requests are refused (the test asks /v1/models, never /health)...
    await expect.poll(async () => (await fetch(`${daemon.url}/v1/models`, { headers: { Authorization: `Bearer ${KEY}` } }).catch(() => undefined))?.status, { timeout: 10_000 }).toBe(503);
    // ...and `murmur stop` waits: it asks /health, which answers 503 'stopping' while the request in flight holds the daemon open.
    await expect.poll(() => daemon.log().filter((l) => l.path === '/health' && l.status === 503).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(stopDone).toBe(false);
    expect(daemon.process.exitCode).toBe(null);

    slow.finish!();
    const answered = await reply;
    expect(answered.status).toBe(200);
    expect((JSON.parse(answered.text) as { choices: unknown[] }).choices).toHaveLength(1);
    const stopped = await stopping;
    expect(stopped.stderr).toContain(`murmur: stopped the daemon at ${daemon.url}`);
    // It said so once the daemon was gone, not before.
    expect(await fetch(`${daemon.url}/health`).then(() => 'answers', () => 'gone')).toBe('gone');
    expect(await daemon.stop()).toBe(0);
    // JSON log mode (stderr is a pipe): the way out is two events, not plain lines.
    expect(daemon.log().filter((l) => l.event === 'shutdown' || l.event === 'stopped').map((l) => l.event)).toEqual(['shutdown', 'stopped']);
    expect(daemon.stderr()).not.toMatch(/murmur: (shutting down|stopped)$/m);
    expect(daemon.log().find((l) => l.path === '/murmur/v1/shutdown')).toMatchObject({ method: 'POST', status: 202 });

    // Stopped: nothing answers there now.
    const again = await failing(runCli(env(daemon.url), 'stop'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no daemon answers at ${daemon.url}`);
  });
});
