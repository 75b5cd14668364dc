import type { ToolCall } from '../../types/chat.js';
import type { DeepPartial } from './wire.js';

/*
 * Tool calls in OpenAI's shape, both ways: whole on a message, and as the
 * indexed pieces a stream's deltas carry, which a reader joins again.
 */

export interface ToolCallBody {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** A stream delta's tool call: `index` says which call a piece belongs to; later pieces append to name and arguments. */
export interface ToolCallDelta extends ToolCallBody {
  readonly index: number;
}

export const toToolCallBodies = (calls: readonly ToolCall[]): ToolCallBody[] =>
  calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));

/** All of a result's tool calls as one delta's list. */
export const toToolCallDeltas = (calls: readonly ToolCall[]): ToolCallDelta[] => toToolCallBodies(calls).map((call, index) => ({ index, ...call }));

/** Core tool calls from a message's list; absent or empty is undefined. Missing ids are numbered `call_N`. */
export const fromToolCallBodies = (raw: readonly DeepPartial<ToolCallBody>[] | null | undefined): ToolCall[] | undefined =>
  raw?.length ? raw.map((c, i) => ({ id: c.id ?? `call_${i}`, name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' })) : undefined;

/** Joins the tool call pieces of a stream's deltas. */
export const createToolCallJoiner = () => {
  const calls: { id?: string; function: { name: string; arguments: string } }[] = [];
  return {
    push(deltas: readonly DeepPartial<ToolCallDelta>[] | null | undefined): void {
      for (const call of deltas ?? []) {
        const slot = (calls[call.index ?? calls.length] ??= { function: { name: '', arguments: '' } });
        if (call.id) slot.id = call.id;
        slot.function.name += call.function?.name ?? '';
        slot.function.arguments += call.function?.arguments ?? '';
      }
    },
    /** The calls joined so far. */
    calls: (): ToolCall[] | undefined => fromToolCallBodies(calls.filter(Boolean)),
  };
};
