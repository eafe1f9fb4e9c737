import { MAX_OBJECT_TENSOR_BYTES } from '../contract/tensor-objects.js';
import { InvalidRequestError } from '../errors/request-errors.js';
import { BINARY_ELEMENT_BYTES, type BinaryTensorHeader, tensorOverBuffer } from './binary-tensor.js';
import { checkInputShape } from './decode-tensor.js';
import type { TensorData, TensorValues } from './TensorData.js';
import type { TensorSpec } from './TensorSpec.js';

/** An input sent by reference, checked against the model: its dims and the size its object must have. */
export interface ObjectTensorSize {
  readonly dims: number[];
  /** Elements times the datatype's size: the object's size in bytes, little-endian and row-major. */
  readonly byteSize: number;
}

/**
 * Checks the datatype and shape of an input sent (or to be uploaded) by reference against the model, and says how
 * many bytes its object holds: the binary tensor extension's layout, which needs a fixed element size, so BYTES
 * inputs (length-prefixed, of any size) cannot be sent by reference. Refuses tensors over
 * {@link MAX_OBJECT_TENSOR_BYTES}. Every failure is an {@link InvalidRequestError} naming the input.
 *
 * @example
 * objectTensorSize({ name: 'x', datatype: 'FP32', shape: [1, 3, 1024, 1024] }, spec).byteSize; // 12582912
 */
export function objectTensorSize(header: BinaryTensorHeader, spec: TensorSpec): ObjectTensorSize {
  const name = header.name;
  if (header.datatype !== spec.datatype) {
    throw bad(name, `datatype is ${JSON.stringify(header.datatype)}, expected ${spec.datatype}`);
  }
  if (spec.datatype === 'BYTES') {
    throw bad(
      name,
      'BYTES inputs cannot be sent by reference (their elements have no fixed size): send them as JSON data or binary data',
    );
  }
  const { dims, count } = checkInputShape(name, header.shape, spec);
  const byteSize = count * BINARY_ELEMENT_BYTES[spec.datatype];
  if (byteSize > MAX_OBJECT_TENSOR_BYTES) {
    throw bad(
      name,
      `shape [${dims.join(',')}] of ${spec.datatype} is ${byteSize} bytes, over the ${MAX_OBJECT_TENSOR_BYTES} bytes a tensor sent by reference may have`,
    );
  }
  return { dims, byteSize };
}

/**
 * The tensor of an input sent by reference, before its object is read: the right type and dims over a zeroed buffer
 * of exactly the object's size, which the object's bytes are then written into (see {@link tensorBytes}), so the
 * bytes land in the tensor's own memory with no copy.
 *
 * @example
 * const tensor = referencedTensor({ name: 'x', datatype: 'FP32', shape: [1, 4] }, spec); // Float32Array(4) of zeros
 */
export function referencedTensor(header: BinaryTensorHeader, spec: TensorSpec): TensorData {
  const { dims, byteSize } = objectTensorSize(header, spec);
  // objectTensorSize has refused BYTES.
  if (spec.datatype === 'BYTES') throw bad(header.name, 'BYTES inputs cannot be sent by reference');
  return tensorOverBuffer(spec.datatype, new ArrayBuffer(byteSize), dims);
}

/**
 * The bytes of a numeric tensor's values, as a view of its own buffer (what an object is read into).
 *
 * @example
 * tensorBytes(tensorOf('float32', new Float32Array(2), [2])).byteLength; // 8
 */
export function tensorBytes(tensor: TensorData): Uint8Array {
  const values = tensor.data as Exclude<TensorValues, string[]>;
  if (!ArrayBuffer.isView(values)) throw new Error(`a ${tensor.type} tensor has no byte buffer`);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Refuses values an object's bytes cannot stand for: a BOOL byte other than 0 or 1, as for binary data. Floats are
 * taken bit for bit (NaN and infinities included), every other bit pattern is a value.
 */
export function checkReferencedValues(name: string, tensor: TensorData): void {
  if (tensor.type !== 'bool') return;
  const values = tensor.data as Uint8Array;
  const wrong = values.findIndex((value) => value > 1);
  if (wrong >= 0)
    throw bad(name, `BOOL byte ${wrong} of its object is ${values[wrong]}; BOOL bytes are 0 or 1`);
}

function bad(name: string, problem: string): InvalidRequestError {
  return new InvalidRequestError(`input "${name}": ${problem}`);
}
