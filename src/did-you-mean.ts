/**
 * "Did you mean …?" for a mistyped flag, command, option or environment
 * variable: the known name nearest by edit distance, if it is near enough to
 * be a typo.
 */

/**
 * Edit distance between `a` and `b`, case-insensitive, counting a swap of
 * two neighbours as one edit (optimal string alignment): `strat` is one
 * edit from `start`.
 */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  const rows: number[][] = [Array.from({ length: right.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= left.length; i++) {
    const row = [i];
    for (let j = 1; j <= right.length; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      let best = Math.min((rows[i - 1] as number[])[j] + 1, (row[j - 1] as number) + 1, (rows[i - 1] as number[])[j - 1] + cost);
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) best = Math.min(best, (rows[i - 2] as number[])[j - 2] + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[left.length] as number[])[right.length] as number;
}

/**
 * The candidate nearest to `name`, when it is within a third of `name`'s
 * length (at least 1, at most 3 edits): `--wokers` → `--workers`, but
 * `--x` suggests nothing.
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
