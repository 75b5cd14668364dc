/**
 * `word` with its indefinite article, as it is said: `an asr`, `an llm`,
 * `an embedding`, `a tts`, `a vad`. An initialism (a first word with no
 * vowel) that starts with a letter named with a vowel sound (ef, aitch, el,
 * em, en, ar, es, ex) takes "an": `an lstm encoder`, but `a streaming model`.
 */
export const withArticle = (word: string): string => {
  const first = word.split(/[\s-]/)[0] ?? '';
  const an = /^[aeiou]/i.test(first) || /^[fhlmnrsx][^aeiouy]*$/i.test(first);
  return `${an ? 'an' : 'a'} ${word}`;
};
