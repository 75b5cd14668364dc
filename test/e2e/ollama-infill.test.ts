import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama, type GenerateResponse } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufMetadata } from '../../src/store/gguf-metadata.js';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { copyGgufWith } from '../helpers/gguf-edit.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * Fill-in-the-middle and /api/show's capabilities on a real `murmur serve`,
 * with stories260K copied twice into the temporary home: `coder` given
 * fill-in-the-middle token ids (three of its 512 tokens) and `thinker` given
 * a ChatML template that opens a `<think>` block. The plain model (`tiny`)
 * has neither, and a suffix is refused for it in Ollama's and OpenAI's
 * shapes. stories260K never learned those tokens, so only the shape and the
 * counts of an infill are checked, never its text.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);
const FIM = { 'tokenizer.ggml.fim_pre_token_id': 3, 'tokenizer.ggml.fim_suf_token_id': 4, 'tokenizer.ggml.fim_mid_token_id': 5 } as const;
const TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}";
const PROMPT = 'def add(a, b):';
const SUFFIX = '\n    return c';

let home: string;
let daemon: Daemon;
let ollama: Ollama;
const env = () => ({ ...process.env, MURMUR_HOME: join(home, 'home'), MURMUR_THREADS: '1', MURMUR_GPU: '', MURMUR_API_KEY: '', MURMUR_DEBUG: '' });
const post = (path: string, body: unknown) => fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe.skipIf(skip)(`fill-in-the-middle and capabilities on murmur serve${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-infill-'));
    const coder = join(home, 'coder.gguf');
    const thinker = join(home, 'thinker.gguf');
    await copyGgufWith(testModel(GGUF)!, coder, Object.fromEntries(Object.entries(FIM).map(([key, id]) => [key, { u32: id }])));
    await copyGgufWith(testModel(GGUF)!, thinker, { 'tokenizer.chat_template': { string: TEMPLATE } });
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    await runCli(env(), 'pull', coder, '--name', 'coder');
    await runCli(env(), 'pull', thinker, '--name', 'thinker');
    daemon = await startDaemon(env(), ['--gpu', 'off']);
    ollama = new Ollama({ host: daemon.url });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the copies keep the header and tensors, with the keys added', async () => {
    const original = await readGgufMetadata(testModel(GGUF)!);
    const coder = await readGgufMetadata(join(home, 'coder.gguf'));
    const thinker = await readGgufMetadata(join(home, 'thinker.gguf'));
    expect(coder.tensorCount).toBe(original.tensorCount);
    expect(coder.metadata).toEqual({ ...original.metadata, ...FIM });
    expect(thinker.metadata).toEqual({ ...original.metadata, 'tokenizer.chat_template': TEMPLATE });
  });

  it('show lists insert for the coder, thinking (and its template) for the thinker, neither for the plain model', async () => {
    const coder = await ollama.show({ model: 'coder' });
    expect(coder.capabilities).toEqual(expect.arrayContaining(['completion', 'insert']));
    expect(coder.capabilities).not.toContain('thinking');
    expect(coder.model_info).toMatchObject({ 'tokenizer.ggml.fim_pre_token_id': 3, 'tokenizer.ggml.fim_suf_token_id': 4 });
    const thinker = await ollama.show({ model: 'thinker' });
    expect(thinker.capabilities).toEqual(expect.arrayContaining(['completion', 'thinking']));
    expect(thinker.capabilities).not.toContain('insert');
    expect(thinker.template).toBe(TEMPLATE);
    const tiny = await ollama.show({ model: 'tiny' });
    expect(tiny.capabilities).toContain('completion');
    expect(tiny.capabilities).not.toContain('insert');
    expect(tiny.capabilities).not.toContain('thinking');
    expect(tiny.template).toBe('');
  });

  it('generate with a suffix fills in the middle, whole and streamed', async () => {
    const whole = await ollama.generate({ model: 'coder', prompt: PROMPT, suffix: SUFFIX, stream: false, options: { num_predict: 8, temperature: 0 } });
    expect(whole).toMatchObject({ model: 'coder', done: true, done_reason: 'length', eval_count: 8, response: expect.any(String) });
    expect(whole.prompt_eval_count).toBeGreaterThan(0);
    const stream = await ollama.generate({ model: 'coder', prompt: PROMPT, suffix: SUFFIX, stream: true, options: { num_predict: 8, temperature: 0 } });
    const parts: GenerateResponse[] = [];
    for await (const part of stream) parts.push(part);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'length', eval_count: 8 });
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
    expect(parts.map((p) => p.response).join('')).toBe(whole.response);
  });

  it('/v1/completions takes a suffix, by fetch and through the openai client', async () => {
    const res = await post('/v1/completions', { model: 'coder', prompt: PROMPT, suffix: SUFFIX, max_tokens: 6, temperature: 0 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number; prompt_tokens: number } };
    expect(body).toMatchObject({ object: 'text_completion', model: 'coder', choices: [{ index: 0, text: expect.any(String), finish_reason: 'length' }], usage: { completion_tokens: 6 } });
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    const client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const completion = await client.completions.create({ model: 'coder', prompt: PROMPT, suffix: SUFFIX, max_tokens: 6, temperature: 0 });
    expect(completion).toMatchObject({ object: 'text_completion', usage: { completion_tokens: 6 } });
    expect(completion.choices[0]!.text).toBe(body.choices[0]!.text);
  });

  it('a suffix for the plain model is a 400: Ollama\'s {error}, OpenAI\'s error on param suffix', async () => {
    for (const stream of [false, true]) {
      const res = await post('/api/generate', { model: 'tiny', prompt: PROMPT, suffix: SUFFIX, stream, options: { num_predict: 2 } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toMatch(/fill in the middle/);
    }
    await expect(ollama.generate({ model: 'tiny', prompt: PROMPT, suffix: SUFFIX, stream: false })).rejects.toMatchObject({ status_code: 400 });
    const res = await post('/v1/completions', { model: 'tiny', prompt: PROMPT, suffix: SUFFIX, max_tokens: 2 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'suffix', message: expect.stringMatching(/fill in the middle/) } });
  });
});
