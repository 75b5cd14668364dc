import type { GenerationResult } from '../../types/chat.js';
import type { ResponseItem } from './responses-items.js';
import { completeResponse, failResponse, hasMessage, newOutputIds, type OutputIds, type ResponseObject } from './responses-response.js';

/*
 * The server-sent events of a streamed response, in OpenAI's order, each
 * with its `sequence_number` (from 0):
 *
 *   response.created, response.in_progress,
 *   response.output_item.added, response.content_part.added (the message),
 *   response.output_text.delta …,
 *   response.output_text.done, response.content_part.done, response.output_item.done,
 *   per function call: response.output_item.added,
 *     response.function_call_arguments.delta, .done, response.output_item.done,
 *   response.completed (or response.incomplete, or response.failed).
 */

export interface ResponseEvent {
  readonly type: string;
  readonly sequence_number: number;
  readonly [field: string]: unknown;
}

export interface ResponseEventWriter {
  /** response.created and response.in_progress. */
  start(): ResponseEvent[];
  /** A piece of text: the message's output_item.added and content_part.added the first time, then its delta. */
  delta(text: string): ResponseEvent[];
  /** The events that close the output, and the response they end with. */
  finish(result: GenerationResult): { readonly events: ResponseEvent[]; readonly response: ResponseObject };
  /** response.failed, and the failed response. */
  fail(error: unknown): { readonly events: ResponseEvent[]; readonly response: ResponseObject };
}

/** The event writer of one streamed response, starting from its in_progress `shell`. */
export const createResponseEventWriter = (shell: ResponseObject): ResponseEventWriter => {
  let sequence = 0;
  let opened = false;
  const messageId = newOutputIds(0).message;
  const event = (type: string, fields: Record<string, unknown>): ResponseEvent => ({ type, ...fields, sequence_number: sequence++ });
  const open = (): ResponseEvent[] => {
    opened = true;
    return [
      event('response.output_item.added', { output_index: 0, item: { type: 'message', id: messageId, role: 'assistant', status: 'in_progress', content: [] } }),
      event('response.content_part.added', { item_id: messageId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }),
    ];
  };
  const closeItem = (item: ResponseItem, index: number): ResponseEvent[] => {
    if (item.type === 'message') {
      const part = item.content[0];
      return [
        ...(opened ? [] : open()),
        event('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text: part?.type === 'output_text' ? part.text : '', logprobs: [] }),
        event('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part }),
        event('response.output_item.done', { output_index: index, item }),
      ];
    }
    return [
      event('response.output_item.added', { output_index: index, item: { ...item, arguments: '', status: 'in_progress' } }),
      ...(item.type === 'function_call'
        ? [
            event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: item.arguments }),
            event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments }),
          ]
        : []),
      event('response.output_item.done', { output_index: index, item }),
    ];
  };
  return {
    start: () => [event('response.created', { response: shell }), event('response.in_progress', { response: shell })],
    delta: (text) => {
      const head = opened ? [] : open();
      const delta = event('response.output_text.delta', { item_id: messageId, output_index: 0, content_index: 0, delta: text, logprobs: [] });
      return head.length ? [...head, delta] : [delta];
    },
    finish: (result) => {
      const ids: OutputIds = { message: messageId, calls: newOutputIds(result.toolCalls?.length ?? 0).calls };
      // A message the stream announced closes even when the result turned out to hold only tool calls.
      const response = completeResponse(shell, result, ids, opened || hasMessage(result));
      const events = response.output.flatMap((item, index) => closeItem(item, index));
      events.push(event(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response }));
      return { events, response };
    },
    fail: (error) => {
      const response = failResponse(shell, error);
      return { events: [event('response.failed', { response })], response };
    },
  };
};
