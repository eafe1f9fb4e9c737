/**
 * Fewest answers a drift figure is computed on. The population stability index is noisy on small windows (with 10
 * cells it is above 0.1 in about 40 % of windows of 100 answers that did not drift at all), so on fewer answers
 * than this no figure is given rather than a misleading one.
 */
export const MIN_DRIFT_ANSWERS = 500;

/**
 * Population stability above which a shift is commonly read as large: what `sluice status` flags and the drift
 * alarm's default threshold.
 */
export const LARGE_DRIFT_PSI = 0.25;

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

/**
 * One version's answered classes (or one numeric output's values per bin), tallied in consecutive windows of
 * `windowAnswers` answers: {@link add} returns
 * the window's population stability against the baseline once it is full, and starts the next. The same figure
 * locally (one process) and on Lambda (each sandbox its own windows, a random share of the traffic, as the alias
 * and Lambda spread requests): a window of its own is never too small to judge, and no clock is needed.
 *
 * @example
 * const tally = new DriftTally(manifest.reference.classes);
 * const psi = tally.add({ setosa: 1 }); // undefined until 500 answers are in
 */
export class DriftTally {
  readonly #baseline: Readonly<Record<string, number>>;
  readonly #windowAnswers: number;
  #counts: Record<string, number> = {};
  #answers = 0;

  constructor(baseline: Readonly<Record<string, number>>, windowAnswers: number = MIN_DRIFT_ANSWERS) {
    this.#baseline = baseline;
    this.#windowAnswers = windowAnswers;
  }

  /**
   * Adds one answer's counts (rows per class, or values per bin); the window's figure when this fills it, undefined
   * otherwise. `answers` is what the answer counts towards the window: by default its counts (a class tally counts
   * rows), 1 for a request's sampled values, whose window is 500 requests however many values each gave.
   */
  add(counts: Readonly<Record<string, number>>, answers?: number): number | undefined {
    let total = 0;
    for (const [name, count] of Object.entries(counts)) {
      this.#counts[name] = (this.#counts[name] ?? 0) + count;
      total += count;
    }
    this.#answers += answers ?? total;
    if (this.#answers < this.#windowAnswers) return undefined;
    const psi = populationStability(this.#baseline, this.#counts, this.#windowAnswers);
    this.#counts = {};
    this.#answers = 0;
    return psi;
  }
}

/**
 * The drift tallies of every version one process serves, one per output (the class output's classes, a numeric
 * output's binned values), and each one's latest figure: what serving adds answers to and what `sluice status`
 * reads (locally, from the stack's own).
 *
 * @example
 * const tallies = new DriftTallies();
 * tallies.add('iris', 3, 'label', manifest.reference.classes, { '0': 1 }); // a figure once 500 are in
 * tallies.figures('iris'); // { '3': { label: 0.02 } }
 */
export class DriftTallies {
  /**
   * By model, version and output: nested maps, found without building a key per answer (as `EmfDocuments` finds
   * its prefixes).
   */
  readonly #tallies = new Map<string, Map<number, Map<string, { tally: DriftTally; latest?: number }>>>();

  /** Adds one answer's counts (classes, or values per bin) to the tally of the version's output; the window's figure when this fills it. */
  add(
    model: string,
    version: number,
    output: string,
    baseline: Readonly<Record<string, number>>,
    counts: Readonly<Record<string, number>>,
    kind: 'classes' | 'values' = 'classes',
  ): number | undefined {
    let versions = this.#tallies.get(model);
    if (!versions) {
      versions = new Map();
      this.#tallies.set(model, versions);
    }
    let outputs = versions.get(version);
    if (!outputs) {
      outputs = new Map();
      versions.set(version, outputs);
    }
    let entry = outputs.get(output);
    if (!entry) {
      entry = { tally: new DriftTally(baseline) };
      outputs.set(output, entry);
    }
    // A class tally's window counts rows; a numeric output's, requests (its values are sampled per request).
    const psi = entry.tally.add(counts, kind === 'values' ? 1 : undefined);
    if (psi !== undefined) entry.latest = psi;
    return psi;
  }

  /** The latest figure of each output of each version of `model` that filled a window (version -> output -> PSI). */
  figures(model: string): Record<string, Record<string, number>> {
    const figures: Record<string, Record<string, number>> = {};
    for (const [version, outputs] of this.#tallies.get(model) ?? []) {
      for (const [output, { latest }] of outputs) {
        if (latest === undefined) continue;
        const ofVersion = figures[String(version)] ?? {};
        ofVersion[output] = latest;
        figures[String(version)] = ofVersion;
      }
    }
    return figures;
  }
}
