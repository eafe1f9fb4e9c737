import type { OrtTensorType } from './datatypes.js';

/** The flat, row-major values of each onnxruntime tensor type sluice handles (FP16 as half-precision bit patterns). */
export interface TensorValuesByType {
  readonly bool: Uint8Array;
  readonly uint8: Uint8Array;
  readonly uint16: Uint16Array;
  readonly uint32: Uint32Array;
  readonly uint64: BigUint64Array;
  readonly int8: Int8Array;
  readonly int16: Int16Array;
  readonly int32: Int32Array;
  readonly int64: BigInt64Array;
  readonly float16: Uint16Array;
  readonly float32: Float32Array;
  readonly float64: Float64Array;
  readonly string: string[];
}

/** The values of any tensor sluice handles. */
export type TensorValues = TensorValuesByType[OrtTensorType];

/**
 * A tensor as the codec builds and reads it: onnxruntime's type name, the flat row-major values and the dims. An
 * onnxruntime `Tensor` is one; the serving layer turns decoded inputs into onnxruntime tensors, so the codec itself
 * never loads the native runtime.
 *
 * @example
 * const input: TensorData = { type: 'float32', data: new Float32Array([5.1, 3.5]), dims: [1, 2] };
 */
export interface TensorData<Type extends OrtTensorType = OrtTensorType> {
  readonly type: Type;
  readonly data: TensorValuesByType[Type];
  readonly dims: readonly number[];
}

/**
 * An output tensor as the encoders read it: any onnxruntime `Tensor`, whose type may be one sluice cannot write
 * (the encoders refuse those, see `outputDatatype`).
 */
export interface OutputTensor {
  readonly type: string;
  readonly data: TensorValues;
  readonly dims: readonly number[];
}

/**
 * A tensor of the given type: what the decoders return.
 *
 * @example
 * tensorOf('int64', new BigInt64Array([1n]), [1]);
 */
export function tensorOf<Type extends OrtTensorType>(
  type: Type,
  data: TensorValuesByType[Type],
  dims: readonly number[],
): TensorData<Type> {
  return { type, data, dims };
}
