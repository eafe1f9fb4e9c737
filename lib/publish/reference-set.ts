import { readFile } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { describeIssues } from '../core/errors/describe-issues.js';
import {
  type GoldenTensor,
  type ReferenceItem,
  ReferenceItemSchema,
} from '../core/manifest/ModelManifest.js';
import type { ModelSignature } from '../core/manifest/ModelSignature.js';
import { answerClasses } from '../core/stats/answer-classes.js';
import {
  numericOutputsOf,
  sampleValues,
  type ValueHistogram,
  valueHistogram,
} from '../core/stats/value-histogram.js';
import { ORT_TYPE_BY_DATATYPE } from '../core/tensor/datatypes.js';
import { nestedDims } from '../core/tensor/nested-dims.js';
import { parseJson } from '../core/tensor/parse-json.js';
import type { OutputTensor } from '../core/tensor/TensorData.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import { sessionGoldenTransport } from '../serving/session-golden-transport.js';
import { PublishInputError } from './PublishInputError.js';

/** Most items a reference set may have: enough for a replay that can pass at a 2 % tolerance, small enough to run at every deploy. */
export const MAX_REFERENCE_ITEMS = 10_000;

/**
 * Reads a reference input set (`sluice publish --reference FILE`): JSON lines, each one request in any of these
 * forms, with an optional `"expected"` class (a label or class index) for the accuracy comparison:
 * - `[5.1, 3.5, 1.4, 0.2]`: one row of a single-input model;
 * - `{"instances": [[...], ...]}` or `{"inputs": {"name": nested array}}`: the simple form's bodies;
 * - `{"inputs": [{"name", "shape", "datatype"?, "data"}]}`: V2 input tensors.
 * Each becomes a {@link ReferenceItem} of V2 tensors with the signature's datatypes. A line that fits none of them is
 * refused with {@link PublishInputError} naming the file and the line.
 *
 * @example
 * const items = await readReferenceFile('iris-reference.jsonl', signature);
 */
export async function readReferenceFile(path: string, signature: ModelSignature): Promise<ReferenceItem[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PublishInputError(`cannot read the reference set ${path}: ${(error as Error).message}`);
  }
  const items: ReferenceItem[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `${path}, line ${index + 1}`;
    let json: unknown;
    try {
      json = parseJson(line);
    } catch (error) {
      throw new PublishInputError(`${where} is not JSON: ${(error as Error).message}`);
    }
    items.push(toItem(json, signature.inputs, where));
    if (items.length > MAX_REFERENCE_ITEMS) {
      throw new PublishInputError(
        `${path} has more than ${MAX_REFERENCE_ITEMS} items, the most a reference set may have`,
      );
    }
  }
  if (items.length === 0) throw new PublishInputError(`the reference set ${path} has no items`);
  return items;
}

/** The drift baselines of a version: what it answered its reference set. */
export interface ReferenceAnswers {
  /** Rows per class; absent when the model has no class output. */
  readonly classes?: Record<string, number>;
  /** Per numeric output, the histogram of its values (see `valueHistogram`); absent when it has none. */
  readonly outputs?: Record<string, ValueHistogram>;
}

/**
 * Runs every reference item on the session (a set the model cannot answer is refused, naming the item) and counts
 * the classes of its answers and the values of its numeric outputs: the version's drift baselines.
 *
 * @example
 * const { classes, outputs } = await answerReferenceSet(session, signature, items, labels);
 */
export async function answerReferenceSet(
  session: InferenceSession,
  signature: ModelSignature,
  items: readonly ReferenceItem[],
  labels: readonly string[] | undefined,
): Promise<ReferenceAnswers> {
  const transport = sessionGoldenTransport(session, signature);
  const totals: Record<string, number> = {};
  let classified = false;
  const numeric = numericOutputsOf(signature.outputs);
  const values = new Map<string, number[]>(numeric.map((spec) => [spec.name, []]));
  for (const [index, item] of items.entries()) {
    let outputs: Record<string, OutputTensor>;
    try {
      const answer = await transport.infer(
        {
          inputs: item.inputs,
          outputs: signature.outputs.map((spec) => ({ name: spec.name, shape: [], data: [] })),
          tolerance: 0,
        },
        `sluice-reference-${index + 1}`,
      );
      outputs = Object.fromEntries(
        answer.outputs.map((output) => [output.name, asTensor(output.data, signature.outputs, output.name)]),
      );
    } catch (error) {
      throw new PublishInputError(
        `reference item ${index + 1} cannot be answered by the model: ${(error as Error).message}`,
      );
    }
    for (const [name, count] of Object.entries(answerClasses(outputs, signature.outputs, labels))) {
      classified = true;
      totals[name] = (totals[name] ?? 0) + count;
    }
    // Sampled as serving samples each answer, so the baseline and the live tallies see the same values.
    for (const spec of numeric) {
      const tensor = outputs[spec.name];
      if (tensor) values.get(spec.name)?.push(...sampleValues(tensor.data as ArrayLike<number>, tensor.dims));
    }
  }
  const histograms: Record<string, ValueHistogram> = {};
  for (const [name, sampled] of values) {
    const histogram = valueHistogram(sampled);
    if (histogram) histograms[name] = histogram;
  }
  return {
    ...(classified ? { classes: totals } : {}),
    ...(Object.keys(histograms).length > 0 ? { outputs: histograms } : {}),
  };
}

function toItem(json: unknown, specs: readonly TensorSpec[], where: string): ReferenceItem {
  const single = specs.length === 1 ? (specs[0] as TensorSpec) : undefined;
  const record =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  const expected = record?.expected;
  let inputs: GoldenTensor[];
  if (Array.isArray(json) || Array.isArray(record?.instances)) {
    if (!single) {
      throw new PublishInputError(
        `${where}: rows work for single-input models; this one takes ${specs.map((spec) => `"${spec.name}"`).join(', ')}: give {"inputs": {name: nested array}}`,
      );
    }
    const rows = Array.isArray(json) ? [json] : (record?.instances as unknown[]);
    inputs = [{ name: single.name, datatype: single.datatype, shape: nestedDims(rows), data: rows }];
  } else if (Array.isArray(record?.inputs)) {
    inputs = (record.inputs as Record<string, unknown>[]).map((tensor) => ({
      ...(tensor as unknown as GoldenTensor),
      datatype:
        (tensor.datatype as GoldenTensor['datatype']) ??
        specs.find((spec) => spec.name === tensor.name)?.datatype,
    }));
  } else if (record?.inputs !== null && typeof record?.inputs === 'object') {
    inputs = Object.entries(record.inputs as Record<string, unknown>).map(([name, value]) => {
      const spec = specs.find((candidate) => candidate.name === name);
      const data = Array.isArray(value) ? value : [value];
      return { name, ...(spec ? { datatype: spec.datatype } : {}), shape: nestedDims(data), data };
    });
  } else {
    throw new PublishInputError(
      `${where}: expected a row ([...]), {"instances": [...]}, or {"inputs": ...}, optionally with "expected"`,
    );
  }
  const parsed = ReferenceItemSchema.safeParse({ inputs, ...(expected === undefined ? {} : { expected }) });
  if (!parsed.success) throw new PublishInputError(`${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A session answer (nested values) as a flat tensor of its spec's type, for counting classes. */
function asTensor(data: unknown, specs: readonly TensorSpec[], name: string): OutputTensor {
  const spec = specs.find((candidate) => candidate.name === name);
  const flat = Array.isArray(data) ? data.flat(Number.POSITIVE_INFINITY) : [data];
  return {
    type: ORT_TYPE_BY_DATATYPE[spec?.datatype ?? 'FP32'],
    data: flat as unknown as OutputTensor['data'],
    dims: nestedDims(data),
  };
}
