import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResponseObject } from '../../src/api/openai/responses-response.js';
import { createApp } from '../../src/server/app.js';
import { createResponseStore } from '../../src/server/responses-store.js';
import type { ChatRequest } from '../../src/types/chat.js';
import { createFakeRuntime } from '../helpers/fake-runtime.js';

/*
 * /v1/responses in process (createApp over the fake runtime, a store in a
 * temporary directory): the request's fields reaching the core, function
 * calls and their events, background runs and cancel, keys, and every
 * kind of bad input answered 4xx in OpenAI's error shape.
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'murmur-responses-'));
  dirs.push(dir);
  return join(dir, 'responses.db');
};

const setup = (options: { apiKey?: string; file?: string } = {}) => {
  const runtime = createFakeRuntime();
  const store = createResponseStore({ file: options.file ?? tempFile(), maxResponses: 100, ttlMs: -1 });
  const app = createApp(runtime, { responses: store, ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
  const headers = { 'Content-Type': 'application/json', ...(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}) };
  const post = (path: string, body?: unknown) => app.request(path, { method: 'POST', headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const get = (path: string) => app.request(path, { headers });
  const del = (path: string) => app.request(path, { method: 'DELETE', headers });
  const create = async (body: Record<string, unknown>) => {
    const res = await post('/v1/responses', { model: 'stories', ...body });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as ResponseObject;
  };
  return { runtime, app, store, post, get, del, create };
};

/** The chat request the fake runtime got `index`-th. */
const chatAt = (runtime: ReturnType<typeof createFakeRuntime>, index: number) => runtime.calls[index] as ChatRequest;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).error;

/** The events of an SSE body: `event:` names must match the data's type. */
const eventsOf = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const [name, data] = block.split('\n');
      const event = JSON.parse(data!.slice('data: '.length)) as { type: string; sequence_number: number; [k: string]: unknown };
      expect(name).toBe(`event: ${event.type}`);
      return event;
    });

describe('POST /v1/responses', () => {
  it('answers a response object and hands the core the request as chat', async () => {
    const { create, runtime } = setup();
    const response = await create({
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello' }] }],
      instructions: 'be brief',
      max_output_tokens: 3,
      temperature: 0.4,
      top_p: 0.9,
      metadata: { run: '1' },
    });
    expect(response).toMatchObject({
      object: 'response',
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      instructions: 'be brief',
      max_output_tokens: 3,
      temperature: 0.4,
      top_p: 0.9,
      store: true,
      metadata: { run: '1' },
      usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(response.output).toEqual([
      { type: 'message', id: expect.stringMatching(/^msg_/), role: 'assistant', status: 'incomplete', content: [{ type: 'output_text', text: 'Once upon a', annotations: [], logprobs: [] }] },
    ]);
    expect(runtime.calls[0]).toMatchObject({
      model: 'stories',
      maxTokens: 3,
      temperature: 0.4,
      topP: 0.9,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
    });
  });

  it('maps text.format and tools as chat does, and answers function calls', async () => {
    const { create, runtime } = setup();
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    await create({ input: 'who?', text: { format: { type: 'json_schema', name: 'person', schema, strict: true } } });
    expect(runtime.calls[0]).toMatchObject({ responseFormat: { type: 'json_schema', name: 'person', schema } });
    await create({ input: 'who?', text: { format: { type: 'json_object' } } });
    expect(runtime.calls[1]).toMatchObject({ responseFormat: { type: 'json_object' } });

    const tools = [{ type: 'function', name: 'weather', description: 'the weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
    const called = await create({ input: 'weather?', tools, tool_choice: { type: 'function', name: 'weather' } });
    expect(runtime.calls[2]).toMatchObject({ tools: [{ name: 'weather', description: 'the weather' }], toolChoice: { name: 'weather' } });
    expect(called.status).toBe('completed');
    expect(called.tools).toEqual(tools);
    expect(called.tool_choice).toEqual({ type: 'function', name: 'weather' });
    expect(called.output).toEqual([{ type: 'function_call', id: expect.stringMatching(/^fc_/), call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', status: 'completed' }]);

    // The call's output goes back with previous_response_id: the model reads call and output as chat's assistant tool_calls and tool message.
    await create({ previous_response_id: called.id, input: [{ type: 'function_call_output', call_id: 'call_1', output: 'sunny' }] });
    expect(chatAt(runtime, 3).messages).toEqual([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: 'sunny', toolCallId: 'call_1' },
    ]);
  });

  it('streams function calls with their argument events', async () => {
    const { post } = setup();
    const tools = [{ type: 'function', name: 'weather', parameters: { type: 'object' } }];
    const res = await post('/v1/responses', { model: 'stories', input: 'weather?', tools, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = eventsOf(await res.text());
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events[2]).toMatchObject({ output_index: 0, item: { type: 'function_call', arguments: '', status: 'in_progress' } });
    expect(events[4]).toMatchObject({ name: 'weather', arguments: '{"city":"Paris"}' });
  });

  it('ends a stream that fails after its first token with response.failed, stored as failed', async () => {
    const { post, get } = setup();
    const events = eventsOf(await (await post('/v1/responses', { model: 'stories', input: 'fail late', stream: true })).text());
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.failed']);
    const failed = events.at(-1)!.response as ResponseObject;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(((await (await get(`/v1/responses/${failed.id}`)).json()) as ResponseObject).status).toBe('failed');
  });

  it('gives errors before any output their status, in OpenAI shape', async () => {
    const { post } = setup();
    const unknown = await post('/v1/responses', { model: 'nope', input: 'x', stream: true });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('model_not_found');
    expect((await post('/v1/responses', { model: 'stories', input: 'overload' })).status).toBe(503);
  });

  it('keeps nothing with store: false', async () => {
    const { create, get } = setup();
    const response = await create({ input: 'hi', store: false });
    expect(response.store).toBe(false);
    expect((await get(`/v1/responses/${response.id}`)).status).toBe(404);
  });
});

describe('bad input is a 4xx naming what is wrong', () => {
  const { post } = setup();
  const cases: [string, Record<string, unknown>, number, string | null, RegExp][] = [
    ['no model', { input: 'x' }, 400, 'model', /Missing required parameter: 'model'/],
    ['no input', { model: 'stories' }, 400, 'input', /Missing required parameter: 'input'/],
    ['an input item of an unknown type', { model: 'stories', input: [{ role: 'user', content: 'x' }, { type: 'telepathy' }] }, 400, 'input[1].type', /Invalid value/],
    ['an image part', { model: 'stories', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 400, 'input[0].content[0]', /not supported/],
    ['a function call output with no call', { model: 'stories', input: [{ role: 'user', content: 'x' }, { type: 'function_call_output', call_id: 'call_9', output: 'ok' }] }, 400, 'input[1]', /No tool call found .* call_9/],
    ['an unknown previous_response_id', { model: 'stories', input: 'x', previous_response_id: 'resp_nope' }, 404, 'previous_response_id', /Previous response with id 'resp_nope' not found/],
    ['an unknown item_reference', { model: 'stories', input: [{ type: 'item_reference', id: 'msg_nope' }] }, 400, 'input[0].id', /msg_nope/],
    ['a tool that is not a function', { model: 'stories', input: 'x', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type', /Invalid value/],
    ['a tool_choice naming no tool', { model: 'stories', input: 'x', tools: [{ type: 'function', name: 'a' }], tool_choice: { type: 'function', name: 'b' } }, 400, 'tool_choice', /'b'/],
    ['max_output_tokens as a string', { model: 'stories', input: 'x', max_output_tokens: '20' }, 400, 'max_output_tokens', /Invalid value/],
    ['temperature out of range', { model: 'stories', input: 'x', temperature: 9 }, 400, 'temperature', /Invalid value/],
    ['input as a number', { model: 'stories', input: 42 }, 400, 'input', /Invalid value/],
    ['store as a string', { model: 'stories', input: 'x', store: 'yes' }, 400, 'store', /Invalid value/],
    ['a json_schema format without a schema', { model: 'stories', input: 'x', text: { format: { type: 'json_schema', name: 'x' } } }, 400, 'text.format.schema', /schema/],
    ['background without store', { model: 'stories', input: 'x', background: true, store: false }, 400, 'store', /must be stored/],
    ['metadata with a number', { model: 'stories', input: 'x', metadata: { a: 1 } }, 400, 'metadata.a', /Invalid value/],
  ];
  it.each(cases)('%s', async (_name, body, status, param, message) => {
    const res = await post('/v1/responses', body);
    expect(res.status).toBe(status);
    const error = await errorOf(res);
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    expect(error.type).toBe('invalid_request_error');
  });

  it('refuses bodies that are not JSON objects', async () => {
    expect((await post('/v1/responses', [1, 2])).status).toBe(400);
    expect((await post('/v1/responses', 'text')).status).toBe(400);
  });
});

describe('stored responses', () => {
  it('continues a conversation from previous_response_id, items included', async () => {
    const { create, runtime, get } = setup();
    const first = await create({ input: 'one', instructions: 'first rules' });
    const second = await create({ input: [{ role: 'user', content: 'two' }], previous_response_id: first.id, instructions: 'second rules' });
    expect(second.previous_response_id).toBe(first.id);
    // The earlier instructions are not carried over, as OpenAI does; the earlier input and output are.
    expect(chatAt(runtime, 1).messages).toEqual([
      { role: 'system', content: 'second rules' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Once upon a time' },
      { role: 'user', content: 'two' },
    ]);
    const third = await create({ input: [{ type: 'item_reference', id: (first.output[0] as { id: string }).id }, { role: 'user', content: 'three' }] });
    expect(chatAt(runtime, 2).messages).toEqual([
      { role: 'assistant', content: 'Once upon a time' },
      { role: 'user', content: 'three' },
    ]);
    expect(((await (await get(`/v1/responses/${third.id}`)).json()) as ResponseObject).output).toEqual(third.output);
  });

  it('pages input items with after, before, limit and order', async () => {
    const { create, get } = setup();
    const input = Array.from({ length: 5 }, (_, i) => ({ type: 'message', id: `msg_${i}`, role: 'user', content: `m${i}` }));
    const { id } = await create({ input });
    const list = async (query: string) => (await (await get(`/v1/responses/${id}/input_items${query}`)).json()) as { object: string; data: { id: string }[]; first_id: string | null; last_id: string | null; has_more: boolean };
    const ids = (page: { data: { id: string }[] }) => page.data.map((item) => item.id);
    const all = await list('');
    expect(all).toMatchObject({ object: 'list', first_id: 'msg_4', last_id: 'msg_0', has_more: false });
    expect(ids(all)).toEqual(['msg_4', 'msg_3', 'msg_2', 'msg_1', 'msg_0']);
    expect(all.data[0]).toEqual({ type: 'message', id: 'msg_4', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'm4' }] });
    const asc = await list('?order=asc&limit=2');
    expect([ids(asc), asc.has_more]).toEqual([['msg_0', 'msg_1'], true]);
    const next = await list('?order=asc&limit=2&after=msg_1');
    expect([ids(next), next.has_more]).toEqual([['msg_2', 'msg_3'], true]);
    expect(ids(await list('?order=asc&after=msg_3'))).toEqual(['msg_4']);
    expect(ids(await list('?limit=2&after=msg_3'))).toEqual(['msg_2', 'msg_1']);
    expect(ids(await list('?order=asc&limit=2&before=msg_3'))).toEqual(['msg_1', 'msg_2']);
    expect(ids(await list('?limit=2&before=msg_1'))).toEqual(['msg_3', 'msg_2']);
    expect(ids(await list('?order=asc&after=msg_0&before=msg_4'))).toEqual(['msg_1', 'msg_2', 'msg_3']);
    const empty = await list('?order=asc&after=msg_4');
    expect(empty).toMatchObject({ data: [], first_id: null, last_id: null, has_more: false });
    for (const bad of ['?limit=0', '?limit=101', '?limit=x', '?order=up', '?after=msg_nope']) expect((await get(`/v1/responses/${id}/input_items${bad}`)).status).toBe(400);
    expect((await get('/v1/responses/resp_nope/input_items')).status).toBe(404);
  });

  it('deletes a response', async () => {
    const { create, get, del } = setup();
    const { id } = await create({ input: 'x' });
    const res = await del(`/v1/responses/${id}`);
    expect(await res.json()).toEqual({ id, object: 'response', deleted: true });
    expect((await get(`/v1/responses/${id}`)).status).toBe(404);
    expect((await del(`/v1/responses/${id}`)).status).toBe(404);
  });

  it('shows a response only to the key that made it', async () => {
    const file = tempFile();
    const alice = setup({ apiKey: 'alice-key', file });
    const bob = setup({ apiKey: 'bob-key', file });
    const made = await alice.create({ input: 'x' });
    expect((await alice.get(`/v1/responses/${made.id}`)).status).toBe(200);
    for (const res of [
      await bob.get(`/v1/responses/${made.id}`),
      await bob.get(`/v1/responses/${made.id}/input_items`),
      await bob.del(`/v1/responses/${made.id}`),
      await bob.post(`/v1/responses/${made.id}/cancel`),
      await bob.post('/v1/responses', { model: 'stories', input: 'x', previous_response_id: made.id }),
      await bob.post('/v1/responses', { model: 'stories', input: [{ type: 'item_reference', id: (made.output[0] as { id: string }).id }] }),
    ]) {
      expect([404, 400]).toContain(res.status);
      expect((await errorOf(res)).message).toMatch(/not found/);
    }
    expect((await alice.get(`/v1/responses/${made.id}`)).status).toBe(200);
    // A daemon with no key shows none of them either.
    expect((await setup({ file }).get(`/v1/responses/${made.id}`)).status).toBe(404);
  });
});

describe('background responses', () => {
  const settle = async (get: (path: string) => Response | Promise<Response>, id: string) => {
    for (;;) {
      const response = (await (await get(`/v1/responses/${id}`)).json()) as ResponseObject;
      if (response.status !== 'queued' && response.status !== 'in_progress') return response;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('answers queued, runs on, and completes', async () => {
    const { create, get, post } = setup();
    const queued = await create({ input: 'hi', background: true });
    expect(queued).toMatchObject({ status: 'queued', background: true, output: [] });
    const done = await settle(get, queued.id);
    expect(done).toMatchObject({ status: 'completed', output: [{ type: 'message', content: [{ text: 'Once upon a time' }] }] });
    const cancel = await post(`/v1/responses/${queued.id}/cancel`);
    expect(cancel.status).toBe(400);
    expect(await errorOf(cancel)).toMatchObject({ message: 'Cannot cancel a completed response.', type: 'invalid_request_error' });
  });

  it('is cancelled while it runs, and says so again', async () => {
    const { create, get, post, runtime } = setup();
    const queued = await create({ input: 'slow', background: true });
    await expect.poll(async () => ((await (await get(`/v1/responses/${queued.id}`)).json()) as ResponseObject).status).toBe('in_progress');
    const cancelled = (await (await post(`/v1/responses/${queued.id}/cancel`)).json()) as ResponseObject;
    expect(cancelled).toMatchObject({ id: queued.id, status: 'cancelled' });
    expect(runtime.aborted).toBe(1);
    expect((await settle(get, queued.id)).status).toBe('cancelled');
    expect((await post(`/v1/responses/${queued.id}/cancel`)).status).toBe(200);
  });

  it('refuses to cancel a response that was not made in the background', async () => {
    const { create, post } = setup();
    const { id } = await create({ input: 'x' });
    const res = await post(`/v1/responses/${id}/cancel`);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/Only background responses/);
    expect((await post('/v1/responses/resp_nope/cancel')).status).toBe(404);
  });

  it('refuses to continue one still running', async () => {
    const { create, post } = setup();
    const { id } = await create({ input: 'slow', background: true });
    const res = await post('/v1/responses', { model: 'stories', input: 'x', previous_response_id: id });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).param).toBe('previous_response_id');
    await post(`/v1/responses/${id}/cancel`);
  });
});

describe('a database that cannot be used', () => {
  it('answers 503 for what needs it, and serves store: false', async () => {
    const file = tempFile();
    writeFileSync(file, 'not a database '.repeat(400));
    const { post, get } = setup({ file });
    for (const res of [await post('/v1/responses', { model: 'stories', input: 'x' }), await get('/v1/responses/resp_x'), await post('/v1/responses', { model: 'stories', input: 'x', store: false, previous_response_id: 'resp_x' })]) {
      expect(res.status).toBe(503);
      const error = await errorOf(res);
      expect(error).toMatchObject({ type: 'server_error', code: 'storage_unavailable' });
      expect(error.message).toContain(file);
    }
    const res = await post('/v1/responses', { model: 'stories', input: 'x', store: false });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ResponseObject).output).toHaveLength(1);
    expect((await post('/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'x' }] })).status).toBe(200);
  });
});
