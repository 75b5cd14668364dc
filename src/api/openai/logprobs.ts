import type { TokenChoice, TokenLogprob } from '../../types/chat.js';
import type { DeepPartial } from './wire.js';

/*
 * Token log probabilities in OpenAI's two shapes, both ways: chat's
 * `logprobs.content[] {token, logprob, bytes, top_logprobs[]}` and the
 * legacy completions' `logprobs {tokens, token_logprobs, top_logprobs,
 * text_offset}`, whole or a stream chunk's share, and read back into core
 * values (RemoteRuntime).
 */

export interface TokenChoiceBody {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[] | null;
}

export interface ChatTokenLogprobBody extends TokenChoiceBody {
  readonly top_logprobs: readonly TokenChoiceBody[];
}

/** A chat choice's `logprobs`. */
export interface ChatLogprobsBody {
  readonly content: readonly ChatTokenLogprobBody[] | null;
  readonly refusal: null;
}

/** A text completion choice's `logprobs`. */
export interface CompletionLogprobsBody {
  readonly tokens: readonly string[];
  readonly token_logprobs: readonly number[];
  /** The alternatives at each place, token → logprob (most likely first); null when none were asked for. */
  readonly top_logprobs: readonly Readonly<Record<string, number>>[] | null;
  /** Where each token starts in the choice's text, in characters. */
  readonly text_offset: readonly number[];
}

/** Alternatives as token → logprob, most likely first; of two spelt alike the likelier stays (a JSON object has one of each key). */
const topRecord = (top: readonly TokenChoice[]): Record<string, number> => {
  const record: Record<string, number> = {};
  for (const c of top) if (!Object.hasOwn(record, c.token)) record[c.token] = c.logprob;
  return record;
};

const toChoiceBody = (c: TokenChoice): TokenChoiceBody => ({ token: c.token, logprob: c.logprob, bytes: [...c.bytes] });

export const toChatLogprobs = (logprobs: readonly TokenLogprob[]): ChatLogprobsBody => ({
  content: logprobs.map((t) => ({ ...toChoiceBody(t), top_logprobs: t.top.map(toChoiceBody) })),
  refusal: null,
});

/**
 * The completions shape for some tokens; `offset` is where the first of them
 * starts in the choice's text (a stream chunk's tokens start where the text
 * streamed so far ends). `withTop`: alternatives were asked for (logprobs > 0).
 */
export const toCompletionLogprobs = (logprobs: readonly TokenLogprob[], offset = 0, withTop = true): CompletionLogprobsBody => {
  const text_offset: number[] = [];
  let at = offset;
  for (const t of logprobs) {
    text_offset.push(at);
    at += t.token.length;
  }
  return {
    tokens: logprobs.map((t) => t.token),
    token_logprobs: logprobs.map((t) => t.logprob),
    top_logprobs: withTop ? logprobs.map((t) => topRecord(t.top)) : null,
    text_offset,
  };
};

const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')];

const fromChoiceBody = (c: DeepPartial<TokenChoiceBody> | null | undefined): TokenChoice => {
  const token = c?.token ?? '';
  return { token, logprob: c?.logprob ?? 0, bytes: c?.bytes ? c.bytes.map((b) => b ?? 0) : utf8(token) };
};

/** A chat choice's `logprobs` as core values; undefined when the body has none. */
export const fromChatLogprobs = (body: DeepPartial<ChatLogprobsBody> | null | undefined): TokenLogprob[] | undefined =>
  body?.content ? body.content.map((t) => ({ ...fromChoiceBody(t), top: (t?.top_logprobs ?? []).map(fromChoiceBody) })) : undefined;

/** A text completion choice's `logprobs` as core values; undefined when the body has none. */
export const fromCompletionLogprobs = (body: DeepPartial<CompletionLogprobsBody> | null | undefined): TokenLogprob[] | undefined => {
  if (!body?.tokens) return undefined;
  return body.tokens.map((raw, i) => {
    const token = raw ?? '';
    const top = Object.entries(body.top_logprobs?.[i] ?? {})
      .map(([t, logprob]) => ({ token: t, logprob: logprob ?? 0, bytes: utf8(t) }))
      .sort((a, b) => b.logprob - a.logprob);
    return { token, logprob: body.token_logprobs?.[i] ?? 0, bytes: utf8(token), top };
  });
};
