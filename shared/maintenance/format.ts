/** Wording helpers for the steps' summaries (the job's one-line record). */

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `n` to at most `digits` decimals, trailing zeros dropped. */
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
