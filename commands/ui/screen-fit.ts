/**
 * Keeping the chat's redrawn part (the reply being streamed, the input, the
 * notice) shorter than the terminal. ink repaints a part that fills the
 * screen by clearing the terminal and replaying everything it ever printed:
 * after a resize that replays the conversation once per width it was drawn
 * at (ghost copies), and the repaint is one line short, so the line above
 * the prompt (a reply's tokens/s) is erased by the next redraw.
 */

/** Columns a code point takes: 2 for East Asian wide and emoji, 0 for combining marks, else 1. */
const charWidth = (code: number): number => {
  if (code < 0x300) return 1;
  if ((code >= 0x300 && code <= 0x36f) || (code >= 0x200b && code <= 0x200f) || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) return 2;
  return 1;
};

/** Columns a string takes on a terminal. */
export const textWidth = (text: string): number => {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
};

/**
 * The rows one line (no '\n') takes when wrapped at words to `width`
 * columns, a word wider than a row broken across rows (as ink wraps Text).
 */
const wrapLine = (line: string, width: number): string[] => {
  const rows: string[] = [];
  let row = '';
  let used = 0;
  for (const word of line.split(' ')) {
    let rest = word;
    let restWidth = textWidth(rest);
    // The word and the space before it fit on this row.
    if (used && used + 1 + restWidth <= width) {
      row += ` ${rest}`;
      used += 1 + restWidth;
      continue;
    }
    if (used) rows.push(row);
    [row, used] = ['', 0];
    while (restWidth > width) {
      let cut = '';
      let cutWidth = 0;
      for (const char of rest) {
        const w = charWidth(char.codePointAt(0)!);
        if (cutWidth + w > width) break;
        cut += char;
        cutWidth += w;
      }
      rows.push(cut);
      rest = rest.slice(cut.length);
      restWidth -= cutWidth;
    }
    [row, used] = [rest, restWidth];
  }
  rows.push(row);
  return rows;
};

/** The rows a text takes when wrapped at words to `width` columns (an empty text takes one). */
export const wrapRows = (text: string, width: number): string[] => text.split('\n').flatMap((line) => wrapLine(line, Math.max(1, width)));

/** The end of `text` that fits in `maxRows` rows of `width` columns, already wrapped; the whole text when it fits. */
export const tailRows = (text: string, width: number, maxRows: number): { text: string; clipped: boolean } => {
  const rows = wrapRows(text, width);
  if (rows.length <= maxRows) return { text, clipped: false };
  return { text: rows.slice(rows.length - Math.max(0, maxRows)).join('\n'), clipped: true };
};

/**
 * Which input lines to draw (`from` up to `to`, exclusive) so that they take
 * at most `maxRows` rows at `width` columns: all when they fit, else a
 * window that holds the cursor's line, reaching down from it first.
 */
export const inputWindow = (lines: readonly string[], cursorLine: number, width: number, maxRows: number): { from: number; to: number } => {
  const heights = lines.map((line) => wrapLine(line, Math.max(1, width)).length);
  if (heights.reduce((a, b) => a + b, 0) <= maxRows) return { from: 0, to: lines.length };
  let [from, to, used] = [cursorLine, cursorLine + 1, heights[cursorLine] ?? 1];
  for (;;) {
    if (to < lines.length && used + heights[to]! <= maxRows) used += heights[to++]!;
    else if (from > 0 && used + heights[from - 1]! <= maxRows) used += heights[--from]!;
    else return { from, to };
  }
};

/**
 * For one input line too tall for `maxRows` rows: the part to draw
 * (`from` up to `to`, exclusive), as much as fits ending just after the
 * cursor at `at`, with `marker` (drawn before it) counted in.
 */
export const lineWindow = (line: string, at: number, width: number, maxRows: number, marker = ''): { from: number; to: number } => {
  const to = Math.min(line.length, at + 1);
  const fits = (from: number) => wrapLine(marker + line.slice(from, to) + (at >= line.length ? ' ' : ''), Math.max(1, width)).length <= maxRows;
  // Wrapping at words grows with the text, so the first start that fits is found by halving.
  let [low, high] = [0, to];
  while (low < high) {
    const mid = (low + high) >> 1;
    if (fits(mid)) high = mid;
    else low = mid + 1;
  }
  return { from: low, to };
};

/** One input line as drawn: its text (or the end of it), and the cursor's offset in it when it is there. */
export interface InputRow {
  readonly text: string;
  readonly cursor?: number;
  /** The first line drawn, which carries the prompt marker. */
  readonly first: boolean;
  /** Text before it is not drawn (shown as '…'). */
  readonly clipped: boolean;
}

/**
 * The input lines to draw for `text` with the cursor at `cursor`, each
 * wrapped to `width` columns, in at most `maxRows` rows (no limit when
 * undefined), and the rows they take.
 */
export const inputView = (text: string, cursor: number, width: number, maxRows?: number): { lines: InputRow[]; rows: number } => {
  const lines = text.split('\n');
  const starts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += line.length + 1;
  }
  const cursorLine = Math.max(0, starts.findLastIndex((start) => start <= cursor));
  const row = (index: number, from = 0, to = lines[index]!.length): InputRow => {
    const at = cursor - starts[index]!;
    const line = lines[index]!.slice(from, to);
    return { text: line, cursor: index === cursorLine ? at - from : undefined, first: false, clipped: from > 0 };
  };
  if (maxRows === undefined) {
    const all = lines.map((_, index) => ({ ...row(index), first: index === 0 }));
    return { lines: all, rows: all.reduce((sum, line) => sum + wrapRows(line.text, width).length, 0) };
  }
  const { from, to } = inputWindow(lines, cursorLine, width, Math.max(1, maxRows));
  let shown = lines.slice(from, to).map((_, i) => row(from + i));
  // One line taller than the room: the part of it that ends at the cursor.
  if (to - from === 1 && wrapLine(lines[from]!, Math.max(1, width)).length > maxRows) {
    const window = lineWindow(lines[from]!, cursor - starts[from]!, width, Math.max(1, maxRows), '…');
    shown = [row(from, window.from, window.to)];
  }
  shown[0] = { ...shown[0]!, first: true };
  const height = shown.reduce((sum, line) => sum + wrapRows(`${line.clipped ? '…' : ''}${line.text}${line.cursor === line.text.length ? ' ' : ''}`, width).length, 0);
  return { lines: shown, rows: height };
};
