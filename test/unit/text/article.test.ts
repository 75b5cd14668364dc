import { describe, expect, it } from 'vitest';
import { withArticle } from '../../../src/text/article.js';

describe('withArticle', () => {
  it('says "an" where the word starts with a vowel sound, model kinds included', () => {
    expect(['llm', 'embedding', 'tts', 'asr', 'vad'].map(withArticle)).toEqual(['an llm', 'an embedding', 'a tts', 'an asr', 'a vad']);
    expect(withArticle('lstm encoder')).toBe('an lstm encoder');
    expect(withArticle('zipformer2 encoder')).toBe('a zipformer2 encoder');
    expect(withArticle('model')).toBe('a model');
    expect(withArticle('streaming transducer')).toBe('a streaming transducer');
  });
});
