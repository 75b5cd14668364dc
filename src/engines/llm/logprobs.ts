import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { AppError } from '../../errors.js';
import type { TokenChoice, TokenLogprob } from '../../types/chat.js';

/**
 * Token log probabilities for a generation (OpenAI's `logprobs`), from what
 * the sampler drew each token from (type imports only: nothing native is
 * loaded here).
 *
 * Why patch the sequence: LlamaChat and LlamaCompletion take no option for
 * probabilities, but both draw every token through `sequence.evaluate`,
 * which is `evaluateWithMetadata` without metadata. For the one request that
 * has borrowed the sequence, `evaluate` is replaced by the same loop asking
 * for the token's probability (and the whole distribution when alternatives
 * are wanted), so nothing else about the generation changes. The tokens the
 * reply is made of (onToken, in order) are then matched to the tokens drawn:
 * drawn tokens that never reach the reply (an end-of-text token, a stop
 * trigger, a thought) are skipped. Should node-llama-cpp stop drawing through
 * `evaluate`, nothing matches and the request fails rather than report
 * made-up numbers.
 */

interface Drawn {
  readonly token: Token;
  readonly probability?: number;
  /** The likeliest tokens at its place with their probabilities, most likely first (only `top` of them are kept). */
  readonly alternatives: readonly (readonly [Token, number])[];
}

export interface LogprobRecorder {
  /** A chunk's tokens (node-llama-cpp's onToken, called just before onTextChunk with the same chunk's text). */
  tokens(tokens: readonly Token[]): void;
  /**
   * The chunk's text: returns the log probabilities of the tokens not yet
   * reported once there is text to carry them (a chunk without text hands
   * its tokens on to the next).
   */
  text(text: string): TokenLogprob[] | undefined;
  /** Every token of the reply so far. */
  readonly all: readonly TokenLogprob[];
  /** Forgets the reply so far (a reply made again). */
  reset(): void;
  /** Throws if a token of the reply was never drawn (once the generation is over). */
  check(): void;
  /** Puts the sequence's own `evaluate` back (before the sequence is given back; safe twice). */
  restore(): void;
}

/** OpenAI's stand-in for a probability of 0 (whose log JSON cannot carry). */
const LOG_ZERO = -9999;
const toLogprob = (p: number | undefined): number => (p !== undefined && p > 0 ? Math.log(p) : LOG_ZERO);
const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')];
/** Tokens of context for detokenizing one token (leading spaces depend on what came before). */
const CONTEXT = 8;

/**
 * Splits a chunk's text among its tokens: each gets the text it adds, a
 * token that only begins a character gets '' and the one that completes it
 * gets the character, so the pieces always join to the chunk's text.
 */
const splitChunk = (model: LlamaModel, tokens: readonly Token[], text: string, context: readonly Token[]): string[] => {
  if (tokens.length <= 1) return [text];
  const pieces: string[] = [];
  let done = '';
  for (let i = 0; i < tokens.length - 1; i++) {
    const upTo = model.detokenize(tokens.slice(0, i + 1), false, context);
    if (upTo.startsWith(done) && text.startsWith(upTo) && !upTo.endsWith('\uFFFD')) {
      pieces.push(upTo.slice(done.length));
      done = upTo;
    } else pieces.push('');
  }
  pieces.push(text.slice(done.length));
  return pieces;
};

/**
 * Starts recording on `sequence` (borrowed by this request alone) with `top`
 * alternatives per token; `promptTokens` give the first tokens their context.
 */
export const recordLogprobs = (sequence: LlamaContextSequence, model: LlamaModel, top: number, promptTokens: readonly Token[]): LogprobRecorder => {
  // Drawn and not yet matched to the reply; a match drops it and those before it.
  const drawn: Drawn[] = [];
  let missed = 0;
  let pending: readonly Token[] = [];
  const unsent: TokenLogprob[] = [];
  const all: TokenLogprob[] = [];
  const history: Token[] = promptTokens.slice(-CONTEXT);
  const metadata = top > 0 ? ({ confidence: true, probabilities: true } as const) : ({ confidence: true } as const);

  const evaluate: LlamaContextSequence['evaluate'] = async function* (tokens, options) {
    const iterator = sequence.evaluateWithMetadata(tokens, metadata, options);
    let input: void | Token | Token[] = undefined;
    try {
      for (;;) {
        const step = await iterator.next(input);
        if (step.done) return;
        const { token, confidence, probabilities } = step.value as { token: Token; confidence?: number; probabilities?: ReadonlyMap<Token, number> };
        const alternatives: (readonly [Token, number])[] = [];
        // The whole vocabulary's probabilities come at temperature 0: only the top few are kept.
        if (probabilities) for (const pair of probabilities) if (alternatives.push(pair) >= top) break;
        drawn.push({ token, probability: confidence ?? probabilities?.get(token), alternatives });
        input = yield token;
      }
    } finally {
      await iterator.return();
    }
  };
  Object.defineProperty(sequence, 'evaluate', { value: evaluate, configurable: true, writable: true });

  const find = (token: Token): Drawn | undefined => {
    const at = drawn.findIndex((d) => d.token === token);
    if (at < 0) return undefined;
    return drawn.splice(0, at + 1)[at];
  };

  const alternatives = (entry: Drawn, context: readonly Token[]): TokenChoice[] =>
    entry.alternatives.map(([token, p]) => {
      const text = model.detokenize([token], false, context);
      return { token: text, logprob: toLogprob(p), bytes: utf8(text) };
    });

  return {
    tokens(tokens) {
      pending = tokens;
    },
    text(text) {
      const tokens = pending;
      pending = [];
      const pieces = splitChunk(model, tokens, text, history.slice(-CONTEXT));
      tokens.forEach((token, i) => {
        const entry = find(token);
        const context = history.slice(-CONTEXT);
        history.push(token);
        if (history.length > 4 * CONTEXT) history.splice(0, history.length - CONTEXT);
        if (!entry) {
          missed += 1;
          return;
        }
        const piece = pieces[i]!;
        const item: TokenLogprob = {
          token: piece,
          logprob: toLogprob(entry.probability),
          bytes: utf8(piece),
          top: alternatives(entry, context),
        };
        all.push(item);
        unsent.push(item);
      });
      if (!text || !unsent.length) return undefined;
      return unsent.splice(0);
    },
    all,
    reset() {
      drawn.length = 0;
      missed = 0;
      pending = [];
      unsent.length = 0;
      all.length = 0;
      history.splice(0, history.length, ...promptTokens.slice(-CONTEXT));
    },
    restore() {
      delete (sequence as { evaluate?: unknown }).evaluate;
    },
    check() {
      if (missed) {
        throw new AppError('internal', `${missed} token(s) of the reply were not drawn where murmur reads their probabilities.`, {
          hint: 'This node-llama-cpp may have changed how it samples; ask without logprobs.',
          param: 'logprobs',
        });
      }
    },
  };
};
