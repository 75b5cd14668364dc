import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * The daemon's log beyond requests, on a real daemon with one model slot:
 * loads, refusals for pinned models, unloads and evictions with their
 * reasons, as JSON lines (stderr is a pipe here); `rm` of a loaded model
 * goes through the daemon, which unloads it; --log-format pretty.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);

let home: string;
let daemon: Daemon | undefined;
let url = 'http://127.0.0.1:9';

const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_HOST: url, MURMUR_THREADS: '1', MURMUR_GPU: 'off', MURMUR_MAX_LOADED: '1' });
const cli = (...args: string[]) => runCli(env(), ...args);
const chat = (model: string) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });
type Line = { event?: string; model?: string; reason?: string; for?: string; limit?: string; kind?: string; memoryBytes?: number; path?: string };
const events = (): Line[] =>
  daemon!
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.event);

describe.skipIf(skip)(`the daemon's log${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-log-'));
    await cli('pull', testModel(GGUF)!, '--name', 'a');
    await cli('pull', testModel(GGUF)!, '--name', 'b');
    daemon = await startDaemon(env(), ['--isolation', 'none']);
    url = daemon.url;
  });

  afterAll(() => {
    if (daemon && daemon.process.exitCode === null) daemon.process.kill('SIGKILL');
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('keeps the startup line as it was', () => {
    expect(daemon!.stderr()).toMatch(/^murmur: listening on http:\/\/127\.0\.0\.1:\d+$/m);
  });

  it('logs loads, the refusal a pinned model causes, unloads and evictions as JSON lines with their reasons', async () => {
    await cli('load', 'a', '--keep-alive', '-1');
    expect(events().at(-1)).toMatchObject({ event: 'load', model: 'a', kind: 'llm' });
    // The one slot is pinned: b is refused with 503, naming a.
    const refused = await chat('b');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/pinned with keep-alive -1 \(a\)/);
    expect(events().at(-1)).toMatchObject({ event: 'load_failed', model: 'b' });
    await cli('unload', 'a');
    expect(events().at(-1)).toMatchObject({ event: 'unload', model: 'a', reason: 'unload requested' });
    expect((await chat('b')).status).toBe(200);
    expect((await chat('a')).status).toBe(200);
    expect(events().slice(-3)).toEqual([
      expect.objectContaining({ event: 'load', model: 'b' }),
      expect.objectContaining({ event: 'evict', model: 'b', reason: 'least recently used', for: 'a', limit: 'count' }),
      expect.objectContaining({ event: 'load', model: 'a' }),
    ]);
  });

  it('rm of a model the daemon has loaded goes through the daemon, which unloads it and logs why', async () => {
    const ps = async () => ((await fetch(`${url}/murmur/v1/ps`).then((r) => r.json())) as { models: { name: string }[] }).models.map((m) => m.name);
    expect(await ps()).toEqual(['a']);
    expect((await cli('rm', 'a')).stderr).toMatch(/removed a/);
    expect(await ps()).toEqual([]);
    expect(events().at(-1)).toMatchObject({ event: 'unload', model: 'a', reason: 'unload requested' });
    expect((await chat('a')).status).toBe(404);
  });

  it('writes readable lines with --log-format pretty, the startup line unchanged', async () => {
    const pretty = await startDaemon(env(), ['--isolation', 'none', '--log-format', 'pretty']);
    try {
      const res = await fetch(`${pretty.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });
      expect(res.status).toBe(200);
      expect(pretty.stderr()).toMatch(/^murmur: listening on http:\/\/127\.0\.0\.1:\d+$/m);
      expect(pretty.stderr()).toMatch(/^\S+Z loaded b \(llm\) in \d/m);
      expect(pretty.stderr()).toMatch(/^\S+Z POST \/v1\/chat\/completions 200 [\d.]+ms model=b req_/m);
      expect(pretty.stderr()).not.toMatch(/^\{/m);
    } finally {
      await pretty.stop();
    }
  });
});
