/** A unicode sparkline: one block character per column, oldest on the left. */

const BLOCKS = ['\u2581', '\u2582', '\u2583', '\u2584', '\u2585', '\u2586', '\u2587', '\u2588'] as const;

/** The columns `values` fill: each the average of its share of the values, null when it holds none. */
function columns(values: ReadonlyArray<number | null>, width: number): Array<number | null> {
  if (values.length <= width) return [...values];
  const out: Array<number | null> = [];
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * values.length) / width);
    const to = Math.floor(((c + 1) * values.length) / width);
    const present = values.slice(from, to).filter((v): v is number => v !== null);
    out.push(present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length);
  }
  return out;
}

/**
 * `values` in at most `width` columns (a column averages the values it stands for), scaled from 0
 * (or the lowest value, when one is negative) to the highest. A null, or a column with no value, is
 * a space: the gap shows. Fewer values than columns give a shorter line, never a stretched one.
 */
export function sparkline(values: ReadonlyArray<number | null>, width = 40): string {
  const cols = columns(values, Math.max(1, Math.floor(width)));
  const present = cols.filter((v): v is number => v !== null);
  if (present.length === 0) return ' '.repeat(cols.length);
  const low = Math.min(0, ...present);
  const span = Math.max(...present) - low;
  return cols
    .map((v) => {
      if (v === null) return ' ';
      const level = span === 0 ? 0 : Math.round(((v - low) / span) * (BLOCKS.length - 1));
      return BLOCKS[level] ?? BLOCKS[0];
    })
    .join('');
}
