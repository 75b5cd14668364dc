/** One column of a table that may have to fit a terminal. */
export interface FitColumn {
  readonly header: string;
  /** The smallest width it may be cut to (with `…`); absent: never cut. */
  readonly minWidth?: number;
  /** Columns with a rank are dropped, lowest rank first, when cutting is not enough; absent: always kept. */
  readonly dropRank?: number;
  /** How a cell is cut to `width` (default: its start and `…`); e.g. whole list items only. */
  readonly shorten?: (text: string, width: number) => string;
}

const cut = (text: string, width: number): string => (text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text);

/** A `, `-separated list cut to the items that fit whole (`qwen3` of `qwen3, qwen`); an item that alone is too long is cut with `…`. */
export const shortenList = (text: string, width: number): string => {
  if (text.length <= width) return text;
  let kept = '';
  for (const item of text.split(', ')) {
    const next = kept ? `${kept}, ${item}` : item;
    if (next.length > width) break;
    kept = next;
  }
  return kept || cut(text, width);
};

const GAP = 2;


/**
 * Left-aligned columns separated by two spaces, with a header row, made to
 * fit `width` characters: the columns with a `minWidth` are cut first (the
 * last one first), then whole columns are dropped by `dropRank`. Without a
 * width (not a terminal, or `--wide`) every row is printed in full.
 * Trailing spaces are trimmed; a row that still cannot fit is left to wrap.
 */
export const fitTable = (columns: readonly FitColumn[], rows: readonly (readonly string[])[], width?: number): string => {
  let kept = columns.map((_, i) => i);
  const natural = (i: number) => Math.max(columns[i]!.header.length, ...rows.map((r) => (r[i] ?? '').length));
  let widths = new Map(kept.map((i) => [i, natural(i)]));
  const total = () => kept.reduce((sum, i) => sum + widths.get(i)!, 0) + GAP * Math.max(0, kept.length - 1);
  if (width !== undefined) {
    for (;;) {
      widths = new Map(kept.map((i) => [i, natural(i)]));
      for (const i of [...kept].reverse()) {
        const min = columns[i]!.minWidth;
        const over = total() - width;
        if (min === undefined || over <= 0) continue;
        widths.set(i, Math.max(min, Math.max(columns[i]!.header.length, widths.get(i)! - over)));
      }
      if (total() <= width) break;
      const droppable = kept.filter((i) => columns[i]!.dropRank !== undefined);
      if (!droppable.length) break;
      const drop = droppable.reduce((a, b) => (columns[b]!.dropRank! < columns[a]!.dropRank! ? b : a));
      kept = kept.filter((i) => i !== drop);
    }
  }
  const line = (cells: readonly string[]) =>
    kept.map((i) => (columns[i]!.shorten ?? cut)(cells[i] ?? '', widths.get(i)!).padEnd(widths.get(i)!)).join(' '.repeat(GAP)).trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
};
