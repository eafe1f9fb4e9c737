import type { GoldenTensor } from '../manifest/ModelManifest.js';
import { fromFloat16Bits, toFloat16Bits } from '../tensor/float16.js';

/** Most mismatches listed per check, so a badly broken model gives a readable report. */
export const MAX_GOLDEN_FAILURES_REPORTED = 10;

/** An output a model produced: its name and its data, flat or nested, as a session or a V2 response gives it. */
export interface ActualOutput {
  /** Output name. */
  readonly name: string;
  /** Values, flat or nested, row-major. */
  readonly data: unknown;
  /**
   * The output's V2 datatype, when known: FP32 and FP16 values are compared as that type (see
   * {@link compareGoldenOutputs}). @default compared as written
   */
  readonly datatype?: string;
}

/**
 * Rounds a number to the float type of an output: a V2 answer writes FP32 and FP16 values in their shortest text
 * that reads back as the same float (lib/core/tensor/float32-text.ts), which may lie up to half a unit of that type
 * from the value itself (4112 as a half is written 4110), so both sides are compared as that type.
 */
const AS_DATATYPE: Readonly<Record<string, (value: number) => number>> = {
  FP32: Math.fround,
  FP16: (value) => fromFloat16Bits(toFloat16Bits(value)),
};

/**
 * Spellings a golden example may use for non-finite floats. JSON has no NaN or Infinity, so a manifest
 * writes them as strings, and a V2 response writes them as `null` (see lib/tensor/encode-tensor.ts).
 */
const NON_FINITE_SPELLINGS: ReadonlySet<string> = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * Compares a golden example's expected outputs with what a model produced; one line per mismatching output.
 *
 * Numbers match within `tolerance * max(1, |expected|)`, FP32 and FP16 outputs as values of their type (both
 * sides rounded to it first, when the output's datatype is known); 64-bit integers (bigint on either side) and strings
 * match exactly by their decimal text; everything else by identity. Only the first mismatching index of each
 * output is reported. Pure: used for an in-process session and for a deployed function's HTTP answer alike.
 *
 * @example
 * compareGoldenOutputs(example.outputs, [{ name: 'label', data: [1] }], example.tolerance, 'example 1');
 * // ['example 1, output "label"[0]: expected 0, got 1']
 */
export function compareGoldenOutputs(
  expected: readonly GoldenTensor[],
  actual: readonly ActualOutput[],
  tolerance: number,
  label = 'example',
): string[] {
  const failures: string[] = [];
  for (const output of expected) {
    const produced = actual.find((candidate) => candidate.name === output.name);
    if (produced === undefined) {
      failures.push(`${label}, output "${output.name}": missing from the outputs`);
      continue;
    }
    const got = flatten(produced.data);
    const wanted = flatten(output.data);
    if (got.length !== wanted.length) {
      failures.push(`${label}, output "${output.name}": expected ${wanted.length} values, got ${got.length}`);
      continue;
    }
    const asType = produced.datatype === undefined ? undefined : AS_DATATYPE[produced.datatype];
    for (let at = 0; at < wanted.length; at++) {
      if (!matches(got[at], wanted[at], tolerance, asType)) {
        failures.push(
          `${label}, output "${output.name}"[${at}]: expected ${String(wanted[at])}, got ${String(got[at])}`,
        );
        break;
      }
    }
  }
  return failures;
}

function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
}

function matches(
  actual: unknown,
  expected: unknown,
  tolerance: number,
  asType: ((value: number) => number) | undefined,
): boolean {
  // Only a V2 response carries null for a float; an in-process tensor never does.
  if (actual === null && typeof expected === 'string' && NON_FINITE_SPELLINGS.has(expected)) return true;
  if (typeof actual === 'bigint' || typeof expected === 'bigint' || typeof expected === 'string') {
    return String(actual) === String(expected);
  }
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Number.isNaN(expected)) return Number.isNaN(actual);
    const [got, wanted] = asType ? [asType(actual), asType(expected)] : [actual, expected];
    return Math.abs(got - wanted) <= tolerance * Math.max(1, Math.abs(wanted));
  }
  return actual === expected;
}
