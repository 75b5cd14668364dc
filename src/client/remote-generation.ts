import { fromChatCompletion } from '../api/openai/chat-response.js';
import { fromTextCompletion } from '../api/openai/completions.js';
import { fromErrorBody, isOpenAIErrorBody } from '../api/openai/errors.js';
import { createGenerationStreamReader, type GenerationKind } from '../api/openai/generation-stream.js';
import { STREAM_DONE } from '../api/openai/wire.js';
import { AppError } from '../errors.js';
import type { ChatRequest, CompletionRequest, GenerationResult } from '../types/chat.js';
import { readSseData } from './event-stream.js';

export type { GenerationKind } from '../api/openai/generation-stream.js';

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

/**
 * Reads an OpenAI chat or text completion response, whole (JSON) or
 * streamed (SSE, calling request.onToken per delta), into a GenerationResult.
 */
export const readGeneration = async (kind: GenerationKind, res: Response, request: ChatRequest | CompletionRequest, started: number): Promise<GenerationResult> => {
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const body = (await res.json()) as object;
    const result = kind === 'chat' ? fromChatCompletion(body, request.model) : fromTextCompletion(body, request.model);
    if (result.reasoning) request.onThought?.(result.reasoning);
    if (result.text) request.onToken?.(result.text, result.logprobs);
    return { ...result, timings: timings(started, undefined, result.usage.completionTokens) };
  }

  const reader = createGenerationStreamReader(kind, request.model);
  let firstAt: number | undefined;
  for await (const data of readSseData(res.body!)) {
    if (data === STREAM_DONE) break;
    const chunk = JSON.parse(data) as object;
    if (isOpenAIErrorBody(chunk)) throw fromErrorBody(500, chunk);
    const piece = reader.push(chunk);
    if (reader.lastThought) {
      firstAt ??= performance.now();
      request.onThought?.(reader.lastThought);
    }
    if (piece) {
      firstAt ??= performance.now();
      request.onToken?.(piece, reader.lastLogprobs);
    }
  }
  if (request.signal?.aborted) throw request.signal.reason ?? new AppError('aborted', 'The request was aborted.');
  const result = reader.result();
  return { ...result, timings: timings(started, firstAt, result.usage.completionTokens) };
};
