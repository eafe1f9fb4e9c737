import type { TensorDatatype } from '../tensor/datatypes.js';
import type { TensorSpec } from './ModelManifest.js';

/** Datatypes of an output that holds class indices, one per row. */
const CLASS_INDEX_DATATYPES: ReadonlySet<TensorDatatype> = new Set([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

/** Datatypes of an output that holds one score per class and row. */
const SCORE_DATATYPES: ReadonlySet<TensorDatatype> = new Set(['FP16', 'FP32', 'FP64']);

/**
 * What is wrong with class labels for a model with these outputs; empty when they fit.
 *
 * The simple form names an integer output's class indices and keys a row of scores by label, so labels must be
 * distinct, some output must be a class index or a row of scores, and when an output has a fixed number of class
 * scores (shape `[-1, K]`), there must be exactly K labels. A class count the graph leaves dynamic cannot be
 * checked here.
 *
 * @example
 * labelProblems(['a', 'b'], [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
 * // ['2 labels given, but output "probabilities" has 3 classes (shape [-1,3])']
 */
export function labelProblems(labels: readonly string[], outputs: readonly TensorSpec[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const label of labels) {
    if (label === '') problems.push('a label is empty');
    else if (seen.has(label)) problems.push(`label "${label}" is given twice`);
    seen.add(label);
  }
  const classIndices = outputs.filter(
    (spec) => CLASS_INDEX_DATATYPES.has(spec.datatype) && (spec.shape.length === 1 || isOneColumn(spec)),
  );
  const scores = outputs.filter((spec) => SCORE_DATATYPES.has(spec.datatype) && spec.shape.length === 2);
  if (classIndices.length === 0 && scores.length === 0) {
    problems.push(
      `no output of the model is a class index or a row of class scores (outputs: ${outputs.map(describe).join(', ')}), so labels would never be used`,
    );
    return problems;
  }
  const fixed = scores.filter((spec) => (spec.shape[1] ?? -1) > 1);
  if (fixed.length > 0 && !fixed.some((spec) => spec.shape[1] === labels.length)) {
    const classes = fixed.map(
      (spec) => `output "${spec.name}" has ${spec.shape[1]} classes (shape [${spec.shape}])`,
    );
    problems.push(
      `${labels.length} label${labels.length === 1 ? '' : 's'} given, but ${classes.join(' and ')}`,
    );
  }
  return problems;
}

function isOneColumn(spec: TensorSpec): boolean {
  return spec.shape.length === 2 && spec.shape[1] === 1;
}

function describe(spec: TensorSpec): string {
  return `"${spec.name}" ${spec.datatype}[${spec.shape}]`;
}
