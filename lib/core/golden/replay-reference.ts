import type { GoldenExample, ReferenceItem } from '../manifest/ModelManifest.js';
import { answerClasses } from '../stats/answer-classes.js';
import { compareAnswers, type DifferenceFigures } from '../stats/compare-answers.js';
import { ORT_TYPE_BY_DATATYPE } from '../tensor/datatypes.js';
import { nestedDims } from '../tensor/nested-dims.js';
import type { OutputTensor, TensorValues } from '../tensor/TensorData.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import type { ActualOutput } from './compare-golden-outputs.js';
import type { GoldenTransport } from './run-golden-check.js';

/** What a replay of reference sets through two versions found. */
export interface ReplayResult {
  /** Distinct reference items replayed. */
  readonly items: number;
  /** Items whose answers were compared (those the stable version answered). */
  readonly compared: number;
  /**
   * Items the candidate answered otherwise than the stable version on any row (its failures to answer included):
   * an item is one example, judged whole, so the exact binomial bounds count independent trials.
   */
  readonly disagreed: number;
  /**
   * Items with an expected class, and how many of them each version got right (an item of several rows counts the
   * share of its rows in the expected class).
   */
  readonly accuracy?: { readonly items: number; readonly candidate: number; readonly stable: number };
  /** Of the compared items, those on which each output disagreed on any row, by output name. */
  readonly byOutput?: Readonly<Record<string, number>>;
  /** Per float output, the distribution over the compared items of each item's largest relative difference. */
  readonly differences?: Readonly<Record<string, DifferenceFigures>>;
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
 * with no traffic at all. An item the candidate cannot answer disagrees; one the stable version cannot answer is
 * not compared. Identical items (the same inputs, as when both versions were published with the same set) are
 * replayed once: a set counted twice would halve the bounds' width on no new evidence.
 *
 * @example
 * const result = await replayReference({ items, stable, candidate, outputs: manifest.outputs, numericTolerance: 1e-3 });
 */
export async function replayReference(input: ReplayInput): Promise<ReplayResult> {
  let compared = 0;
  let disagreed = 0;
  let expectedItems = 0;
  let candidateRight = 0;
  let stableRight = 0;
  const items = distinctItems(input.items);
  const byOutput: Record<string, number> = {};
  const relative = new Map<string, number[]>();
  for (const [index, item] of items.entries()) {
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
    if (comparison.rows === 0) continue;
    compared++;
    if (comparison.disagreements > 0) disagreed++;
    for (const output of comparison.outputs) {
      if (output.disagreements > 0) byOutput[output.output] = (byOutput[output.output] ?? 0) + 1;
      // Only where there is a difference to measure: not of a missing or reshaped output.
      if (output.kind !== 'exact' && Number.isFinite(output.maxRelativeDifference)) {
        const values = relative.get(output.output) ?? [];
        values.push(output.maxRelativeDifference);
        relative.set(output.output, values);
      }
    }
    if (item.expected !== undefined) {
      const wanted =
        typeof item.expected === 'number'
          ? (input.labels?.[item.expected] ?? String(item.expected))
          : item.expected;
      const rows = comparison.rows;
      expectedItems++;
      stableRight += (answerClasses(stable, input.outputs, input.labels)[wanted] ?? 0) / rows;
      candidateRight += candidate
        ? (answerClasses(candidate, input.outputs, input.labels)[wanted] ?? 0) / rows
        : 0;
    }
  }
  return {
    items: items.length,
    compared,
    disagreed,
    ...(expectedItems > 0
      ? { accuracy: { items: expectedItems, candidate: candidateRight, stable: stableRight } }
      : {}),
    ...(Object.keys(byOutput).length > 0 ? { byOutput } : {}),
    ...(relative.size > 0 ? { differences: quantilesOf(relative) } : {}),
  };
}

/** p50 and p99 (nearest rank) of each output's values. */
function quantilesOf(values: ReadonlyMap<string, number[]>): Record<string, DifferenceFigures> {
  const figures: Record<string, DifferenceFigures> = {};
  for (const [output, list] of values) {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
    figures[output] = { compared: sorted.length, p50: at(0.5), p99: at(0.99) };
  }
  return figures;
}

/** The items with distinct inputs, first ones kept. */
function distinctItems(items: readonly ReferenceItem[]): ReferenceItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(item.inputs);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
