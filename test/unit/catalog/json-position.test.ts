import { describe, expect, it } from 'vitest';
import { findJsonErrorOffset, jsonErrorOffset, positionAt } from '../../../src/catalog/json-position.js';

const parseError = (text: string): unknown => {
  try {
    JSON.parse(text);
  } catch (error) {
    return error;
  }
  throw new Error(`valid JSON: ${text}`);
};

describe('positionAt', () => {
  it('counts lines and columns from 1', () => {
    expect(positionAt('abc', 0)).toEqual({ line: 1, column: 1 });
    expect(positionAt('ab\ncd\r\nef', 7)).toEqual({ line: 3, column: 1 });
    expect(positionAt('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(positionAt('ab', 99)).toEqual({ line: 1, column: 3 });
  });
});

describe('the JSON error scanner', () => {
  const invalid = ['{"a": x}', '{"a":1,}', '{"a":1', '', '[1,2', '{"a":"x\n"}', '{a:1}', '{"a":1}}', '[01]', '{"a":"\\q"}', '[tru]', '{"a" 1}', '[1 2]', '"\\u12g4"', '[-]', '[1.]', '[1e+]', '[-x]', '"\\u0"'];

  it('agrees with JSON.parse about what is valid', () => {
    for (const text of invalid) expect(findJsonErrorOffset(text), text).toBeTypeOf('number');
    for (const text of ['{}', '[]', ' {"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]} ', '"x"', '0']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(findJsonErrorOffset(text), text).toBeUndefined();
    }
  });

  it('matches the position V8 reports wherever V8 reports one', () => {
    for (const text of invalid) {
      const match = /at position (\d+)/.exec((parseError(text) as Error).message);
      if (match) expect(findJsonErrorOffset(text), text).toBe(Number(match[1]));
    }
  });

  it('uses the message position, the end, or the scanner', () => {
    const text = '{\n  "a": 1\n  "b": 2\n}';
    expect(positionAt(text, jsonErrorOffset(text, parseError(text)))).toEqual({ line: 3, column: 3 });
    expect(jsonErrorOffset('{"a":', parseError('{"a":'))).toBe(5);
    const unexpected = '[\n  1,\n  @\n]';
    expect(positionAt(unexpected, jsonErrorOffset(unexpected, parseError(unexpected)))).toEqual({ line: 3, column: 3 });
  });
});
