import { InvalidRequestError } from '../errors/request-errors.js';
import type { TensorSpec } from './TensorSpec.js';

/**
 * Refuses a request whose inputs disagree on a dimension the graph names alike (ONNX `dim_param`): "All
 * instances of a given dim_param name within a model are to be interpreted as the same value"
 * (https://onnx.ai/onnx/repo-docs/IR.html#static-tensor-shapes). Two inputs of batch `N` with 2 and 3 rows
 * would otherwise reach onnxruntime, which fails on them, and that failure would count against the model version
 * as a 500. Inputs without names (manifests written before they were kept) are not checked.
 *
 * @example
 * checkSharedDimensions(
 *   [{ name: 'a', datatype: 'FP32', shape: [-1, 4], dimNames: ['N', null] }, { name: 'b', datatype: 'FP32', shape: [-1], dimNames: ['N'] }],
 *   (name) => (name === 'a' ? [2, 4] : [3]),
 * ); // throws: inputs "a" and "b" share dimension "N" ...
 */
export function checkSharedDimensions(
  specs: readonly TensorSpec[],
  dimsOf: (input: string) => readonly number[] | undefined,
): void {
  const seen = new Map<string, { input: string; axis: number; size: number }>();
  for (const spec of specs) {
    const dims = dimsOf(spec.name);
    if (!spec.dimNames || !dims) continue;
    for (const [axis, dimName] of spec.dimNames.entries()) {
      const size = dims[axis];
      if (dimName === null || size === undefined) continue;
      const first = seen.get(dimName);
      if (!first) {
        seen.set(dimName, { input: spec.name, axis, size });
        continue;
      }
      if (first.size !== size) {
        throw new InvalidRequestError(
          `inputs "${first.input}" and "${spec.name}" share dimension "${dimName}" (axis ${first.axis} of "${first.input}", axis ${axis} of "${spec.name}"), which must be one size: "${first.input}" has ${first.size}, "${spec.name}" has ${size}`,
        );
      }
    }
  }
}
