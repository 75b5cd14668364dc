import { sumUsage } from '../api/openai/wire.js';
import { AppError } from '../errors.js';
import type { GenerationResult, TokenLogprob } from '../types/chat.js';

/*
 * OpenAI's `n` for chat and text completions: that many generations of one
 * request, each on a sequence of its own, run at once. So n may not exceed
 * the sequences a model has (`--parallel`): more could never run together.
 */

/** A piece of one choice's text as a stream of several choices hands it on. */
export interface ChoicePiece {
  readonly index: number;
  readonly text: string;
  readonly logprobs?: readonly TokenLogprob[];
  /** A piece of a thinking model's thought rather than of the text. */
  readonly thought?: true;
}

/** The number of choices asked for, checked against the sequences each model has (config.parallel). */
export const choiceCount = (n: number | null | undefined, parallel: number): number => {
  const count = n ?? 1;
  if (count > parallel) {
    throw new AppError('invalid_request', `Invalid value for 'n': ${count} choices, but the daemon runs at most ${parallel} generations of a model at once.`, {
      param: 'n',
      hint: `Ask for at most ${parallel}, or start the daemon with more --parallel (MURMUR_PARALLEL).`,
    });
  }
  return count;
};

/** Choice `index`'s seed: the request's plus the index, so that the choices differ and a request repeats. Without a seed each gets a random one. */
export const choiceSeed = (seed: number | undefined, index: number): number | undefined => (seed === undefined ? undefined : seed + index);

/**
 * Runs `count` generations at once; the first to fail stops the others and
 * fails the request.
 */
export const runChoices = async (
  count: number,
  signal: AbortSignal,
  run: (index: number, signal: AbortSignal) => Promise<GenerationResult>,
): Promise<GenerationResult[]> => {
  if (count === 1) return [await run(0, signal)];
  const stop = new AbortController();
  const each = AbortSignal.any([signal, stop.signal]);
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      run(index, each).catch((error: unknown) => {
        stop.abort(error);
        throw error;
      }),
    ),
  );
};

/** The choices as one result for the metrics: the first's model and speed, the usage of all. */
export const asOneResult = (results: readonly GenerationResult[] | undefined): GenerationResult | undefined =>
  results?.length ? { ...results[0]!, usage: sumUsage(results) } : undefined;
