import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Structured output and forced tool calls on a real `murmur serve` with
 * stories260K, through the official openai client: a schema's bounds hold
 * (chat.completions.parse with zod's min/max), a keyword no grammar can
 * hold is refused in strict mode naming it, a dangling $ref is refused,
 * tool_choice 'required' and a named tool give a call, streamed as
 * tool_calls deltas, and a tool name with a space is a 400, not a 500.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);
let home: string;
let daemon: Daemon;
let client: OpenAI;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: '' });

const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'The weather in a city.', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 3 } }, required: ['city', 'days'], additionalProperties: false } } };
const time = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false } } };

describe.skipIf(skip)(`structured output and forced tool calls${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-structured-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    daemon = await startDaemon(env());
    client = new OpenAI({ apiKey: 'none', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('chat.completions.parse with zod bounds: the reply satisfies them (an integer 1–5, a number 0–1, a short string)', async () => {
    const Review = z.object({ stars: z.number().int().min(1).max(5), score: z.number().min(0).max(1), title: z.string().max(16) });
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.parse({ model: 'tiny', messages: [{ role: 'user', content: 'Review the story.' }], response_format: zodResponseFormat(Review, 'review'), max_tokens: 120, temperature: 1, seed });
      const parsed = completion.choices[0]!.message.parsed!;
      expect(Review.safeParse(parsed).success).toBe(true);
    }
  });

  it('a keyword no grammar can hold is refused in strict mode, naming it; without strict the rest is enforced', async () => {
    const schema = { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } }, required: ['code'], additionalProperties: false };
    await expect(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_schema', json_schema: { name: 'c', schema, strict: true } }, max_tokens: 40 })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/pattern at the root\.properties\.code/),
    });
    const loose = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_schema', json_schema: { name: 'c', schema: { ...schema, properties: { code: { type: 'string', pattern: '^[A-Z]{3}$', maxLength: 8 } } } } }, max_tokens: 60 });
    expect(typeof JSON.parse(loose.choices[0]!.message.content!).code).toBe('string');
    // A $ref into nothing, and draft-07 definitions that resolve.
    await expect(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object', properties: { a: { $ref: '#/definitions/Nope' } } } } } })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/#\/definitions\/Nope/) });
    const refs = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 80, response_format: { type: 'json_schema', json_schema: { name: 'r', strict: true, schema: { $schema: 'http://json-schema.org/draft-07/schema#', definitions: { Level: { type: 'integer', minimum: 1, maximum: 3 } }, type: 'object', properties: { level: { $ref: '#/definitions/Level' }, tags: { type: 'array', prefixItems: [{ type: 'boolean' }], items: false } }, required: ['level', 'tags'], additionalProperties: false } } } });
    const value = JSON.parse(refs.choices[0]!.message.content!) as { level: number; tags: unknown[] };
    expect([1, 2, 3]).toContain(value.level);
    expect(value.tags.length).toBeLessThanOrEqual(1);
  });

  it("tool_choice 'required' and a named tool give a call with finish_reason tool_calls, streamed as tool_calls deltas", async () => {
    const required = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools: [weather, time], tool_choice: 'required', max_tokens: 160 });
    const choice = required.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(['get_weather', 'get_time']).toContain(call.function.name);
    expect(() => JSON.parse(call.function.arguments)).not.toThrow();

    const named = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools: [weather, time], tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 160 });
    const args = JSON.parse((named.choices[0]!.message.tool_calls![0]! as { function: { arguments: string } }).function.arguments) as { city: string; days: number };
    expect(named.choices[0]!.finish_reason).toBe('tool_calls');
    expect([1, 2, 3]).toContain(args.days);
    expect(args.city.length).toBeLessThanOrEqual(12);

    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Time?' }], tools: [weather, time], tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 120, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((c) => c.choices[0]?.delta?.content)).toBe(false);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(deltas[0]!.function!.name).toBe('get_time');
    expect(['{"zone":"UTC"}', '{"zone":"CET"}']).toContain(deltas.map((d) => d.function?.arguments ?? '').join(''));
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('zod date helpers parse (their pattern beside a date format is held by the format); a strict tool with a pattern is refused; a forced call cut short leaks nothing', async () => {
    const Event = z.object({ when: z.iso.date() });
    const parsed = await client.chat.completions.parse({ model: 'tiny', messages: [{ role: 'user', content: 'When?' }], response_format: zodResponseFormat(Event, 'event'), max_tokens: 60, seed: 7 });
    expect(Event.safeParse(parsed.choices[0]!.message.parsed).success).toBe(true);
    const strictTool = { type: 'function' as const, function: { name: 'code', strict: true, parameters: { type: 'object', properties: { c: { type: 'string', pattern: '^[A-Z]+$' } }, required: ['c'], additionalProperties: false } } };
    await expect(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], tools: [strictTool], max_tokens: 20 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/pattern at the root\.properties\.c/) });
    const cut = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools: [weather], tool_choice: 'required', max_tokens: 10 });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(cut.choices[0]!.message.content ?? '').toBe('');
    expect(cut.choices[0]!.message.tool_calls ?? []).toEqual([]);
  });

  it("'required' with no tools, and a tool name with a space, are 400s naming the field", async () => {
    await expect(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], tool_choice: 'required' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/no tools/) });
    const error = (await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'function', function: { name: 'get weather', parameters: { type: 'object' } } }] }).catch((e: unknown) => e)) as { status: number; param?: string; message: string };
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/tools\.0\.function\.name|tools\[0\]\.function\.name/);
  });
});
