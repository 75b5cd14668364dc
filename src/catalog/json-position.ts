/**
 * Where a JSON syntax error sits, as line:column, for messages users can act
 * on. Node 20's JSON.parse says "at position N" for most errors but not all
 * ("Unexpected token 'x', … is not valid JSON" has none), so a small scanner
 * finds the offset when the message does not carry it.
 */

export interface TextPosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
}

/** The 1-based line and column of a 0-based offset into `text`. */
export const positionAt = (text: string, offset: number): TextPosition => {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
};

/** The offset of the first syntax error in `text`, or undefined when it is valid JSON. */
export const findJsonErrorOffset = (text: string): number | undefined => {
  let i = 0;
  const fail = (at: number): never => {
    throw new ScanError(at);
  };
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[i] !== char) fail(i);
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail(i);
      const char = text[i]!;
      if (char === '"') return void i++;
      if (char.charCodeAt(0) < 0x20) fail(i);
      if (char === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          for (let h = i + 2; h < i + 6; h++) if (!/[0-9a-fA-F]/.test(text[h] ?? '')) fail(h);
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) fail(i + 1);
        i += 2;
        continue;
      }
      i++;
    }
  };
  const isDigit = () => text[i] !== undefined && text[i]! >= '0' && text[i]! <= '9';
  const digits = () => {
    if (!isDigit()) fail(i);
    while (isDigit()) i++;
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    skipSpace();
    const char = text[i];
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return number();
    fail(i);
  };
  const object = () => {
    i++;
    skipSpace();
    if (text[i] === '}') return void i++;
    for (;;) {
      skipSpace();
      if (text[i] !== '"') fail(i);
      string();
      skipSpace();
      if (text[i] !== ':') fail(i);
      i++;
      value();
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') return void i++;
      fail(i);
    }
  };
  const array = () => {
    i++;
    skipSpace();
    if (text[i] === ']') return void i++;
    for (;;) {
      value();
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') return void i++;
      fail(i);
    }
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fail(i);
    return undefined;
  } catch (error) {
    if (error instanceof ScanError) return error.offset;
    throw error;
  }
};

class ScanError extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

/**
 * The offset a JSON.parse error points at: the "at position N" in its
 * message, the end of the text for "Unexpected end of JSON input", or the
 * scanner's answer otherwise.
 */
export const jsonErrorOffset = (text: string, error: unknown): number => {
  const message = error instanceof Error ? error.message : String(error);
  const match = /at position (\d+)/.exec(message);
  if (match) return Number(match[1]);
  if (/end of JSON input/i.test(message)) return text.length;
  return findJsonErrorOffset(text) ?? 0;
};
