import { describe, expect, it } from 'vitest';
import { inputView, tailRows, textWidth, wrapRows } from '../../commands/ui/screen-fit.js';

describe('screen-fit', () => {
  it('wraps at words, breaks a word wider than a row, and counts wide characters as two columns', () => {
    expect(wrapRows('the quick brown fox', 10)).toEqual(['the quick', 'brown fox']);
    expect(wrapRows('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
    expect(wrapRows('one\n\ntwo', 10)).toEqual(['one', '', 'two']);
    expect(textWidth('日本語')).toBe(6);
    expect(wrapRows('日本語です', 4)).toEqual(['日本', '語で', 'す']);
  });

  it('keeps the end of a text that does not fit', () => {
    expect(tailRows('a b c d e f', 3, 2)).toEqual({ text: 'c d\ne f', clipped: true });
    expect(tailRows('short', 10, 2)).toEqual({ text: 'short', clipped: false });
  });

  it('draws the input lines around the cursor when they would not fit', () => {
    const text = ['one', 'two', 'three', 'four', 'five'].join('\n');
    const all = inputView(text, text.length, 20);
    expect(all.lines.map((l) => l.text)).toEqual(['one', 'two', 'three', 'four', 'five']);
    const end = inputView(text, text.length, 20, 2);
    expect(end.lines.map((l) => l.text)).toEqual(['four', 'five']);
    expect(end.lines[0]!.first).toBe(true);
    expect(end.lines[1]!.cursor).toBe(4);
    expect(inputView(text, 0, 20, 2).lines.map((l) => l.text)).toEqual(['one', 'two']);
  });

  it('draws the end of one line too tall for the room, up to the cursor', () => {
    const line = 'word '.repeat(40).trim();
    const view = inputView(line, line.length, 20, 3);
    expect(view.rows).toBeLessThanOrEqual(3);
    expect(view.lines).toHaveLength(1);
    expect(view.lines[0]!.clipped).toBe(true);
    expect(line.endsWith(view.lines[0]!.text)).toBe(true);
    expect(view.lines[0]!.cursor).toBe(view.lines[0]!.text.length);
  });
});
