/**
 * Fewest answers a drift figure is computed on. The population stability index is noisy on small windows (with 10
 * cells it is above 0.1 in about 40 % of windows of 100 answers that did not drift at all), so on fewer answers
 * than this no figure is given rather than a misleading one.
 */
export const MIN_DRIFT_ANSWERS = 500;

/** Share given to a cell one side never saw, so the index stays finite. */
const EMPTY_CELL_SHARE = 1e-4;

/**
 * The population stability index of the classes a version answered (`current`) against its baseline (the classes it
 * gave its reference set at publish): sum over classes of (current share - baseline share) * ln(current / baseline).
 * Under 0.1 is commonly read as no shift, 0.1 to 0.25 as a moderate one, above 0.25 as a large one. Undefined on
 * fewer than `minAnswers` answers. A monitoring figure, not a gate: inputs may shift for reasons that are no fault of
 * the version.
 *
 * @example
 * populationStability({ a: 500, b: 500 }, { a: 900, b: 100 }); // ~0.88
 */
export function populationStability(
  baseline: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
  minAnswers: number = MIN_DRIFT_ANSWERS,
): number | undefined {
  const classes = [...new Set([...Object.keys(baseline), ...Object.keys(current)])];
  const total = (counts: Readonly<Record<string, number>>): number =>
    classes.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
  const baseTotal = total(baseline);
  const currentTotal = total(current);
  if (baseTotal === 0 || currentTotal < minAnswers) return undefined;
  let index = 0;
  for (const name of classes) {
    const expected = Math.max((baseline[name] ?? 0) / baseTotal, EMPTY_CELL_SHARE);
    const actual = Math.max((current[name] ?? 0) / currentTotal, EMPTY_CELL_SHARE);
    index += (actual - expected) * Math.log(actual / expected);
  }
  return index;
}
