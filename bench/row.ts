/** What every row of `npm run bench` is, and the helpers its row functions share. */
import { performance } from 'node:perf_hooks';

/** `BENCH_QUICK=1`: fewer runs per row, for a look rather than a figure. */
export const quick = process.env.BENCH_QUICK === '1';

/** One line of the report: a ratio against a reference measured in the same run, and its target. */
export interface Row {
  readonly name: string;
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

export /** Milliseconds of the fastest of `runs` calls of `work`, after one warm-up call. */
function fastestMs(work: () => unknown, runs: number): number {
  work();
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    work();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

export /** A ratio row; a negative target means "at most", a positive one "at least". */
function ratioRow(name: string, ratio: number, target: number, detail: string): Row {
  const atMost = target < 0;
  const bound = Math.abs(target);
  return {
    name,
    ratio,
    target: `${atMost ? '<=' : '>='} ${bound}`,
    met: atMost ? ratio <= bound : ratio >= bound,
    detail,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function fmt(value: number): string {
  return value.toFixed(0);
}
