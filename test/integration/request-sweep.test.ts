import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { LocalRuntime } from '../../src/runtime/local-runtime.js';
import { createApp } from '../../src/server/app.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * No input of a client's may produce a 5xx: every field of the chat,
 * completion and embedding requests is sent with wrong values (wrong
 * types, out of range, unknown shapes), to the real engine behind the app,
 * and each answer must be a 4xx in OpenAI's error shape.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);

const chatBase = { model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 };
const wrongChat: Record<string, unknown[]> = {
  model: [5, '', null, { name: 'tiny' }],
  messages: ['Hi', [], [{ role: 'robot', content: 'x' }], [{ role: 'user' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: [{ type: 'nope' }] }], [{ role: 'tool', content: 'x' }]],
  max_tokens: [-1, 0, 'a', 1.5],
  max_completion_tokens: [-1, 'a'],
  temperature: ['hot', -1, 3],
  top_p: [2, -0.1, 'a'],
  seed: ['x', 1.5],
  stop: [5, [1, 2], Array.from({ length: 17 }, (_, i) => `s${i}`)],
  stream: ['yes', 1],
  stream_options: ['x', { include_usage: 'yes' }],
  response_format: ['json', { type: 'nope' }, { type: 'json_schema' }, { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } } } }, { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { type: 'string', pattern: 'a+' } } }, { type: 'json_schema', json_schema: { name: 'x', schema: { allOf: [{ type: 'string' }, { type: 'integer' }] } } }, { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'integer', minimum: 9, maximum: 1 } } }],
  tools: ['x', [{ type: 'function' }], [{ type: 'function', function: { name: 'has space' } }], [{ type: 'function', function: { name: 'a'.repeat(65) } }], [{ type: 'function', function: { name: 'f', parameters: 'x' } }], [{ type: 'function', function: { name: 'f', parameters: { type: 'integer', minimum: 5, maximum: 1 } } }]],
  tool_choice: [5, 'always', 'required', { type: 'function', function: { name: 'missing' } }],
  n: ['x', 0, -1],
  presence_penalty: ['x', 3, -3],
  frequency_penalty: ['x', 3, -3],
  logit_bias: ['x', { a: 1 }, { '1': 200 }],
  logprobs: ['x'],
  top_logprobs: ['x', -1, 21],
};
const completionBase = { model: 'tiny', prompt: 'Once', max_tokens: 4 };
const wrongCompletion: Record<string, unknown[]> = {
  prompt: [5, { text: 'x' }, [[]]],
  max_tokens: [-1, 'a'],
  temperature: ['hot', 3],
  stop: [5],
  stream: ['yes'],
};
const responsesBase = { model: 'tiny', input: 'Hi', max_output_tokens: 4, store: false };
const wrongResponses: Record<string, unknown[]> = {
  model: [5, ''],
  input: [5, {}, [{ type: 'nope' }], [{ type: 'message', role: 'robot', content: 'x' }], [{ type: 'function_call_output', call_id: 'nowhere', output: 'x' }], [{ type: 'message', role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }]],
  instructions: [5],
  tools: ['x', [{ type: 'web_search' }], [{ type: 'function', name: 'has space' }]],
  tool_choice: [5, 'always', 'required'],
  text: ['x', { format: { type: 'nope' } }, { format: { type: 'json_schema', name: 'x', strict: true, schema: { type: 'string', pattern: 'a' } } }],
  max_output_tokens: [-1, 'a'],
  temperature: [3, 'hot'],
  top_p: [2],
  stream: ['yes'],
  previous_response_id: [5, 'resp_nowhere'],
  background: ['yes'],
  metadata: ['x', { k: 5 }],
  top_logprobs: [5],
  include: [['reasoning.encrypted_content']],
  truncation: ['auto'],
  frobnicate: [1],
};
const wrongEmbedding: Record<string, unknown[]> = {
  input: [5, {}, [null], [[1.5]]],
  model: [5],
  encoding_format: ['hex'],
};

describe.skipIf(skip)(`wrong values in every field get a 4xx, never a 5xx${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let runtime: LocalRuntime;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-sweep-'));
    runtime = await createRuntime(loadConfig({ MURMUR_HOME: home, MURMUR_THREADS: '1' }));
    await runtime.pull(testModel(GGUF)!, { name: 'tiny' });
    app = createApp(runtime, { encoders: { open: () => { throw new Error('unused'); }, close: async () => {} } });
  });
  afterAll(async () => {
    await runtime?.[Symbol.asyncDispose]();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const sweep = async (path: string, base: Record<string, unknown>, wrong: Record<string, unknown[]>) => {
    const answers: string[] = [];
    for (const [field, values] of Object.entries(wrong)) {
      for (const value of values) {
        const res = await app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...base, [field]: value }) });
        const body = (await res.json()) as { error?: { message: string; type: string } };
        answers.push(`${field}=${JSON.stringify(value).slice(0, 60)} → ${res.status} ${body.error?.message?.slice(0, 80) ?? JSON.stringify(body).slice(0, 80)}`);
        if (res.status >= 500 || res.status < 400 || !body.error?.message) throw new Error(`${path} ${answers.at(-1)}`);
      }
    }
    return answers;
  };

  it('/v1/chat/completions', async () => {
    expect((await sweep('/v1/chat/completions', chatBase, wrongChat)).length).toBeGreaterThan(50);
  });
  it('/v1/completions', async () => {
    expect((await sweep('/v1/completions', completionBase, wrongCompletion)).length).toBeGreaterThan(8);
  });
  it('/v1/responses', async () => {
    const answers = await sweep('/v1/responses', responsesBase, wrongResponses);
    expect(answers.find((a) => a.startsWith('frobnicate'))).toMatch(/Unknown parameter: 'frobnicate'/);
    expect(answers.find((a) => a.startsWith('text=') && a.includes('pattern'))).toMatch(/text\.format|pattern/);
  });
  it('/v1/embeddings', async () => {
    expect((await sweep('/v1/embeddings', { model: 'tiny', input: 'x' }, wrongEmbedding)).length).toBeGreaterThan(5);
  });
});
