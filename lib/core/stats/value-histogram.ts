import { FLOAT_DATATYPES } from '../tensor/datatypes.js';
import type { OutputTensor } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import { classOutputOf } from './answer-classes.js';

/** Bins of a numeric output's drift histogram: its deciles over the reference set's answers. */
export const DRIFT_BINS = 10;

/**
 * Values of one answer's output that its drift tally takes, evenly spaced through the tensor: enough to follow a
 * distribution, and a bounded cost per request however large the output (a 1024 x 1024 mask is a million values).
 */
export const MAX_DRIFT_VALUES_PER_ANSWER = 32;

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
 * Up to `max` finite values of a tensor, evenly spaced through it (all of them when it has no more).
 *
 * @example
 * sampleValues(new Float32Array([1, 2, 3, 4]), 2); // [1, 3]
 */
export function sampleValues(
  data: ArrayLike<number | bigint>,
  max: number = MAX_DRIFT_VALUES_PER_ANSWER,
): number[] {
  const step = Math.max(1, data.length / max);
  const values: number[] = [];
  for (let position = 0; position < data.length && values.length < max; position += step) {
    const value = Number(data[Math.floor(position)]);
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

/**
 * The baseline histogram of a numeric output from its values over the reference set: edges at the deciles (equal
 * counts per bin, so every bin has evidence), repeated edges merged (an output that takes few values gets fewer
 * bins). Undefined on no finite value.
 *
 * @example
 * valueHistogram([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])?.edges; // [2, 3, 4, 5, 6, 7, 8, 9, 10]
 */
export function valueHistogram(
  values: readonly number[],
  bins: number = DRIFT_BINS,
): ValueHistogram | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
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
  for (const value of sampleValues(tensor.data as ArrayLike<number | bigint>)) {
    const bin = String(binOf(histogram.edges, value));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

/** A histogram's counts keyed by bin index, as a drift tally's baseline. */
export function histogramBaseline(histogram: ValueHistogram): Record<string, number> {
  return Object.fromEntries(histogram.counts.map((count, bin) => [String(bin), count]));
}
