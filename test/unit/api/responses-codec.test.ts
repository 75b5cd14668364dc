import { describe, expect, it } from 'vitest';
import { createResponseEventWriter } from '../../../src/api/openai/responses-events.js';
import { fromInputItems, toChatMessages, type ResponseItem } from '../../../src/api/openai/responses-items.js';
import { parseResponsesRequest } from '../../../src/api/openai/responses-request.js';
import { toResponseShell } from '../../../src/api/openai/responses-response.js';
import type { GenerationResult } from '../../../src/types/chat.js';

/*
 * The Responses codec without a server: input items as stored, a
 * conversation as chat messages, and the event order of a stream.
 */

const result = (overrides: Partial<GenerationResult> = {}): GenerationResult => ({
  model: 'tiny',
  text: 'Hello there',
  finishReason: 'stop',
  usage: { promptTokens: 4, completionTokens: 2, totalTokens: 6 },
  timings: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 1000 },
  ...overrides,
});

describe('input items', () => {
  it('stores a string as one user message, and gives every item an id and a status', () => {
    expect(fromInputItems('hi')).toEqual([{ type: 'message', id: expect.stringMatching(/^msg_[0-9a-f]{48}$/), role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'hi' }] }]);
    const body = parseResponsesRequest({
      model: 'm',
      input: [
        { role: 'assistant', content: 'earlier' },
        { type: 'message', id: 'msg_same', role: 'user', content: [{ type: 'input_text', text: 'a' }] },
        { type: 'message', id: 'msg_same', role: 'developer', content: 'b' },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'ok' }] },
        { type: 'item_reference', id: 'msg_old' },
      ],
    });
    const items = fromInputItems(body.input);
    expect(items[0]).toMatchObject({ role: 'assistant', content: [{ type: 'output_text', text: 'earlier', annotations: [] }] });
    expect(items[1]!.id).toBe('msg_same');
    // Ids stay unique within a response (input_items pages by them).
    expect(items[2]!.id).toMatch(/^msg_[0-9a-f]{48}$/);
    expect(items[3]).toMatchObject({ id: expect.stringMatching(/^fc_/), status: 'completed' });
    expect(items[4]).toMatchObject({ id: expect.stringMatching(/^fco_/), output: [{ type: 'input_text', text: 'ok' }] });
    expect(items[5]).toEqual({ type: 'item_reference', id: 'msg_old' });
  });

  it('reads a conversation as chat: calls join the assistant message before them', () => {
    const items = fromInputItems(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'user', content: 'weather in two places?' },
          { role: 'assistant', content: 'Looking.' },
          { type: 'function_call', call_id: 'a', name: 'w', arguments: '{"c":1}' },
          { type: 'function_call', call_id: 'b', name: 'w', arguments: '{"c":2}' },
          { type: 'function_call_output', call_id: 'a', output: 'sun' },
          { type: 'function_call_output', call_id: 'b', output: 'rain' },
        ],
      }).input,
    ) as ResponseItem[];
    expect(toChatMessages('rules', [], items)).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: 'weather in two places?' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'w', arguments: '{"c":1}' } },
          { id: 'b', type: 'function', function: { name: 'w', arguments: '{"c":2}' } },
        ],
      },
      { role: 'tool', content: 'sun', tool_call_id: 'a' },
      { role: 'tool', content: 'rain', tool_call_id: 'b' },
    ]);
    // An output before its call is no answer to it.
    expect(() => toChatMessages(null, [], [items[4]!, items[2]!])).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'input[0]' }));
    // A call in the history (an earlier response) is one.
    expect(toChatMessages(null, [items[2]!], [items[4]!])).toHaveLength(2);
  });
});

describe('stream events', () => {
  it('come in OpenAI order, numbered from 0, for text then calls', () => {
    const shell = toResponseShell({ model: 'tiny' });
    const writer = createResponseEventWriter(shell);
    const events = [...writer.start(), ...writer.delta('Hello'), ...writer.delta(' there')];
    const { events: tail, response } = writer.finish(result({ toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"x":1}' }], finishReason: 'tool_calls' }));
    events.push(...tail);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const messageId = (events[2]!.item as { id: string }).id;
    expect(events[4]).toMatchObject({ item_id: messageId, output_index: 0, content_index: 0, delta: 'Hello' });
    expect(events[6]).toMatchObject({ text: 'Hello there' });
    expect(events[9]).toMatchObject({ output_index: 1, item: { type: 'function_call', call_id: 'call_1', arguments: '' } });
    expect(response).toMatchObject({ status: 'completed', output: [{ id: messageId, type: 'message' }, { type: 'function_call', call_id: 'call_1' }], usage: { input_tokens: 4, output_tokens: 2, total_tokens: 6 } });
    expect(events.at(-1)!.response).toBe(response);
  });

  it('end with response.incomplete at the token limit, and announce a message that got no token', () => {
    const writer = createResponseEventWriter(toResponseShell({ model: 'tiny' }));
    const events = [...writer.start(), ...writer.finish(result({ text: '', finishReason: 'length' })).events];
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    expect(events.at(-1)!.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ status: 'incomplete' }] });
  });

  it('end with response.failed', () => {
    const writer = createResponseEventWriter(toResponseShell({ model: 'tiny' }));
    const events = [...writer.start(), ...writer.delta('x'), ...writer.fail(new Error('boom')).events];
    expect(events.at(-1)).toMatchObject({ type: 'response.failed', sequence_number: 5, response: { status: 'failed', error: { code: 'server_error' }, output: [] } });
  });
});
