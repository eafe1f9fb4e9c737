import type { TensorSpec } from '../tensor/TensorSpec.js';
import type { GoldenExample, GoldenTensor } from './ModelManifest.js';
import type { ModelSignature } from './ModelSignature.js';

/**
 * What is wrong with golden examples for a model with this signature, one line per problem; empty when they fit.
 * They must name real inputs and outputs (every input once) with the graph's datatypes and fitting shapes, and
 * as many values as their shapes say.
 *
 * @example
 * goldenExampleProblems(extras.goldenExamples ?? [], signature); // ['golden example 1: input "x" is not in the graph ...']
 */
export function goldenExampleProblems(
  examples: readonly GoldenExample[],
  signature: Pick<ModelSignature, 'inputs' | 'outputs'>,
): string[] {
  return examples.flatMap((example, index) => [
    ...goldenTensorProblems(`golden example ${index + 1}: input`, example.inputs, signature.inputs, true),
    ...goldenTensorProblems(`golden example ${index + 1}: output`, example.outputs, signature.outputs, false),
  ]);
}

/**
 * Problems of one side of a golden example: unknown or repeated names, datatypes or shapes the graph
 * rejects, data counts that do not match the shape, and (for inputs) missing tensors.
 */
function goldenTensorProblems(
  what: string,
  tensors: readonly GoldenTensor[],
  specs: readonly TensorSpec[],
  requireAll: boolean,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const tensor of tensors) {
    const spec = specs.find((candidate) => candidate.name === tensor.name);
    if (!spec) {
      problems.push(
        `${what} "${tensor.name}" is not in the graph (it has ${specs.map((s) => `"${s.name}"`).join(', ')})`,
      );
      continue;
    }
    if (seen.has(tensor.name)) {
      problems.push(`${what} "${tensor.name}" is given twice`);
    }
    seen.add(tensor.name);
    if (tensor.datatype && tensor.datatype !== spec.datatype) {
      problems.push(
        `${what} "${tensor.name}" has datatype ${tensor.datatype}, the graph says ${spec.datatype}`,
      );
    }
    const shapeFits =
      tensor.shape.length === spec.shape.length &&
      spec.shape.every((dim, axis) => dim === -1 || dim === tensor.shape[axis]);
    if (!shapeFits) {
      problems.push(
        `${what} "${tensor.name}" has shape [${tensor.shape}], the graph says [${spec.shape}] (-1 is any size)`,
      );
    }
    const expected = tensor.shape.reduce((count, dim) => count * dim, 1);
    const actual = tensor.data.flat(Number.POSITIVE_INFINITY).length;
    if (actual !== expected) {
      problems.push(
        `${what} "${tensor.name}" has ${actual} values, its shape [${tensor.shape}] needs ${expected}`,
      );
    }
  }
  if (requireAll) {
    for (const spec of specs) {
      if (!seen.has(spec.name)) {
        problems.push(`${what} "${spec.name}" is missing; every graph input needs a value`);
      }
    }
  }
  return problems;
}
