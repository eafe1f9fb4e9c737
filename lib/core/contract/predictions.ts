import { INTEGER_DATATYPES, type TensorDatatype } from '../tensor/datatypes.js';

/** One model output in nested (row-major) form, as the simple predict form returns it. */
export interface NestedOutput {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly shape: readonly number[];
  /** True when the manifest gives the output the model's batch dimension first: only then is it split per row. */
  readonly batched: boolean;
  readonly nested: unknown;
}

/**
 * Shapes the simple form's `predictions` from the model outputs.
 *
 * When every output has the batch dimension first (per the manifest) and one entry per input row, predictions are per row: the row of the only output,
 * or `{output: row}` for several outputs. With class labels, an integer output of one value per row
 * becomes the label's name, and a row of exactly one score per label becomes `{label: score}`.
 * Outputs that are not per row are returned whole, as `{output: value}`.
 *
 * @example
 * toPredictions([{ name: 'label', datatype: 'INT64', shape: [1], batched: true, nested: [0] }], 1, ['setosa']); // ['setosa']
 */
export function toPredictions(
  outputs: readonly NestedOutput[],
  rows: number,
  labels?: readonly string[],
): unknown {
  const perRow = outputs.every(
    (output) => output.batched && output.shape[0] === rows && Array.isArray(output.nested),
  );
  if (!perRow) {
    return Object.fromEntries(outputs.map((output) => [output.name, output.nested]));
  }
  const predictions: unknown[] = new Array(rows);
  for (let row = 0; row < rows; row++) {
    if (outputs.length === 1) {
      const [only] = outputs as [NestedOutput];
      predictions[row] = labelled(only, (only.nested as unknown[])[row], labels);
    } else {
      const entry: Record<string, unknown> = {};
      for (const output of outputs)
        entry[output.name] = labelled(output, (output.nested as unknown[])[row], labels);
      predictions[row] = entry;
    }
  }
  return predictions;
}

function labelled(output: NestedOutput, value: unknown, labels: readonly string[] | undefined): unknown {
  if (!labels) return value;
  const scalar = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (INTEGER_DATATYPES.has(output.datatype) && !Array.isArray(scalar)) {
    const index = Number(scalar);
    return Number.isInteger(index) && index >= 0 && index < labels.length ? labels[index] : scalar;
  }
  if (
    Array.isArray(value) &&
    value.length === labels.length &&
    value.every((item) => typeof item === 'number')
  ) {
    return Object.fromEntries(labels.map((label, index) => [label, value[index]]));
  }
  return value;
}
