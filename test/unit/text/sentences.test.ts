import { describe, expect, it } from 'vitest';
import { createSentenceSplitter, MAX_SENTENCE_CHARS, splitFirstClause, splitSentences } from '../../../src/text/sentences.js';

const stream = (pieces: string[]): { early: string[][]; all: string[] } => {
  const splitter = createSentenceSplitter();
  const early = pieces.map((p) => splitter.push(p));
  return { early, all: [...early.flat(), ...splitter.flush()] };
};

describe('splitSentences', () => {
  it('splits plain sentences and trims them', () => {
    expect(splitSentences('  Hello there.  How are you? I am fine!  ')).toEqual(['Hello there.', 'How are you?', 'I am fine!']);
  });

  it('keeps abbreviations, initials and titles inside a sentence', () => {
    expect(splitSentences('Mr. Smith met Dr. Jones at 5 p.m. on Monday. They talked.')).toEqual(['Mr. Smith met Dr. Jones at 5 p.m. on Monday.', 'They talked.']);
    expect(splitSentences('Bring fruit, e.g. apples, i.e. red ones. Then go.')).toEqual(['Bring fruit, e.g. apples, i.e. red ones.', 'Then go.']);
    expect(splitSentences('The U.S. economy grew. J. R. R. Tolkien wrote it.')).toEqual(['The U.S. economy grew.', 'J. R. R. Tolkien wrote it.']);
    expect(splitSentences('We sell pens, paper, etc. and more. We also sell ink etc. Then we close.')).toEqual(['We sell pens, paper, etc. and more.', 'We also sell ink etc.', 'Then we close.']);
  });

  it('does not split numbers, versions or addresses', () => {
    expect(splitSentences('Pi is 3.14 roughly. Use v1.2.3 or node 20.20.2 from example.com now.')).toEqual(['Pi is 3.14 roughly.', 'Use v1.2.3 or node 20.20.2 from example.com now.']);
    expect(splitSentences('It costs $4.99. That is cheap.')).toEqual(['It costs $4.99.', 'That is cheap.']);
  });

  it('handles ellipses, ?! runs, quotes and brackets after the stop', () => {
    expect(splitSentences('Wait... what happened? Really?! Yes.')).toEqual(['Wait... what happened?', 'Really?!', 'Yes.']);
    expect(splitSentences('Well… Maybe not.')).toEqual(['Well…', 'Maybe not.']);
    expect(splitSentences("He said 'hi.' Then he left.")).toEqual(["He said 'hi.'", 'Then he left.']);
    expect(splitSentences('“Stop!” she cried. (It was late.) We ran.')).toEqual(['“Stop!” she cried.', '(It was late.)', 'We ran.']);
  });

  it('splits CJK punctuation without spaces', () => {
    expect(splitSentences('今天天气很好。我们去公园吧！你来吗？')).toEqual(['今天天气很好。', '我们去公园吧！', '你来吗？']);
    expect(splitSentences('「行こう。」と彼は言った。')).toEqual(['「行こう。」', 'と彼は言った。']);
  });

  it('treats a blank line as a sentence end and a single newline as a space', () => {
    expect(splitSentences('A heading\n\nThe text runs\nacross lines. Done')).toEqual(['A heading', 'The text runs across lines.', 'Done']);
  });

  it('drops pieces with nothing to say', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences('   \n\n  ')).toEqual([]);
    expect(splitSentences('... !!! Hello.')).toEqual(['Hello.']);
  });

  it('cuts very long sentences at sensible points below the limit', () => {
    const clause = 'the quick brown fox jumps over the lazy dog';
    const long = `${Array.from({ length: 12 }, () => clause).join(', ')}; and then it slept.`;
    const pieces = splitSentences(long);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(MAX_SENTENCE_CHARS);
    for (const p of pieces.slice(0, -1)) expect(p).toMatch(/[,;:]$/);
    expect(pieces.join(' ')).toBe(long);
    // No punctuation at all: cut at spaces, never mid-word.
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const cut = splitSentences(words, 100);
    for (const p of cut) expect(p.length).toBeLessThanOrEqual(100);
    expect(cut.join(' ')).toBe(words);
    // One enormous word: cut hard at the limit.
    expect(splitSentences('x'.repeat(250), 100).map((p) => p.length)).toEqual([100, 100, 50]);
  });
});

describe('createSentenceSplitter', () => {
  it('releases a sentence once the next one starts, whatever the chunking', () => {
    const text = 'Hello Mr. Smith. The price is 3.14 today! Is it? Yes.';
    const chars = stream([...text]);
    expect(chars.all).toEqual(splitSentences(text));
    // Not released while "Mr." or "3." could still continue.
    const upToMr = chars.early.slice(0, text.indexOf('Smith')).flat();
    expect(upToMr).toEqual([]);
    const words = stream(text.split(/(?<= )/));
    expect(words.all).toEqual(splitSentences(text));
    expect(words.early.flat()).toEqual(['Hello Mr. Smith.', 'The price is 3.14 today!', 'Is it?']);
  });

  it('ends a sentence at every line end (tail -f log | murmur speak)', () => {
    const { early, all } = stream(['server started on port 80', '80\n', 'request from 10.0.0.1\nerror: disk', ' full\n']);
    expect(early).toEqual([[], ['server started on port 8080'], ['request from 10.0.0.1'], ['error: disk full']]);
    expect(all).toEqual(['server started on port 8080', 'request from 10.0.0.1', 'error: disk full']);
  });

  it('flushes what is left and starts empty again', () => {
    const splitter = createSentenceSplitter();
    expect(splitter.push('No stop at the end')).toEqual([]);
    expect(splitter.flush()).toEqual(['No stop at the end']);
    expect(splitter.flush()).toEqual([]);
  });

  it('does not wait forever on a huge sentence', () => {
    const splitter = createSentenceSplitter(100);
    const out: string[] = [];
    for (let i = 0; i < 60; i++) out.push(...splitter.push(`word${i} `));
    expect(out.length).toBeGreaterThan(0);
    for (const p of out) expect(p.length).toBeLessThanOrEqual(100);
    const all = [...out, ...splitter.flush()];
    expect(all.join(' ')).toBe(Array.from({ length: 60 }, (_, i) => `word${i}`).join(' '));
  });

  it('splits CJK text as it streams', () => {
    expect(stream(['今天天气', '很好。我们', '去公园吧！']).all).toEqual(['今天天气很好。', '我们去公园吧！']);
  });
});

describe('the first clause of a long first sentence', () => {
  const text = 'When the morning train was late again that Tuesday, nobody on the platform seemed surprised. A man read, a child counted pigeons; the clock had stopped.';

  it('is cut off after the first clause mark 40 or more characters in, and only in the first sentence', () => {
    expect(splitFirstClause(splitSentences(text))).toEqual([
      'When the morning train was late again that Tuesday,',
      'nobody on the platform seemed surprised.',
      'A man read, a child counted pigeons; the clock had stopped.',
    ]);
    // A clause mark too early, or a short sentence, leaves it whole.
    expect(splitFirstClause(['Well, that was quick.'])).toEqual(['Well, that was quick.']);
    expect(splitFirstClause([])).toEqual([]);
  });

  it('comes out of a streaming splitter as soon as the next word shows, and the same pieces whatever the arrival', () => {
    const splitter = createSentenceSplitter();
    expect(splitter.push('When the morning train was late again that Tuesday,')).toEqual([]);
    expect(splitter.takeClause()).toBeUndefined();
    splitter.push('  no');
    expect(splitter.takeClause()).toBe('When the morning train was late again that Tuesday,');
    expect([...splitter.push('body on the platform seemed surprised. A'), ...splitter.flush()]).toEqual(['nobody on the platform seemed surprised.', 'A']);

    const oneShot = splitFirstClause(splitSentences(text));
    for (const size of [1, 3, 7, 16, 50, text.length]) {
      const s = createSentenceSplitter();
      const out: string[] = [];
      let first = true;
      for (let i = 0; i < text.length; i += size) {
        const released = s.push(text.slice(i, i + size));
        if (first && !released.length) {
          const clause = s.takeClause();
          if (clause) (out.push(clause), (first = false));
          continue;
        }
        out.push(...(first ? splitFirstClause(released) : released));
        if (released.length) first = false;
      }
      out.push(...s.flush());
      expect(out, `pieces of ${size}`).toEqual(oneShot);
    }
  });
});
