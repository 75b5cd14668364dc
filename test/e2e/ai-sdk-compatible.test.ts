import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, jsonSchema, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli, startDaemon, type Daemon } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';

/**
 * The Vercel AI SDK's OpenAI-compatible provider (/v1/chat/completions)
 * against a real `murmur serve` with stories260K: text, a stream, an
 * object whose number is bounded, and a required tool — none of them may
 * make the SDK throw.
 */

const GGUF = 'stories260K/stories260K.gguf';
const skip = missingModels(GGUF);
let home: string;
let daemon: Daemon;
const env = () => ({ ...process.env, MURMUR_HOME: home, MURMUR_THREADS: '1', MURMUR_API_KEY: 'k' });

describe.skipIf(skip)(`the AI SDK's openai-compatible provider${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'murmur-e2e-ai-sdk-'));
    await runCli(env(), 'pull', testModel(GGUF)!, '--name', 'tiny');
    daemon = await startDaemon(env());
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const model = () => createOpenAICompatible({ name: 'murmur', baseURL: `${daemon.url}/v1`, apiKey: 'k', supportsStructuredOutputs: true })('tiny');

  it('generateText and streamText', async () => {
    const { text, usage, finishReason } = await generateText({ model: model(), prompt: 'Once upon a time', maxOutputTokens: 12, maxRetries: 0 });
    expect(text.length).toBeGreaterThan(0);
    expect(finishReason).toBe('length');
    expect(usage.outputTokens).toBe(12);
    const stream = streamText({ model: model(), prompt: 'Once upon a time', maxOutputTokens: 12, maxRetries: 0 });
    let streamed = '';
    for await (const part of stream.textStream) streamed += part;
    expect(streamed.length).toBeGreaterThan(0);
  });

  it('generateObject with a bounded number gives an object inside the bounds', async () => {
    const schema = z.object({ stars: z.number().int().min(1).max(5), mood: z.enum(['happy', 'sad']) });
    const { object } = await generateObject({ model: model(), schema, prompt: 'Rate the story.', maxOutputTokens: 80, maxRetries: 0 });
    expect(schema.safeParse(object).success).toBe(true);
  });

  it('a required tool is called with arguments that fit its schema', async () => {
    const result = await generateText({
      model: model(),
      prompt: 'What is the weather?',
      tools: { get_weather: tool({ description: 'The weather in a city.', inputSchema: jsonSchema<{ city: string; days: number }>({ type: 'object', properties: { city: { type: 'string', maxLength: 10 }, days: { type: 'integer', minimum: 1, maximum: 3 } }, required: ['city', 'days'], additionalProperties: false }) }) },
      toolChoice: 'required',
      maxOutputTokens: 160,
      maxRetries: 0,
    });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls[0]).toMatchObject({ toolName: 'get_weather' });
    expect([1, 2, 3]).toContain((result.toolCalls[0]!.input as { days: number }).days);
  });
});
