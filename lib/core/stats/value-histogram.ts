import { FLOAT_DATATYPES } from '../tensor/datatypes.js';
import type { OutputTensor } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import { classOutputOf } from './answer-classes.js';

/** Bins of a numeric output's drift histogram: its deciles over the reference set's answers. */
export const DRIFT_BINS = 10;

/**
 * Rows of one answer whose values its drift tally takes (evenly spaced through the batch), and positions within
 * each row (evenly spaced through the row, the same positions whatever the batch size): at most 32 values an
 * answer, a bounded cost however large the output (a 1024 x 1024 mask is a million values), and the same features
 * for a 1-row reference item and a 32-row live request.
 */
export const DRIFT_ROWS_PER_ANSWER = 8;
/** Positions sampled within each row; see {@link DRIFT_ROWS_PER_ANSWER}. */
export const DRIFT_VALUES_PER_ROW = 4;
/** Most values one answer adds to a drift tally. */
export const MAX_DRIFT_VALUES_PER_ANSWER = DRIFT_ROWS_PER_ANSWER * DRIFT_VALUES_PER_ROW;

/**
 * Fewest values a reference set must give an output for its histogram. The baseline's own sampling error adds
 * about (bins - 1) / n to every window's population stability (0.09 at 100 values, 0.045 at 200), so below this
 * every live window would sit near the "moderate shift" mark for no reason. Outputs with fewer get no baseline.
 */
export const MIN_BASELINE_VALUES = 200;

/** A numeric output's baseline: the inner bin edges (ascending, at most `DRIFT_BINS - 1`) and the values per bin. */
export interface ValueHistogram {
  /** Bin `i` holds values `< edges[i]` and `>= edges[i - 1]`; the last bin holds the rest. */
  readonly edges: readonly number[];
  /** Values per bin: `edges.length + 1` of them. */
  readonly counts: readonly number[];
}

/**
 * The outputs whose values drift is measured on: the float outputs other than the class output (whose classes are
 * counted instead, see `classOutputOf`): regression values, embeddings, masks, scores of a model with no classes.
 *
 * @example
 * numericOutputsOf(manifest.outputs).map((spec) => spec.name); // ['price']
 */
export function numericOutputsOf(specs: readonly TensorSpec[]): TensorSpec[] {
  const classOutput = classOutputOf(specs);
  return specs.filter((spec) => FLOAT_DATATYPES.has(spec.datatype) && spec.name !== classOutput?.name);
}

/**
 * The finite values a drift tally takes of a tensor: up to {@link DRIFT_ROWS_PER_ANSWER} rows (the first
 * dimension), evenly spaced, and in each the same {@link DRIFT_VALUES_PER_ROW} positions, evenly spaced through the
 * row: which features are sampled depends on the row's width only, never on how many rows the request had.
 *
 * @example
 * sampleValues(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]); // [1, 2, 3, 4, 5, 6]
 */
export function sampleValues(data: ArrayLike<number | bigint>, dims: readonly number[]): number[] {
  const values: number[] = [];
  forEachSample(data, dims, (value) => {
    values.push(value);
  });
  return values;
}

/**
 * Calls `visit` with each value {@link sampleValues} samples, in its order, without building the list: what every
 * answer's drift counts read (no array per answer).
 */
function forEachSample(
  data: ArrayLike<number | bigint>,
  dims: readonly number[],
  visit: (value: number) => void,
): void {
  const rows = Math.max(1, dims.length > 1 ? (dims[0] ?? 1) : 1);
  const width = Math.floor(data.length / rows);
  if (width === 0) return;
  const rowCount = Math.min(rows, DRIFT_ROWS_PER_ANSWER);
  const positionCount = Math.min(width, DRIFT_VALUES_PER_ROW);
  for (let rowIndex = 0; rowIndex < rowCount; rowIndex++) {
    const row = evenlyAt(rowIndex, rows, DRIFT_ROWS_PER_ANSWER);
    for (let positionIndex = 0; positionIndex < positionCount; positionIndex++) {
      const value = Number(data[row * width + evenlyAt(positionIndex, width, DRIFT_VALUES_PER_ROW)]);
      if (Number.isFinite(value)) visit(value);
    }
  }
}

/** The `index`-th of up to `count` indices in [0, length), evenly spaced (every index when there are no more). */
function evenlyAt(index: number, length: number, count: number): number {
  return length <= count ? index : Math.floor((index * length) / count);
}

/**
 * The baseline histogram of a numeric output from its values over the reference set: edges at the deciles (equal
 * counts per bin, so every bin has evidence), repeated edges merged (an output that takes few values gets fewer
 * bins). Undefined on fewer than `minValues` finite values ({@link MIN_BASELINE_VALUES}).
 *
 * @example
 * valueHistogram([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10, 10)?.edges; // [2, 3, 4, 5, 6, 7, 8, 9, 10]
 */
export function valueHistogram(
  values: readonly number[],
  bins: number = DRIFT_BINS,
  minValues: number = MIN_BASELINE_VALUES,
): ValueHistogram | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length < minValues) return undefined;
  const edges: number[] = [];
  for (let bin = 1; bin < bins; bin++) {
    const edge = sorted[Math.floor((bin * sorted.length) / bins)] as number;
    // An edge equal to the smallest value would leave its bin empty by construction.
    if (edge > (sorted[0] as number) && edge !== edges.at(-1)) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of sorted) counts[binOf(edges, value)]++;
  return { edges, counts };
}

/**
 * The bin of `value` among `edges` (binary search): the number of edges at or below it.
 *
 * @example
 * binOf([2, 5], 1); // 0
 * binOf([2, 5], 5); // 2
 */
export function binOf(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (value >= (edges[middle] as number)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * One answer's sampled values of an output, counted per bin of its baseline (keys are bin indices): what a drift
 * tally adds, as it adds an answer's classes.
 *
 * @example
 * binnedValues(outputs.price, baseline.outputs.price); // { '3': 1 }
 */
export function binnedValues(
  tensor: OutputTensor | undefined,
  histogram: ValueHistogram,
): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!tensor) return counts;
  forEachSample(tensor.data as ArrayLike<number | bigint>, tensor.dims, (value) => {
    const bin = binOf(histogram.edges, value);
    counts[bin] = (counts[bin] ?? 0) + 1;
  });
  return counts;
}

/** Baselines already keyed, per histogram (a manifest's, which lives as long as the cached manifest). */
const baselines = new WeakMap<ValueHistogram, Readonly<Record<string, number>>>();

/** A histogram's counts keyed by bin index, as a drift tally's baseline; built once per histogram. */
export function histogramBaseline(histogram: ValueHistogram): Readonly<Record<string, number>> {
  let baseline = baselines.get(histogram);
  if (!baseline) {
    baseline = Object.fromEntries(histogram.counts.map((count, bin) => [String(bin), count]));
    baselines.set(histogram, baseline);
  }
  return baseline;
}
