import { z } from 'zod';
import type { ChatRequest, CompletionRequest, SamplingOptions } from '../../types/chat.js';

/*
 * The fields chat completions and text completions share (model, streaming,
 * sampling), both ways: zod fields for the server's schemas, the core's
 * SamplingOptions from them, and the same fields built from a core request
 * for RemoteRuntime.
 *
 * Naming across src/api/openai/: `fromX` reads OpenAI's shape X into core
 * types, `toX` writes core values as X.
 */

/** zod fields spread into the chat and completion request schemas. */
export const samplingFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  n: z.literal(1, { message: 'murmur generates one choice per request (n must be 1)' }).nullish(),
};

const samplingObject = z.object(samplingFields);
type SamplingBody = z.infer<typeof samplingObject>;
/** The sampling fields as a client sends them. */
export type SamplingBodyInput = z.input<typeof samplingObject>;

/** The core's sampling options from a validated body; `maxTokens` is whichever max field the endpoint honours. */
export const fromSamplingBody = (body: Pick<SamplingBody, 'temperature' | 'top_p' | 'seed' | 'stop'>, maxTokens: number | null | undefined): SamplingOptions => ({
  temperature: body.temperature ?? undefined,
  topP: body.top_p ?? undefined,
  seed: body.seed ?? undefined,
  maxTokens: maxTokens ?? undefined,
  stop: body.stop === null || body.stop === undefined ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
});

/**
 * The sampling fields for a core request (RemoteRuntime's side). A request
 * with `onToken` asks for a stream with usage at its end.
 */
export const toSamplingBody = (r: ChatRequest | CompletionRequest): SamplingBodyInput => ({
  model: r.model,
  ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
  ...(r.topP !== undefined ? { top_p: r.topP } : {}),
  ...(r.seed !== undefined ? { seed: r.seed } : {}),
  ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}),
  ...(r.stop?.length ? { stop: [...r.stop] } : {}),
  ...(r.onToken ? { stream: true, stream_options: { include_usage: true } } : {}),
});
