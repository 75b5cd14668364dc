import { describe, expect, it } from 'vitest';
import { anthropicErrorType, toAnthropicError } from '../../../src/api/anthropic/errors.js';
import { fromMessagesRequest, messagesSchema, toMessage, toStreamEnd } from '../../../src/api/anthropic/messages.js';
import { parseBody } from '../../../src/api/openai/schema-helpers.js';
import { AppError } from '../../../src/errors.js';
import type { GenerationResult } from '../../../src/types/chat.js';

/** Anthropic's Messages codec: a body to the core's ChatRequest, a result to a message and stream events, errors to Anthropic's types. */

const parse = (body: unknown) => fromMessagesRequest(parseBody(messagesSchema, body));
const result = (over: Partial<GenerationResult>): GenerationResult => ({
  model: 'tiny',
  text: '',
  finishReason: 'stop',
  usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
  timings: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1 },
  ...over,
});

describe('Anthropic Messages codec', () => {
  it('maps system, tool_use and tool_result blocks to the core messages, tool_choice to the core choice', () => {
    const request = parse({
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'kind' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
      stop_sequences: ['END'],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Calling' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true }, { type: 'text', text: 'Go on' }] },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'Be kind' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Calling', toolCalls: [{ id: 't1', name: 'f', arguments: '{"a":1}' }] },
      { role: 'tool', content: 'Error: boom', toolCallId: 't1' },
      { role: 'user', content: 'Go on' },
    ]);
    expect(request).toMatchObject({ toolChoice: 'required', maxTokens: 10, stop: ['END'], temperature: 1, topP: 1, tools: [{ name: 'f', parameters: { type: 'object' } }] });
    expect(parse({ model: 'm', max_tokens: 1, tools: [{ name: 'f', input_schema: {} }], tool_choice: { type: 'tool', name: 'f' }, messages: [{ role: 'user', content: 'x' }] }).toolChoice).toEqual({ name: 'f' });
  });

  it('reads top_k and thinking: off unless asked for, a budget when enabled, the model\'s choice when adaptive', () => {
    const base = { model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'x' }] };
    expect(parse({ ...base, top_k: 4 })).toMatchObject({ topK: 4, think: false });
    expect(parse({ ...base, thinking: { type: 'enabled', budget_tokens: 32 } })).toMatchObject({ think: true, thoughtTokens: 32 });
    expect(parse({ ...base, thinking: { type: 'disabled' } })).toMatchObject({ think: false });
    expect(parse({ ...base, thinking: { type: 'adaptive' } })).not.toHaveProperty('think');
    // A thought sent back in the history is dropped, not refused.
    const back = parse({ ...base, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: '' }, { type: 'text', text: 'y' }] }] });
    expect(back.messages.at(-1)).toEqual({ role: 'assistant', content: 'y' });
  });

  it('writes a thought as a thinking block before the text', () => {
    expect(toMessage({ id: 'msg_1', model: 'm' }, result({ text: 'Hi', reasoning: 'Let me see.' })).content).toEqual([
      { type: 'thinking', thinking: 'Let me see.', signature: '' },
      { type: 'text', text: 'Hi' },
    ]);
  });

  it('refuses what the core cannot honour, naming it', () => {
    const base = { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] };
    expect(() => parse({ ...base, messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] })).toThrow(/'image'.*messages\[0\]\.content\[0\]/);
    expect(() => parse({ ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toThrow(/web_search_20250305/);
    expect(() => parse({ ...base, thinking: { type: 'sometimes' } })).toThrow(/thinking\.type/);
    expect(() => parse({ ...base, thinking: { type: 'enabled', budget_tokens: 1 } })).toThrow(/budget_tokens.*max_tokens/);
    expect(() => parse({ ...base, tool_choice: { type: 'any' } })).toThrow(/no tools/);
    expect(() => parse({ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't' }] }] })).toThrow(/missing a field/);
  });

  it('writes a result as a message and as the stream events after its text', () => {
    const calls = { toolCalls: [{ id: 'c1', name: 'f', arguments: '{"x":2}' }], finishReason: 'tool_calls' as const };
    expect(toMessage({ id: 'msg_1', model: 'm' }, result({ text: 'Hi', ...calls }))).toMatchObject({
      content: [{ type: 'text', text: 'Hi' }, { type: 'tool_use', id: 'c1', name: 'f', input: { x: 2 } }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 3, output_tokens: 2 },
    });
    expect(toMessage({ id: 'msg_1', model: 'm' }, result({ text: 'a', stopSequence: 'END' }))).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect(toMessage({ id: 'msg_1', model: 'm' }, result({ finishReason: 'length' })).stop_reason).toBe('max_tokens');
    expect(toStreamEnd(result(calls), 1).map((e) => e.type)).toEqual(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });

  it("gives errors Anthropic's types by status", () => {
    expect(toAnthropicError(new AppError('model_not_found', 'nope'))).toEqual({ status: 404, body: { type: 'error', error: { type: 'not_found_error', message: 'nope' } } });
    expect(toAnthropicError(new Error('secret')).body.error).toEqual({ type: 'api_error', message: 'Internal server error.' });
    expect([400, 401, 403, 413, 429, 503, 529, 502].map(anthropicErrorType)).toEqual(['invalid_request_error', 'authentication_error', 'permission_error', 'request_too_large', 'rate_limit_error', 'overloaded_error', 'overloaded_error', 'api_error']);
  });
});
