import { z } from 'zod';
import { CORE_SAMPLING_DEFAULTS, type ChatRequest, type CompletionRequest, type SamplingOptions } from '../../types/chat.js';

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
  /** Not OpenAI's, but llama-server's and vLLM's, which clients of local models send. */
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string().regex(/^\d+$/, { message: 'keys must be token ids' }), z.number().min(-100).max(100)).nullish(),
  /** Choices to generate; at most the model's parallel sequences (the route checks, as it knows them). */
  n: z.number().int().min(1).max(128).nullish(),
};

const samplingObject = z.object(samplingFields);
type SamplingBody = z.infer<typeof samplingObject>;
/** The sampling fields as a client sends them. */
export type SamplingBodyInput = z.input<typeof samplingObject>;

/** OpenAI's defaults for what a body leaves out: temperature 1, top_p 1. */
export const OPENAI_SAMPLING_DEFAULTS = { temperature: 1, topP: 1 } as const;

/**
 * The core's sampling options from a validated body, with OpenAI's defaults
 * for an absent temperature and top_p; `maxTokens` is whichever max field
 * the endpoint honours. Zero penalties and an empty logit_bias are left out.
 */
export const fromSamplingBody = (
  body: Pick<SamplingBody, 'temperature' | 'top_p' | 'seed' | 'stop' | 'presence_penalty' | 'frequency_penalty' | 'logit_bias'> & Partial<Pick<SamplingBody, 'top_k'>>,
  maxTokens: number | null | undefined,
): SamplingOptions => ({
  temperature: body.temperature ?? OPENAI_SAMPLING_DEFAULTS.temperature,
  topP: body.top_p ?? OPENAI_SAMPLING_DEFAULTS.topP,
  ...(body.top_k !== null && body.top_k !== undefined ? { topK: body.top_k } : {}),
  seed: body.seed ?? undefined,
  maxTokens: maxTokens ?? undefined,
  stop: body.stop === null || body.stop === undefined ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
  ...(body.presence_penalty ? { presencePenalty: body.presence_penalty } : {}),
  ...(body.frequency_penalty ? { frequencyPenalty: body.frequency_penalty } : {}),
  ...(body.logit_bias && Object.keys(body.logit_bias).length ? { logitBias: body.logit_bias } : {}),
});

/**
 * The sampling fields for a core request (RemoteRuntime's side). Temperature
 * and top_p always go, the core's defaults for absent ones (greedy), since a
 * server's are OpenAI's. A request with `onToken` asks for a stream with
 * usage at its end.
 */
export const toSamplingBody = (r: ChatRequest | CompletionRequest): SamplingBodyInput => ({
  model: r.model,
  temperature: r.temperature ?? CORE_SAMPLING_DEFAULTS.temperature,
  top_p: r.topP ?? CORE_SAMPLING_DEFAULTS.topP,
  ...(r.topK !== undefined ? { top_k: r.topK } : {}),
  ...(r.seed !== undefined ? { seed: r.seed } : {}),
  ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}),
  ...(r.stop?.length ? { stop: [...r.stop] } : {}),
  ...(r.presencePenalty ? { presence_penalty: r.presencePenalty } : {}),
  ...(r.frequencyPenalty ? { frequency_penalty: r.frequencyPenalty } : {}),
  ...(r.logitBias && Object.keys(r.logitBias).length ? { logit_bias: { ...r.logitBias } } : {}),
  ...(r.onToken ? { stream: true, stream_options: { include_usage: true } } : {}),
});
