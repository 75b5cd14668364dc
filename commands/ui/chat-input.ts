/**
 * The chat prompt's input buffer: text with a cursor, edited by pure
 * functions. Lines are separated by '\n'; the cursor is an offset into text.
 */
export interface InputBuffer {
  readonly text: string;
  readonly cursor: number;
}

export const emptyInput: InputBuffer = { text: '', cursor: 0 };

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** Inserts `value` at the cursor (pasted text may hold newlines; '\r\n' and '\r' become '\n'). */
export const insertText = (buffer: InputBuffer, value: string): InputBuffer => {
  const clean = value.replace(/\r\n?/g, '\n');
  const text = buffer.text.slice(0, buffer.cursor) + clean + buffer.text.slice(buffer.cursor);
  return { text, cursor: buffer.cursor + clean.length };
};

export const deleteBackward = (buffer: InputBuffer): InputBuffer => {
  if (buffer.cursor === 0) return buffer;
  const text = buffer.text.slice(0, buffer.cursor - 1) + buffer.text.slice(buffer.cursor);
  return { text, cursor: buffer.cursor - 1 };
};

/** Deletes the character under the cursor (Delete, or Ctrl-D on a line with text, as readline does). */
export const deleteForward = (buffer: InputBuffer): InputBuffer =>
  buffer.cursor >= buffer.text.length ? buffer : { ...buffer, text: buffer.text.slice(0, buffer.cursor) + buffer.text.slice(buffer.cursor + 1) };

/** Deletes the word before the cursor (Ctrl-W). */
export const deleteWordBackward = (buffer: InputBuffer): InputBuffer => {
  const before = buffer.text.slice(0, buffer.cursor);
  const start = before.replace(/\S+\s*$/, '').length;
  return { text: buffer.text.slice(0, start) + buffer.text.slice(buffer.cursor), cursor: start };
};

export const moveCursor = (buffer: InputBuffer, delta: number): InputBuffer => ({
  ...buffer,
  cursor: clamp(buffer.cursor + delta, 0, buffer.text.length),
});

/** The cursor's line and column. */
export const cursorPosition = (buffer: InputBuffer): { line: number; column: number } => {
  const before = buffer.text.slice(0, buffer.cursor).split('\n');
  return { line: before.length - 1, column: before[before.length - 1].length };
};

const lineStart = (lines: string[], line: number) => lines.slice(0, line).reduce((sum, l) => sum + l.length + 1, 0);

/** Moves to the start (Ctrl-A, Home) or end (Ctrl-E, End) of the current line. */
export const moveToLineEdge = (buffer: InputBuffer, edge: 'start' | 'end'): InputBuffer => {
  const lines = buffer.text.split('\n');
  const { line } = cursorPosition(buffer);
  const start = lineStart(lines, line);
  return { ...buffer, cursor: edge === 'start' ? start : start + lines[line].length };
};

/**
 * Moves the cursor one line up (-1) or down (+1), keeping the column where
 * the target line is long enough. Returns undefined when there is no such
 * line, so the caller can recall history instead.
 */
export const moveLine = (buffer: InputBuffer, delta: -1 | 1): InputBuffer | undefined => {
  const lines = buffer.text.split('\n');
  const { line, column } = cursorPosition(buffer);
  const target = line + delta;
  if (target < 0 || target >= lines.length) return undefined;
  return { ...buffer, cursor: lineStart(lines, target) + Math.min(column, lines[target].length) };
};

/**
 * Enter on a line ending with a backslash: the backslash becomes a newline
 * (the way shells continue a line). Returns undefined when the text before
 * the cursor does not end with one.
 */
export const continueLine = (buffer: InputBuffer): InputBuffer | undefined => {
  const before = buffer.text.slice(0, buffer.cursor);
  if (!before.endsWith('\\')) return undefined;
  return { text: `${before.slice(0, -1)}\n${buffer.text.slice(buffer.cursor)}`, cursor: buffer.cursor };
};

/** A buffer holding `text` with the cursor at its end (history recall). */
export const inputOf = (text: string): InputBuffer => ({ text, cursor: text.length });
