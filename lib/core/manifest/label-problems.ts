import { FLOAT_DATATYPES, INTEGER_DATATYPES } from '../tensor/datatypes.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';

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
    (spec) => INTEGER_DATATYPES.has(spec.datatype) && (spec.shape.length === 1 || isOneColumn(spec)),
  );
  const scores = outputs.filter((spec) => FLOAT_DATATYPES.has(spec.datatype) && spec.shape.length === 2);
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
