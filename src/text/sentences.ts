/**
 * Sentence splitting so speech can be synthesized, and heard, sentence by
 * sentence. Heuristic and language-light: it knows common English
 * abbreviations, numbers and versions, ellipses, closing quotes and
 * brackets, ?!-runs and CJK full stops, and it cuts overlong sentences at
 * the best pause it can find.
 *
 * Newlines: in `splitSentences` a blank line ends a sentence and a single
 * newline is a space (hard-wrapped prose reads on). In the streaming
 * `createSentenceSplitter` every line end ends a sentence, because text
 * piped line by line (`tail -f log | murmur speak`, chat output) rarely has
 * a full stop at each line end and should be spoken as each line arrives.
 */

/** Longest sentence handed to synthesis, in characters; longer ones are cut. */
export const MAX_SENTENCE_CHARS = 300;

/** Abbreviations after which a full stop never ends a sentence (titles, "e.g."). */
const NEVER_FINAL = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'no', 'nos', 'fig', 'figs', 'vs', 'cf', 'e.g', 'i.e', 'u.s', 'u.k', 'u.s.a', 'approx', 'dept', 'gen', 'gov', 'sen', 'rep', 'rev', 'capt', 'col', 'lt', 'sgt', 'vol', 'ch', 'pp', 'p']);
/** Abbreviations that end a sentence only when a capitalised word follows ("… etc. Then"). */
const MAYBE_FINAL = new Set(['etc', 'a.m', 'p.m', 'inc', 'ltd', 'co', 'corp', 'al', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec']);

const ASCII_STOPS = '.!?…';
const CJK_STOPS = '。！？｡';
const CLOSERS = '"\'”’»)]}」』》）】〉';

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/u.test(c);
const isUpperStart = (c: string | undefined): boolean => c !== undefined && /[\p{Lu}\p{Lt}\d"'“‘(\[]/u.test(c);
const hasWords = (s: string): boolean => /[\p{L}\p{N}]/u.test(s);

/** The word before `dot` (letters and inner dots), lower-cased: "U.S" for "U.S.". */
const wordBefore = (text: string, dot: number): string => {
  let start = dot;
  while (start > 0 && /[\p{L}.]/u.test(text[start - 1])) start--;
  return text.slice(start, dot).replace(/^\.+/, '').toLowerCase();
};

/**
 * End offsets (exclusive) of the sentences in `text`. With `final` false the
 * text may continue, so a stop whose next word has not arrived yet is not
 * yet a boundary (it could be "Dr." or "3." of "3.14").
 */
const boundaries = (text: string, final: boolean): number[] => {
  const ends: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      // A blank line (only whitespace between two newlines) ends a paragraph.
      let j = i + 1;
      while (j < text.length && text[j] !== '\n' && isSpace(text[j])) j++;
      if (text[j] === '\n') ends.push(i);
      i = j;
      continue;
    }
    const cjk = CJK_STOPS.includes(c);
    if (!cjk && !ASCII_STOPS.includes(c)) {
      i++;
      continue;
    }
    // Take the whole run of stops (?!, ..., 。」) and the closers after it.
    let end = i;
    while (end < text.length && (ASCII_STOPS.includes(text[end]) || CJK_STOPS.includes(text[end]))) end++;
    const stops = text.slice(i, end);
    const dot = i;
    while (end < text.length && CLOSERS.includes(text[end])) end++;
    i = end;
    let next = end;
    while (next < text.length && isSpace(text[next])) next++;
    const following = text[next];
    if (following === undefined && !final) continue; // the next word decides; wait for it
    if (!cjk && end < text.length && !isSpace(text[end])) continue; // 3.14, v1.2.3, e.g.x, "?!" mid-word
    const closed = end > dot + stops.length;
    if (closed && following !== undefined && /\p{Ll}/u.test(following)) continue; // “Stop!” she cried.
    if (stops === '.') {
      const word = wordBefore(text, dot);
      if (NEVER_FINAL.has(word)) continue;
      if (MAYBE_FINAL.has(word) && !isUpperStart(following)) continue;
      if (word.length === 1 && /\p{Lu}/u.test(text[dot - 1])) continue; // initials: J. R. R. Tolkien
    } else if (/^(\.\.|…)/.test(stops) && following !== undefined && !isUpperStart(following)) {
      continue; // an ellipsis mid-sentence: "wait… what"
    }
    ends.push(end);
  }
  return ends;
};

/** Cuts a too-long sentence at the best pause before `max`: ; : , — then a space, else mid-word. */
const cutLong = (sentence: string, max: number): string[] => {
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const floor = Math.floor(max / 3); // a cut too early makes tiny fragments
    let cut = -1;
    for (const marks of [/[;:]\s/gu, /[,—–]\s/gu, /\s/gu]) {
      for (const m of window.matchAll(marks)) if (m.index! >= floor) cut = m.index! + m[0].length - 1;
      if (cut > 0) break;
    }
    if (cut <= 0) cut = max - 1;
    parts.push(rest.slice(0, cut + 1).trim());
    rest = rest.slice(cut + 1).trimStart();
  }
  if (rest.trim()) parts.push(rest.trim());
  return parts.filter(hasWords);
};

const collapse = (s: string): string => s.replace(/\s+/gu, ' ').trim();

const piecesOf = (text: string, ends: number[], max: number): string[] => {
  const out: string[] = [];
  let start = 0;
  for (const end of [...ends, text.length]) {
    const sentence = collapse(text.slice(start, end));
    start = end;
    if (hasWords(sentence)) out.push(...cutLong(sentence, max));
  }
  return out;
};

/**
 * Splits text into sentences, trimmed, whitespace collapsed, none longer
 * than `max` characters (default 300); pieces without a letter or digit
 * (a lone "..." or "—") are dropped.
 */
export const splitSentences = (text: string, max = MAX_SENTENCE_CHARS): string[] =>
  piecesOf(text, boundaries(text, true), max);

/**
 * Where a long first sentence may be cut so speech starts sooner: at a
 * clause mark (, ; : —) followed by more words, at least this many
 * characters in.
 */
export const FIRST_CLAUSE_MIN_CHARS = 40;

/** The first clause mark at or past `min` characters that more words follow: the cut goes after it. */
const clauseCut = (collapsed: string, min: number): number => {
  const re = /[,;:—–](?= \S)/gu;
  re.lastIndex = Math.max(0, min - 1);
  const m = re.exec(collapsed);
  return m ? m.index + 1 : -1;
};

/**
 * A text's first sentence cut after its first clause when that comes at
 * least `min` characters in (the rest of the sentence follows as a piece
 * of its own); other sentences are left whole. What a speech session does
 * to the start of its text, so one-shot speech of the same text says the
 * same pieces.
 */
export const splitFirstClause = (sentences: readonly string[], min = FIRST_CLAUSE_MIN_CHARS): string[] => {
  const [head, ...rest] = sentences;
  if (head === undefined) return [];
  const cut = clauseCut(head, min);
  return cut < 0 ? [...sentences] : [head.slice(0, cut), head.slice(cut).trim(), ...rest];
};

export interface SentenceSplitter {
  /** Adds text (any size: tokens, lines); returns the sentences now complete. */
  push(text: string): string[];
  /** The text still held, as sentences (end of input). */
  flush(): string[];
  /**
   * Releases the held text up to its first clause mark at least `min`
   * characters in, once more words follow it (see splitFirstClause), or
   * undefined when there is none yet.
   */
  takeClause(min?: number): string | undefined;
  /**
   * The held text when it ends a sentence by the rules for a finished text
   * ("Sure." with nothing after it yet), for a session to speak once no
   * more text has come for a moment; empty otherwise. A stop after a digit
   * waits ("3." may become "3.14").
   */
  settle(): string[];
}

/**
 * A splitter for text that arrives piece by piece. A sentence is released
 * once the text after it shows it is over; every line end releases what
 * came before it (see the module's note on newlines); a sentence that grows
 * past `max` characters is released in cut pieces without waiting.
 */
export const createSentenceSplitter = (max = MAX_SENTENCE_CHARS): SentenceSplitter => {
  let held = '';
  return {
    push(text) {
      held += text;
      const out: string[] = [];
      const lineEnd = held.lastIndexOf('\n');
      if (lineEnd >= 0) {
        for (const line of held.slice(0, lineEnd).split('\n')) out.push(...splitSentences(line, max));
        held = held.slice(lineEnd + 1);
      }
      const ends = boundaries(held, false);
      if (ends.length) {
        const last = ends[ends.length - 1];
        out.push(...piecesOf(held.slice(0, last), ends.slice(0, -1), max));
        held = held.slice(last);
      }
      if (held.length > max) {
        const pieces = cutLong(collapse(held), max);
        // Keep the last piece: more of its sentence may still come.
        const keep = pieces.pop() ?? '';
        out.push(...pieces);
        held = keep + (/\s$/u.test(held) ? ' ' : '');
      }
      return out;
    },
    flush() {
      const out = splitSentences(held, max);
      held = '';
      return out;
    },
    settle() {
      const text = held.trimEnd();
      const ends = boundaries(text, true);
      if (!text || ends.at(-1) !== text.length || /\d[.…]+["'”’»)\]}]*$/u.test(text)) return [];
      const out = splitSentences(held, max);
      held = '';
      return out;
    },
    takeClause(min = FIRST_CLAUSE_MIN_CHARS) {
      const collapsed = collapse(held);
      const cut = clauseCut(collapsed, min);
      if (cut < 0) return undefined;
      // Find where the collapsed cut falls in the raw text (runs of whitespace count once, leading ones not at all).
      let seen = 0;
      let raw = 0;
      let space = true;
      for (; raw < held.length && seen < cut; raw++) {
        const blank = isSpace(held[raw]);
        if (!blank || !space) seen += 1;
        space = blank;
      }
      const clause = collapsed.slice(0, cut);
      held = held.slice(raw);
      return clause;
    },
  };
};
