import { z } from 'zod';
import type { CompletionRequest, FinishReason, GenerationResult, Usage } from '../../types/chat.js';
import { fromSamplingBody, samplingFields, toSamplingBody } from './sampling.js';
import { fromFinishReason, fromUsageBody, toUsageBody, type DeepPartial, type Envelope, type UsageBody } from './wire.js';

/*
 * `POST /v1/completions` (legacy text completion), both ways: the request
 * schema and its core CompletionRequest, the request body for one
 * (RemoteRuntime), and the `text_completion` answer, whole or as a stream
 * chunk, written and read.
 */

export const completionSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { message: 'murmur completes one prompt per request' })]),
});
/** A validated text completion request. */
export type TextCompletionRequest = z.infer<typeof completionSchema>;

/** The core CompletionRequest (without callbacks) for a validated body. */
export const fromCompletionRequest = (body: TextCompletionRequest): CompletionRequest => ({
  model: body.model,
  prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!,
  ...fromSamplingBody(body, body.max_tokens),
});

/** The request body for a core CompletionRequest (streamed, with usage, when it has `onToken`). */
export const toCompletionRequest = (r: CompletionRequest): z.input<typeof completionSchema> => ({ ...toSamplingBody(r), prompt: r.prompt });

export interface TextCompletion {
  readonly id: string;
  readonly object: 'text_completion';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string | null;
  readonly choices: readonly { readonly index: number; readonly text: string; readonly logprobs: null; readonly finish_reason: string | null }[];
  /** On a whole completion; null on stream chunks when usage is asked for, absent otherwise. */
  readonly usage?: UsageBody | null;
}

/** A `text_completion`, whole (with usage) or as a stream chunk (`usage` omitted). */
export const toTextCompletion = (envelope: Envelope, text: string, finishReason: FinishReason | null, usage?: Usage, includeUsage = false): TextCompletion => ({
  id: envelope.id,
  object: 'text_completion',
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  ...(usage ? { usage: toUsageBody(usage) } : includeUsage ? { usage: null } : {}),
});

/** A whole text completion as a core result, less the timings the caller measures. */
export const fromTextCompletion = (body: DeepPartial<TextCompletion>, fallbackModel: string): Omit<GenerationResult, 'timings'> => {
  const choice = body.choices?.[0];
  return {
    model: body.model ?? fallbackModel,
    text: choice?.text ?? '',
    finishReason: fromFinishReason(choice?.finish_reason),
    usage: fromUsageBody(body.usage),
  };
};
