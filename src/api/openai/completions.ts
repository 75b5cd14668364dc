import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { CompletionRequest, FinishReason, GenerationResult, TokenLogprob, Usage } from '../../types/chat.js';
import { fromCompletionLogprobs, toCompletionLogprobs, type CompletionLogprobsBody } from './logprobs.js';
import { fromSamplingBody, samplingFields, toSamplingBody } from './sampling.js';
import { fromFinishReason, fromUsageBody, sumUsage, toUsageBody, type DeepPartial, type Envelope, type UsageBody } from './wire.js';

/*
 * `POST /v1/completions` (legacy text completion), both ways: the request
 * schema and its core CompletionRequest, the request body for one
 * (RemoteRuntime), and the `text_completion` answer, whole or as a stream
 * chunk, written and read.
 */

export const completionSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { message: 'murmur completes one prompt per request: a string, or an array of one string (not token ids)' })]),
  /** The legacy API's: log probabilities of each token, with this many alternatives (0–5). */
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().min(1).max(20).nullish(),
});
/** A validated text completion request. */
export type TextCompletionRequest = z.infer<typeof completionSchema>;

const refuse = (param: string, message: string, hint: string) => new AppError('not_supported', message, { param, hint });

/** The core CompletionRequest (without callbacks) for a validated body; echo and best_of above n are refused, not dropped; a suffix is fill-in-the-middle (the engine refuses it for a model without the tokens). */
export const fromCompletionRequest = (body: TextCompletionRequest): CompletionRequest => {
  if (body.echo) throw refuse('echo', "murmur cannot echo the prompt: 'echo' is not supported.", 'Leave echo out and prepend the prompt yourself.');
  if (body.best_of && body.best_of > (body.n ?? 1)) {
    throw refuse('best_of', "murmur does not rank choices: 'best_of' above n is not supported.", 'Ask for n choices and pick among them yourself.');
  }
  return {
    model: body.model,
    prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!,
    ...fromSamplingBody(body, body.max_tokens),
    ...(body.suffix ? { suffix: body.suffix } : {}),
    ...(body.logprobs !== null && body.logprobs !== undefined ? { logprobs: body.logprobs } : {}),
  };
};

/** The request body for a core CompletionRequest (streamed, with usage, when it has `onToken`); more than 5 alternatives cannot be asked for here. */
export const toCompletionRequest = (r: CompletionRequest): z.input<typeof completionSchema> => ({
  ...toSamplingBody(r),
  ...(r.logprobs !== undefined ? { logprobs: Math.min(5, r.logprobs) } : {}),
  prompt: r.prompt,
  ...(r.suffix ? { suffix: r.suffix } : {}),
});

export interface TextCompletion {
  readonly id: string;
  readonly object: 'text_completion';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string | null;
  readonly choices: readonly { readonly index: number; readonly text: string; readonly logprobs: CompletionLogprobsBody | null; readonly finish_reason: string | null }[];
  /** On a whole completion; null on stream chunks when usage is asked for, absent otherwise. */
  readonly usage?: UsageBody | null;
}

/**
 * Which choice a completion (or chunk) is (`n`), and its tokens' log
 * probabilities when they were asked for: `offset` is where the tokens start
 * in the choice's text (what was streamed before), `withTop` whether
 * alternatives were asked for (logprobs above 0).
 */
export interface CompletionChoice {
  readonly index?: number;
  readonly logprobs?: readonly TokenLogprob[];
  readonly offset?: number;
  readonly withTop?: boolean;
}

/** A `text_completion`, whole (with usage) or as a stream chunk (`usage` omitted). */
export const toTextCompletion = (envelope: Envelope, text: string, finishReason: FinishReason | null, usage?: Usage, includeUsage = false, choice: CompletionChoice = {}): TextCompletion => ({
  id: envelope.id,
  object: 'text_completion',
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: [
    {
      index: choice.index ?? 0,
      text,
      logprobs: choice.logprobs ? toCompletionLogprobs(choice.logprobs, choice.offset, choice.withTop ?? true) : null,
      finish_reason: finishReason,
    },
  ],
  ...(usage ? { usage: toUsageBody(usage) } : includeUsage ? { usage: null } : {}),
});

/** A whole `text_completion` of several choices (`n`), usage over all of them; `withTop` as in CompletionChoice. */
export const toTextCompletions = (envelope: Envelope, results: readonly GenerationResult[], withTop = true): TextCompletion => ({
  id: envelope.id,
  object: 'text_completion',
  created: envelope.created,
  model: envelope.model,
  system_fingerprint: null,
  choices: results.map((result, index) => ({
    index,
    text: result.text,
    logprobs: result.logprobs ? toCompletionLogprobs(result.logprobs, 0, withTop) : null,
    finish_reason: result.finishReason,
  })),
  usage: toUsageBody(sumUsage(results)),
});

/** A whole text completion as a core result, less the timings the caller measures. */
export const fromTextCompletion = (body: DeepPartial<TextCompletion>, fallbackModel: string): Omit<GenerationResult, 'timings'> => {
  const choice = body.choices?.[0];
  const logprobs = fromCompletionLogprobs(choice?.logprobs);
  return {
    model: body.model ?? fallbackModel,
    text: choice?.text ?? '',
    finishReason: fromFinishReason(choice?.finish_reason),
    usage: fromUsageBody(body.usage),
    ...(logprobs ? { logprobs } : {}),
  };
};
