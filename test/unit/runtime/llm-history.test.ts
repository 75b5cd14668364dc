import { describe, expect, it } from 'vitest';
import { newToolCallId, toChatHistory, toFinishReason, toFunctions } from '../../../src/engines/llm/history.js';

describe('chat history conversion', () => {
  it('maps roles and ends with an empty model turn to fill', () => {
    const history = toChatHistory([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'How are you?' },
    ]);
    expect(history).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: ['Hello!'] },
      { type: 'user', text: 'How are you?' },
      { type: 'model', response: [] },
    ]);
  });

  it('folds tool results into the assistant turn that called them', () => {
    const history = toChatHistory([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: '{"celsius":21}', toolCallId: 'call_1' },
      { role: 'tool', content: 'orphan result', toolCallId: 'call_9' },
    ]);
    expect(history[1]).toEqual({
      type: 'model',
      response: [{ type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { celsius: 21 } }],
    });
    expect(history[2]).toEqual({ type: 'user', text: 'Tool result: orphan result' });
    expect(history.at(-1)).toEqual({ type: 'model', response: [] });
  });

  it('lets an assistant message at the end be continued', () => {
    const history = toChatHistory([{ role: 'user', content: 'Count' }, { role: 'assistant', content: 'One, two,' }]);
    expect(history.at(-1)).toEqual({ type: 'model', response: ['One, two,'] });
  });

  it('turns tools into functions, honouring tool_choice', () => {
    const tools = [
      { name: 'a', description: 'first', parameters: { type: 'object', properties: { x: { type: 'string' } } } },
      { name: 'b' },
    ];
    expect(Object.keys(toFunctions(tools, 'auto')!)).toEqual(['a', 'b']);
    expect(toFunctions(tools, 'auto')!.a).toEqual({ description: 'first', params: tools[0].parameters });
    expect(toFunctions(tools, 'none')).toBeUndefined();
    expect(Object.keys(toFunctions(tools, { name: 'b' })!)).toEqual(['b']);
    expect(toFunctions([], 'auto')).toBeUndefined();
  });

  it('maps stop reasons to OpenAI finish reasons and makes distinct call ids', () => {
    expect(toFinishReason('maxTokens')).toBe('length');
    expect(toFinishReason('eogToken')).toBe('stop');
    expect(toFinishReason('customStopTrigger')).toBe('stop');
    expect(toFinishReason('functionCalls')).toBe('tool_calls');
    expect(toFinishReason('eogToken', true)).toBe('tool_calls');
    const ids = new Set(Array.from({ length: 20 }, newToolCallId));
    expect(ids.size).toBe(20);
    expect([...ids][0]).toMatch(/^call_[\w-]+$/);
  });
});
