import { AppError } from '../errors.js';
import type { ChatRequest, CompletionRequest, FinishReason, GenerationResult, ToolCall, Usage } from '../types/chat.js';
import { fromErrorBody } from '../server/errors.js';
import { readSseData } from './event-stream.js';

/** Which OpenAI response a generation comes back as. */
export type GenerationKind = 'chat' | 'completion';

interface RawUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}
interface RawToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
interface RawChoice {
  text?: string;
  delta?: { content?: string | null; tool_calls?: RawToolCall[] };
  message?: { content?: string | null; tool_calls?: RawToolCall[] };
  finish_reason?: string | null;
}
interface RawBody {
  model?: string;
  choices?: RawChoice[];
  usage?: RawUsage | null;
  error?: unknown;
}

const finishReason = (raw: string | null | undefined): FinishReason => (raw === 'length' ? 'length' : raw === 'tool_calls' || raw === 'function_call' ? 'tool_calls' : 'stop');

const usage = (raw: RawUsage | null | undefined, fallbackCompletion: number): Usage => {
  const prompt = raw?.prompt_tokens ?? 0;
  const completion = raw?.completion_tokens ?? fallbackCompletion;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: raw?.total_tokens ?? prompt + completion };
};

const timings = (started: number, firstAt: number | undefined, tokens: number) => {
  const end = performance.now();
  const first = firstAt ?? end;
  const decodeMs = end - first;
  return {
    firstTokenMs: first - started,
    totalMs: end - started,
    tokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0,
  };
};

const toolCalls = (raw: RawToolCall[] | undefined): ToolCall[] | undefined =>
  raw?.length ? raw.map((c, i) => ({ id: c.id ?? `call_${i}`, name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' })) : undefined;

/**
 * Reads an OpenAI chat or text completion response, whole (JSON) or
 * streamed (SSE, calling request.onToken per delta), into a GenerationResult.
 */
export const readGeneration = async (kind: GenerationKind, res: Response, request: ChatRequest | CompletionRequest, started: number): Promise<GenerationResult> => {
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const body = (await res.json()) as RawBody;
    const choice = body.choices?.[0] ?? {};
    const text = (kind === 'chat' ? choice.message?.content : choice.text) ?? '';
    if (text) request.onToken?.(text);
    const result = usage(body.usage, 0);
    return {
      model: body.model ?? request.model,
      text,
      toolCalls: toolCalls(choice.message?.tool_calls),
      finishReason: finishReason(choice.finish_reason),
      usage: result,
      timings: timings(started, undefined, result.completionTokens),
    };
  }

  let text = '';
  let model = request.model;
  let finish: string | null | undefined;
  let rawUsage: RawUsage | null | undefined;
  let firstAt: number | undefined;
  let pieces = 0;
  const calls: RawToolCall[] = [];
  for await (const data of readSseData(res.body!)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data) as RawBody;
    if (chunk.error) throw fromErrorBody(500, chunk);
    if (chunk.model) model = chunk.model;
    if (chunk.usage) rawUsage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const piece = (kind === 'chat' ? choice.delta?.content : choice.text) ?? '';
    if (piece) {
      firstAt ??= performance.now();
      pieces += 1;
      text += piece;
      request.onToken?.(piece);
    }
    for (const call of choice.delta?.tool_calls ?? []) {
      const slot = (calls[call.index ?? calls.length] ??= { function: { name: '', arguments: '' } });
      if (call.id) slot.id = call.id;
      slot.function!.name += call.function?.name ?? '';
      slot.function!.arguments += call.function?.arguments ?? '';
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  if (request.signal?.aborted) throw request.signal.reason ?? new AppError('aborted', 'The request was aborted.');
  const result = usage(rawUsage, pieces);
  return {
    model,
    text,
    toolCalls: toolCalls(calls.filter(Boolean)),
    finishReason: finishReason(finish),
    usage: result,
    timings: timings(started, firstAt, result.completionTokens),
  };
};
