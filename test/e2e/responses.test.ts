import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * /v1/responses on a real `murmur serve` with stories260K, driven by the
 * official openai client and by the Vercel AI SDK (whose default OpenAI
 * model speaks the Responses API). stories260K never stops by itself, so
 * every request bounds max_output_tokens.
 */

const GGUF = 'stories260K/stories260K.gguf';
const MODEL = 'tiny';
const KEY = 'responses-key';
const skip = missingModels(GGUF);
const require_ = createRequire(import.meta.url);

const homes: string[] = [];
const daemons: Daemon[] = [];
const immutable: string[] = [];

const newHome = async () => {
  const home = mkdtempSync(join(tmpdir(), 'murmur-e2e-responses-'));
  homes.push(home);
  await runCli({ ...process.env, MURMUR_HOME: home }, 'pull', testModel(GGUF)!, '--name', MODEL);
  return home;
};
const serve = async (home: string, key = KEY) => {
  const daemon = await startDaemon({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_GPU: 'off' }, ['--api-key', key]);
  daemons.push(daemon);
  return daemon;
};

describe.skipIf(skip)(`/v1/responses on murmur serve${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let daemon: Daemon;
  let client: OpenAI;

  beforeAll(async () => {
    home = await newHome();
    daemon = await serve(home);
    client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  afterAll(() => {
    for (const d of daemons) if (d.process.exitCode === null) d.process.kill('SIGKILL');
    for (const file of immutable) execFileSync('chattr', ['-i', file]);
    for (const dir of homes) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a response, incomplete at max_output_tokens', async () => {
    const response = await client.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 8, temperature: 0 });
    expect(response).toMatchObject({ object: 'response', model: MODEL, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, store: true });
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage).toMatchObject({ output_tokens: 8 });
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + 8);
  });

  it('streams events in order with consecutive sequence numbers', async () => {
    const stream = client.responses.stream({ model: MODEL, input: 'Tell me a story', max_output_tokens: 12 });
    const events = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(0);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(final.output_text).toBe(text);
    expect((await client.responses.retrieve(final.id)).output_text).toBe(text);
  });

  it('continues a stored conversation with previous_response_id', async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Once upon a time there was a cat.', max_output_tokens: 10 });
    const alone = await client.responses.create({ model: MODEL, input: 'What did the cat do?', max_output_tokens: 10, store: false });
    const second = await client.responses.create({ model: MODEL, input: 'What did the cat do?', previous_response_id: first.id, max_output_tokens: 10 });
    expect(second.previous_response_id).toBe(first.id);
    // The second prompt holds the first turn: its input and its output.
    expect(second.usage!.input_tokens).toBeGreaterThan(alone.usage!.input_tokens + first.usage!.output_tokens);
    await expect(client.responses.create({ model: MODEL, input: 'x', previous_response_id: 'resp_nope', max_output_tokens: 4 })).rejects.toMatchObject({ status: 404, param: 'previous_response_id' });
  });

  it('retrieves, lists input items page by page, and deletes', async () => {
    const input = Array.from({ length: 5 }, (_, i) => ({ role: 'user' as const, content: `line ${i}` }));
    const response = await client.responses.create({ model: MODEL, input, max_output_tokens: 4 });
    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);

    const page = await client.responses.inputItems.list(response.id, { limit: 2, order: 'asc' });
    expect(page.data).toHaveLength(2);
    expect(page.hasNextPage()).toBe(true);
    const texts: string[] = [];
    for await (const item of client.responses.inputItems.list(response.id, { limit: 2, order: 'asc' })) {
      texts.push(item.type === 'message' && item.content[0]?.type === 'input_text' ? item.content[0].text : '?');
    }
    expect(texts).toEqual(input.map((m) => m.content));
    const newest = await client.responses.inputItems.list(response.id);
    expect(newest.data.map((item) => (item.type === 'message' && item.content[0]?.type === 'input_text' ? item.content[0].text : '?'))).toEqual(texts.toReversed());

    await client.responses.delete(response.id);
    await expect(client.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
  });

  it('runs in the background: polled to completion, or cancelled', async () => {
    const quick = await client.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 6, background: true });
    expect(['queued', 'in_progress']).toContain(quick.status);
    await expect.poll(async () => (await client.responses.retrieve(quick.id)).status).toBe('incomplete');
    await expect(client.responses.cancel(quick.id)).rejects.toMatchObject({ status: 400 });

    const long = await client.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 1_000_000, background: true });
    await expect.poll(async () => (await client.responses.retrieve(long.id)).status).toBe('in_progress');
    const cancelled = await client.responses.cancel(long.id);
    expect(cancelled.status).toBe('cancelled');
    expect((await client.responses.retrieve(long.id)).status).toBe('cancelled');
  });

  it('answers the Vercel AI SDK, whose default model calls /v1/responses', async () => {
    const provider = createOpenAI({ baseURL: `${daemon.url}/v1`, apiKey: KEY });
    const generated = await generateText({ model: provider(MODEL), prompt: 'Once upon a time', maxOutputTokens: 8 });
    expect(generated.text.length).toBeGreaterThan(0);
    expect(generated.usage.outputTokens).toBe(8);
    expect(generated.finishReason).toBe('length');
    expect(generated.response.id).toMatch(/^resp_/);

    const streamed = streamText({ model: provider(MODEL), system: 'Tell a story.', prompt: 'A dog', maxOutputTokens: 8 });
    let text = '';
    for await (const piece of streamed.textStream) text += piece;
    expect(text.length).toBeGreaterThan(0);
    expect(await streamed.text).toBe(text);
    expect((await streamed.usage).outputTokens).toBe(8);
    const logged = daemon.log().filter((entry) => entry.path === '/v1/responses');
    expect(logged.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps stored responses across a restart', async () => {
    const kept = await client.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 6 });
    expect(await daemon.stop()).toBe(0);
    daemon = await serve(home);
    client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const again = await client.responses.retrieve(kept.id);
    expect(again.output_text).toBe(kept.output_text);
    const next = await client.responses.create({ model: MODEL, input: 'And then?', previous_response_id: kept.id, max_output_tokens: 4 });
    expect(next.usage!.input_tokens).toBeGreaterThan(kept.usage!.input_tokens);
    // The daemon started with another key shows none of it.
    expect(await daemon.stop()).toBe(0);
    const other = await serve(home, 'another-key');
    const stranger = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: 'another-key', maxRetries: 0 });
    await expect(stranger.responses.retrieve(kept.id)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.responses.create({ model: MODEL, input: 'x', previous_response_id: kept.id, max_output_tokens: 4 })).rejects.toMatchObject({ status: 404 });
    expect(await other.stop()).toBe(0);
  });

  const canMakeImmutable = (() => {
    try {
      const probe = join(mkdtempSync(join(tmpdir(), 'murmur-chattr-')), 'probe');
      homes.push(probe.slice(0, -'/probe'.length));
      writeFileSync(probe, '');
      execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
      execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  const spoiled: [string, (file: string) => void, boolean][] = [
    ['corrupt', (file) => writeFileSync(file, 'no database here '.repeat(300)), false],
    [
      'read-only',
      (file) => {
        const Database = require_('better-sqlite3') as typeof import('better-sqlite3');
        new Database(file).close();
        execFileSync('chattr', ['+i', file]);
        immutable.push(file);
      },
      !canMakeImmutable,
    ],
  ];
  it.each(spoiled)('starts with a %s database: says so on stderr naming it, and serves everything else', async (_kind, spoil, skipped) => {
    if (skipped) return;
    const spoiledHome = await newHome();
    const file = join(spoiledHome, 'responses.db');
    spoil(file);
    const broken = await serve(spoiledHome);
    expect(broken.stderr()).toMatch(new RegExp(`^murmur: warning: Stored responses are unavailable: the database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be used`, 'm'));
    const api = new OpenAI({ baseURL: `${broken.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const unstored = await api.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 4, store: false });
    expect(unstored.output_text.length).toBeGreaterThan(0);
    await expect(api.responses.create({ model: MODEL, input: 'x', max_output_tokens: 4 })).rejects.toMatchObject({ status: 503, code: 'storage_unavailable' });
    await expect(api.responses.retrieve('resp_x')).rejects.toMatchObject({ status: 503 });
    const chat = await api.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect((await broken.stop())).toBe(0);
  });
});
