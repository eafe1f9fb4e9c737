import { BINARY_ELEMENT_BYTES } from '../tensor/binary-tensor.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import { MAX_AWS_REQUEST_BYTES, MAX_REQUEST_BYTES } from './limits.js';

/** Fewest bytes an element takes in JSON `data` (one digit and a comma). */
const MIN_JSON_BYTES_PER_ELEMENT = 2;

/**
 * Why one request for a model with these inputs cannot be sent, judged from the fixed shapes alone (a dynamic
 * dimension counts as 1; BYTES elements as empty strings): one message when even binary tensors cannot fit a
 * request on AWS, one when only binary tensors can. Empty when the smallest request fits as JSON.
 *
 * @example
 * requestSizeProblems([{ name: 'image', datatype: 'FP32', shape: [1, 3, 1024, 1024] }]); // ['... 12582912 bytes ...']
 */
export function requestSizeProblems(inputs: readonly TensorSpec[]): string[] {
  let binaryBytes = 0;
  let jsonBytes = 0;
  for (const spec of inputs) {
    let elements = 1;
    for (const dim of spec.shape) elements *= dim === -1 ? 1 : dim;
    binaryBytes += spec.datatype === 'BYTES' ? elements * 4 : elements * BINARY_ELEMENT_BYTES[spec.datatype];
    jsonBytes += elements * MIN_JSON_BYTES_PER_ELEMENT;
  }
  const shapes = inputs.map((spec) => `"${spec.name}" ${spec.datatype} [${spec.shape.join(',')}]`).join(', ');
  if (binaryBytes > MAX_AWS_REQUEST_BYTES) {
    const local =
      binaryBytes <= MAX_REQUEST_BYTES
        ? `; locally it fits as binary tensors (up to ${MAX_REQUEST_BYTES} bytes)`
        : '';
    return [
      `one request needs at least ${binaryBytes} bytes of input (${shapes}) even as binary tensors; on AWS a request carries at most ${MAX_AWS_REQUEST_BYTES} bytes (Lambda's 6 MB payload, base64-encoded by API Gateway)${local}. The way round it: export the model with a smaller fixed input, a dynamic dimension, or a narrower datatype (UINT8 or FP16 pixels instead of FP32)`,
    ];
  }
  if (jsonBytes > MAX_AWS_REQUEST_BYTES) {
    return [
      `one request needs at least ${jsonBytes} bytes of JSON (${shapes}), over the ${MAX_AWS_REQUEST_BYTES} bytes a body may have on AWS (${MAX_REQUEST_BYTES} locally): send binary tensors (Inference-Header-Content-Length, binary_data_size), ${binaryBytes} bytes, instead`,
    ];
  }
  return [];
}
