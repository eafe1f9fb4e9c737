import { FLOAT_DATATYPES } from '../tensor/datatypes.js';
import type { OutputTensor } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';

/** Relative tolerance of numeric outputs when the config gives none: |a - b| <= 1e-3 * max(1, |b|) agrees. */
export const DEFAULT_NUMERIC_TOLERANCE = 1e-3;

/** How one output was compared. */
export type ComparisonKind =
  /** Labels, class indices, booleans, strings: equal or not. */
  | 'exact'
  /** Rows of class scores: the same top class or not. */
  | 'top-1'
  /** Other numbers: within the numeric tolerance or not. */
  | 'numeric';

/** One output of two answers to the same request, compared row by row. */
export interface OutputComparison {
  readonly output: string;
  readonly kind: ComparisonKind;
  readonly rows: number;
  /** Rows whose values differ (beyond the tolerance, for numbers). */
  readonly disagreements: number;
  /** Largest |candidate - stable| of a float output's values (numeric or class scores; 0 for the exact kinds; NaN when not measured). */
  readonly maxAbsDifference: number;
  /**
   * Largest |candidate - stable| / max(1, |stable|) of a float output's values: the figure the numeric tolerance
   * bounds, whose distribution over the compared requests the shadow phase reports (0 for the exact kinds; NaN
   * when the candidate's output is missing or of another shape, so there is nothing to measure).
   */
  readonly maxRelativeDifference: number;
}

/** The distribution of one output's largest relative difference per compared request (or replayed item). */
export interface DifferenceFigures {
  /** Compared requests (or items) that gave the output. */
  readonly compared: number;
  readonly p50: number;
  readonly p99: number;
}

/** Two answers to one request, compared: a row disagrees when any of its compared outputs does. */
export interface AnswerComparison {
  readonly rows: number;
  readonly disagreements: number;
  readonly outputs: readonly OutputComparison[];
}

/**
 * Compares the candidate's answer to a request with the stable version's, per output and row (the first dimension):
 * labels, integers and strings must be equal, rows of class scores must have the same top class, other numbers
 * must agree within `numericTolerance * max(1, |stable|)`. An output missing on one side, or of another shape,
 * disagrees on every row.
 *
 * @example
 * compareAnswers(stableOutputs, candidateOutputs, manifest.outputs).disagreements; // 0 for an equivalent candidate
 */
export function compareAnswers(
  stable: Readonly<Record<string, OutputTensor>>,
  candidate: Readonly<Record<string, OutputTensor | undefined>>,
  specs: readonly TensorSpec[],
  numericTolerance: number = DEFAULT_NUMERIC_TOLERANCE,
): AnswerComparison {
  const outputs: OutputComparison[] = [];
  let rows = 0;
  const disagreeing = new Set<number>();
  for (const spec of specs) {
    const left = stable[spec.name];
    if (!left) continue;
    const right = candidate[spec.name];
    const kind = kindOf(spec);
    const count = left.dims.length === 0 ? 1 : (left.dims[0] as number);
    rows = Math.max(rows, count);
    const comparison = compareOutput(kind, left, right, count, numericTolerance);
    for (const row of comparison.rowsDiffering) disagreeing.add(row);
    outputs.push({
      output: spec.name,
      kind,
      rows: count,
      disagreements: comparison.rowsDiffering.length,
      maxAbsDifference: comparison.maxAbsDifference,
      maxRelativeDifference: comparison.maxRelativeDifference,
    });
  }
  return { rows, disagreements: disagreeing.size, outputs };
}

/**
 * What one compared request counts for in the agreement tests: the share of its rows that disagreed, 0 to 1. A
 * request is one observation whatever its batch size: the rows of one request agree or disagree together (one
 * client, one batch, one failed run), so counting them one by one would treat a 64-row batch as 64 independent
 * trials and roll a tolerable candidate back far more often than alpha. For one-row requests it is 0 or 1.
 *
 * @example
 * disagreementShare({ rows: 4, disagreements: 1 }); // 0.25
 */
export function disagreementShare(comparison: Pick<AnswerComparison, 'rows' | 'disagreements'>): number {
  return comparison.rows === 0 ? 0 : comparison.disagreements / comparison.rows;
}

function kindOf(spec: TensorSpec): ComparisonKind {
  if (!FLOAT_DATATYPES.has(spec.datatype)) return 'exact';
  const last = spec.shape.at(-1);
  return spec.shape.length >= 2 && last !== 1 ? 'top-1' : 'numeric';
}

function compareOutput(
  kind: ComparisonKind,
  left: OutputTensor,
  right: OutputTensor | undefined,
  rows: number,
  tolerance: number,
): { rowsDiffering: number[]; maxAbsDifference: number; maxRelativeDifference: number } {
  // Missing, or of another type or shape: every row disagrees, and there is no difference to measure (NaN, which
  // the difference figures skip: a 0 would read as "far below the tolerance").
  const everyRow = {
    rowsDiffering: Array.from({ length: rows }, (_, row) => row),
    maxAbsDifference: Number.NaN,
    maxRelativeDifference: Number.NaN,
  };
  if (!right || right.type !== left.type || right.dims.join() !== left.dims.join()) return everyRow;
  const a = left.data as ArrayLike<unknown>;
  const b = right.data as ArrayLike<unknown>;
  if (a.length !== b.length) return everyRow;
  const perRow = rows === 0 ? 0 : a.length / rows;
  const rowsDiffering: number[] = [];
  let maxAbsDifference = 0;
  let maxRelativeDifference = 0;
  if (kind !== 'exact') {
    for (let offset = 0; offset < a.length; offset++) {
      const x = Number(a[offset]);
      const difference = Math.abs(x - Number(b[offset]));
      if (Number.isNaN(difference)) continue;
      maxAbsDifference = Math.max(maxAbsDifference, difference);
      maxRelativeDifference = Math.max(maxRelativeDifference, difference / Math.max(1, Math.abs(x)));
    }
  }
  for (let row = 0; row < rows; row++) {
    const start = row * perRow;
    let differs = false;
    if (kind === 'top-1') {
      const width = left.dims.at(-1) as number;
      for (let offset = start; offset < start + perRow && !differs; offset += width) {
        differs = argmax(a, offset, width) !== argmax(b, offset, width);
      }
    } else if (kind === 'numeric') {
      for (let offset = start; offset < start + perRow; offset++) {
        const x = Number(a[offset]);
        const y = Number(b[offset]);
        const difference = Math.abs(x - y);
        // NaN agrees with NaN only; any other NaN difference is a disagreement.
        if (Number.isNaN(x) || Number.isNaN(y)) differs ||= !(Number.isNaN(x) && Number.isNaN(y));
        else if (difference > tolerance * Math.max(1, Math.abs(x))) differs = true;
      }
    } else {
      for (let offset = start; offset < start + perRow && !differs; offset++)
        differs = a[offset] !== b[offset];
    }
    if (differs) rowsDiffering.push(row);
  }
  return { rowsDiffering, maxAbsDifference, maxRelativeDifference };
}

function argmax(values: ArrayLike<unknown>, offset: number, width: number): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < width; index++) {
    const value = Number(values[offset + index]);
    if (value > bestValue) {
      bestValue = value;
      best = index;
    }
  }
  return best;
}
