import { describe, expect, it } from 'vitest';
import { capabilitiesOf, chatSchema, fromChatRequest, toShow, fromGenerateRequest, generateSchema, modelName, toFinalStats, toOllamaError, toPullStatus, toToolCalls } from '../../../src/api/ollama/wire.js';
import { parseBody } from '../../../src/api/openai/schema-helpers.js';
import { AppError, ModelNotFoundError } from '../../../src/errors.js';
import type { GenerationResult } from '../../../src/types/chat.js';

/** Ollama's codec: bodies to the core's requests, results to final objects (ns), errors to `{error}`. */

const chat = (body: unknown) => fromChatRequest(parseBody(chatSchema, body));
const generate = (body: unknown) => fromGenerateRequest(parseBody(generateSchema, body));

describe("Ollama's codec", () => {
  it('maps options to the core, ignoring those it has no knob for, with Ollama\'s defaults', () => {
    const request = chat({ model: 'tiny:latest', messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 5, seed: 2, stop: 'x', top_k: 3, num_ctx: 99, repeat_penalty: 1.2, presence_penalty: 0.5 } });
    expect(request).toMatchObject({ model: 'tiny', maxTokens: 5, seed: 2, stop: ['x'], presencePenalty: 0.5, temperature: 0.8, topP: 0.9, topK: 3, contextTokens: 99 });
    expect(request).not.toHaveProperty('repeatPenalty');
    expect(request).not.toHaveProperty('think');
    expect(chat({ model: 'tiny', messages: [], options: { num_predict: -1 } })).not.toHaveProperty('maxTokens');
    expect(modelName('a:latest')).toBe('a');
    expect(modelName('a:q4')).toBe('a:q4');
  });

  it('gives tool calls ids and ties a tool answer to the call it names', () => {
    const request = chat({
      model: 'tiny',
      messages: [
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'a', arguments: { x: 1 } } }, { function: { name: 'b', arguments: {} } }] },
        { role: 'tool', content: 'B', tool_name: 'b' },
        { role: 'tool', content: 'A' },
      ],
      tools: [{ type: 'function', function: { name: 'a', parameters: { type: 'object' } } }],
    });
    expect(request.messages[0]!.toolCalls).toEqual([{ id: 'call_0_0', name: 'a', arguments: '{"x":1}' }, { id: 'call_0_1', name: 'b', arguments: '{}' }]);
    expect(request.messages[1]).toMatchObject({ role: 'tool', toolCallId: 'call_0_1' });
    expect(request.messages[2]).toMatchObject({ role: 'tool', toolCallId: 'call_0_0' });
    expect(request.tools).toEqual([{ name: 'a', parameters: { type: 'object' } }]);
    expect(toToolCalls([{ id: 'c', name: 'a', arguments: '{"x":1}' }, { id: 'd', name: 'b', arguments: 'oops' }])).toEqual([{ function: { name: 'a', arguments: { x: 1 } } }, { function: { name: 'b', arguments: {} } }]);
  });

  it('reads format as the core\'s response format and think as a boolean; refuses images', () => {
    expect(chat({ model: 't', messages: [], format: 'json' }).responseFormat).toEqual({ type: 'json_object' });
    expect(chat({ model: 't', messages: [], format: { type: 'object' } }).responseFormat).toEqual({ type: 'json_schema', schema: { type: 'object' } });
    expect(() => chat({ model: 't', messages: [{ role: 'user', content: '', images: ['x'] }] })).toThrow(/no vision/);
    expect(() => generate({ model: 't', prompt: 'p', images: ['x'] })).toThrow(/no vision/);
    expect(chat({ model: 't', messages: [], think: true }).think).toBe(true);
    expect(chat({ model: 't', messages: [], think: 'high' }).think).toBe(true);
    expect(chat({ model: 't', messages: [], think: false }).think).toBe(false);
    expect(generate({ model: 't', prompt: 'p', think: false })).toMatchObject({ raw: false, request: { think: false } });
    // A suffix is an infill: the prompt and suffix as they are, as raw is.
    expect(generate({ model: 't', prompt: 'p', suffix: 's' })).toMatchObject({ raw: true, request: { prompt: 'p', suffix: 's' } });
    expect(() => generate({ model: 't', prompt: 'p', suffix: 's', format: 'json' })).toThrow(/format/);
  });

  it('generate is a chat of system and prompt, or raw the prompt as it is', () => {
    expect(generate({ model: 't', prompt: 'p', system: 's' })).toMatchObject({ raw: false, request: { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'p' }] } });
    expect(generate({ model: 't', prompt: 'p', raw: true })).toMatchObject({ raw: true, request: { prompt: 'p' } });
  });

  it('show: capabilities from the GGUF header, the chat template as the template', () => {
    const chatModel = { name: 'm', kind: 'llm' } as const;
    expect(capabilitiesOf(chatModel, {})).toEqual(['completion', 'tools']);
    expect(capabilitiesOf({ name: 'e', kind: 'embedding' }, {})).toEqual(['embedding']);
    expect(capabilitiesOf(chatModel, { 'tokenizer.ggml.fim_pre_token_id': 1, 'tokenizer.ggml.fim_suf_token_id': 2 })).toContain('insert');
    expect(capabilitiesOf(chatModel, { 'tokenizer.ggml.prefix_token_id': 1, 'tokenizer.ggml.suffix_token_id': 2 })).toContain('insert');
    expect(capabilitiesOf(chatModel, { 'tokenizer.ggml.fim_pre_token_id': 1 })).not.toContain('insert');
    const template = "{{ '<|im_start|>assistant\\n<think>\\n' }}";
    const show = toShow(chatModel, { 'tokenizer.chat_template': template, 'llama.context_length': 2048 });
    expect(show).toMatchObject({ template, capabilities: ['completion', 'tools', 'thinking'], model_info: { 'llama.context_length': 2048 } });
    expect(show.model_info).not.toHaveProperty('tokenizer.chat_template');
  });

  it('final stats are in nanoseconds, done_reason stop or length', () => {
    const result = { finishReason: 'length', usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, timings: { firstTokenMs: 10, totalMs: 30, tokensPerSecond: 1 } } as GenerationResult;
    expect(toFinalStats(result, 5, 40)).toEqual({ done_reason: 'length', total_duration: 40e6, load_duration: 5e6, prompt_eval_count: 3, prompt_eval_duration: 10e6, eval_count: 4, eval_duration: 20e6 });
    expect(toFinalStats({ ...result, finishReason: 'tool_calls' }, 0, 0).done_reason).toBe('stop');
  });

  it("errors are {error}; an unknown model reads as Ollama's", () => {
    expect(toOllamaError(new ModelNotFoundError('x'), 'x')).toEqual({ status: 404, body: { error: "model 'x' not found" } });
    expect(toOllamaError(new AppError('invalid_request', 'bad'))).toEqual({ status: 400, body: { error: 'bad' } });
    expect(toOllamaError(new Error('secret'))).toEqual({ status: 500, body: { error: 'internal server error' } });
    expect(toPullStatus({ status: 'downloading', model: 'm', file: 'f', completed: 1, total: 2 })).toEqual({ status: 'pulling f', digest: 'f', completed: 1, total: 2 });
    expect(toPullStatus({ status: 'success', model: 'm', path: '/p', reused: false })).toBeUndefined();
  });
});
