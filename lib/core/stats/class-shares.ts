import jstatModule from 'jstat';

const { jStat } = jstatModule;

/** Fewest expected answers a cell of the table may have; smaller cells are pooled (the chi-square rule of thumb). */
export const MIN_EXPECTED_PER_CELL = 5;

/** What {@link compareClassShares} says about two versions' answers over the same window. */
export interface ClassShareComparison {
  /** `differ`: the shares differ significantly; `same`: no significant difference; `undecided`: too few answers. */
  readonly verdict: 'differ' | 'same' | 'undecided';
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** The classes (pooled where small) and each version's count of them. */
  readonly cells: readonly {
    readonly classes: string;
    readonly stable: number;
    readonly candidate: number;
  }[];
}

/**
 * Compares the classes the candidate answered with the stable version's over the same window: Pearson's
 * chi-square test of homogeneity on the 2 x K table, with classes whose expected count is under
 * {@link MIN_EXPECTED_PER_CELL} pooled into one cell, so the test holds on small samples (the chi-square CDF is
 * jstat's). Unpaired: the two versions answered different requests, split at random by the alias.
 *
 * Evaluated once per step, at its end, not on every tick: a fixed-sample test re-run every few requests would
 * reject a healthy candidate far more often than alpha.
 *
 * @example
 * compareClassShares({ setosa: 50, versicolor: 50 }, { setosa: 5, versicolor: 45 }, 0.01).verdict; // 'differ'
 */
export function compareClassShares(
  stable: Readonly<Record<string, number>>,
  candidate: Readonly<Record<string, number>>,
  alpha: number,
): ClassShareComparison {
  const classes = [...new Set([...Object.keys(stable), ...Object.keys(candidate)])];
  const stableTotal = sum(classes.map((name) => stable[name] ?? 0));
  const candidateTotal = sum(classes.map((name) => candidate[name] ?? 0));
  const total = stableTotal + candidateTotal;
  const undecided = (cells: ClassShareComparison['cells']): ClassShareComparison => ({
    verdict: 'undecided',
    statistic: 0,
    degreesOfFreedom: 0,
    pValue: 1,
    cells,
  });
  if (stableTotal === 0 || candidateTotal === 0) return undecided([]);
  // Smallest classes first into the pool, until every cell expects at least the minimum from both versions.
  const sorted = classes
    .map((name) => ({ classes: name, stable: stable[name] ?? 0, candidate: candidate[name] ?? 0 }))
    .sort((a, b) => a.stable + a.candidate - (b.stable + b.candidate));
  const smallerTotal = Math.min(stableTotal, candidateTotal);
  const cells: { classes: string; stable: number; candidate: number }[] = [];
  let pool = { classes: '', stable: 0, candidate: 0 };
  for (const cell of sorted) {
    if (((cell.stable + cell.candidate) * smallerTotal) / total >= MIN_EXPECTED_PER_CELL) {
      cells.push(cell);
      continue;
    }
    pool = {
      classes: pool.classes ? `${pool.classes}+${cell.classes}` : cell.classes,
      stable: pool.stable + cell.stable,
      candidate: pool.candidate + cell.candidate,
    };
    if (((pool.stable + pool.candidate) * smallerTotal) / total >= MIN_EXPECTED_PER_CELL) {
      cells.push(pool);
      pool = { classes: '', stable: 0, candidate: 0 };
    }
  }
  // What is left in the pool is too small on its own: it joins the smallest cell kept.
  if (pool.stable + pool.candidate > 0) {
    const smallest = cells[0];
    if (!smallest) return undecided([pool]);
    cells[0] = {
      classes: `${smallest.classes}+${pool.classes}`,
      stable: smallest.stable + pool.stable,
      candidate: smallest.candidate + pool.candidate,
    };
  }
  if (cells.length < 2) return undecided(cells);
  let statistic = 0;
  for (const cell of cells) {
    const column = cell.stable + cell.candidate;
    for (const [observed, rowTotal] of [
      [cell.stable, stableTotal],
      [cell.candidate, candidateTotal],
    ] as const) {
      const expected = (column * rowTotal) / total;
      statistic += (observed - expected) ** 2 / expected;
    }
  }
  const degreesOfFreedom = cells.length - 1;
  const pValue = 1 - jStat.chisquare.cdf(statistic, degreesOfFreedom);
  return { verdict: pValue < alpha ? 'differ' : 'same', statistic, degreesOfFreedom, pValue, cells };
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
