import type { GoldenExample, ReferenceItem } from '../manifest/ModelManifest.js';
import { answerClasses } from '../stats/answer-classes.js';
import { compareAnswers } from '../stats/compare-answers.js';
import { ORT_TYPE_BY_DATATYPE } from '../tensor/datatypes.js';
import { nestedDims } from '../tensor/nested-dims.js';
import type { OutputTensor, TensorValues } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import type { ActualOutput } from './compare-golden-outputs.js';
import type { GoldenTransport } from './run-golden-check.js';

/** What a replay of reference sets through two versions found. */
export interface ReplayResult {
  /** Reference items replayed. */
  readonly items: number;
  /** Answer rows compared (an item's request may have several rows). */
  readonly compared: number;
  /** Rows the candidate answered otherwise than the stable version (its failures to answer included). */
  readonly disagreed: number;
  /** Items with an expected class, and how many rows of them each version got right. */
  readonly accuracy?: { readonly rows: number; readonly candidate: number; readonly stable: number };
}

/** What {@link replayReference} takes. */
export interface ReplayInput {
  /** The reference items of both versions (whichever have a set). */
  readonly items: readonly ReferenceItem[];
  /** How an item reaches each version: in-process sessions locally, Lambda Invoke on AWS. */
  readonly stable: GoldenTransport;
  readonly candidate: GoldenTransport;
  /** The stable version's outputs: what is compared. */
  readonly outputs: readonly TensorSpec[];
  /** The stable version's labels, to read expected classes given by label. */
  readonly labels?: readonly string[];
  readonly numericTolerance: number;
}

/**
 * Replays reference items through the stable version and the candidate and compares the answers row by row, as
 * the shadow phase compares live answers, and, for items with an expected class, each version's accuracy. Works
 * with no traffic at all. An item either version cannot answer counts as disagreeing on every row.
 *
 * @example
 * const result = await replayReference({ items, stable, candidate, outputs: manifest.outputs, numericTolerance: 1e-3 });
 */
export async function replayReference(input: ReplayInput): Promise<ReplayResult> {
  let compared = 0;
  let disagreed = 0;
  let expectedRows = 0;
  let candidateRight = 0;
  let stableRight = 0;
  for (const [index, item] of input.items.entries()) {
    // Every output is asked for: an example's outputs name what the transports fetch.
    const example: GoldenExample = {
      inputs: item.inputs,
      outputs: input.outputs.map((spec) => ({ name: spec.name, shape: [], data: [] })),
      tolerance: 0,
    };
    const id = `sluice-replay-${index + 1}`;
    const stable = await answer(input.stable, example, id, input.outputs);
    const candidate = await answer(input.candidate, example, id, input.outputs);
    if (!stable) continue;
    const comparison = compareAnswers(stable, candidate ?? {}, input.outputs, input.numericTolerance);
    compared += comparison.rows;
    disagreed += comparison.disagreements;
    if (item.expected !== undefined) {
      const wanted =
        typeof item.expected === 'number'
          ? (input.labels?.[item.expected] ?? String(item.expected))
          : item.expected;
      const rows = comparison.rows;
      expectedRows += rows;
      stableRight += answerClasses(stable, input.outputs, input.labels)[wanted] ?? 0;
      candidateRight += candidate ? (answerClasses(candidate, input.outputs, input.labels)[wanted] ?? 0) : 0;
    }
  }
  return {
    items: input.items.length,
    compared,
    disagreed,
    ...(expectedRows > 0
      ? { accuracy: { rows: expectedRows, candidate: candidateRight, stable: stableRight } }
      : {}),
  };
}

/** One version's answer to an item as comparable tensors; undefined when it gave none. */
async function answer(
  transport: GoldenTransport,
  example: GoldenExample,
  id: string,
  specs: readonly TensorSpec[],
): Promise<Record<string, OutputTensor> | undefined> {
  try {
    const { outputs } = await transport.infer(example, id);
    return comparable(outputs, specs);
  } catch {
    return undefined;
  }
}

/** Outputs as a transport gives them (flat or nested values) as tensors of the specs' types, dims read off the nesting. */
function comparable(
  outputs: readonly ActualOutput[],
  specs: readonly TensorSpec[],
): Record<string, OutputTensor> {
  const tensors: Record<string, OutputTensor> = {};
  for (const spec of specs) {
    const output = outputs.find((candidate) => candidate.name === spec.name);
    if (!output) continue;
    const shape = (output as { shape?: readonly number[] }).shape;
    const dims = shape ?? nestedDims(output.data);
    const data = Array.isArray(output.data) ? output.data.flat(Number.POSITIVE_INFINITY) : [output.data];
    tensors[spec.name] = {
      type: ORT_TYPE_BY_DATATYPE[spec.datatype],
      data: data as unknown as TensorValues,
      dims,
    };
  }
  return tensors;
}
