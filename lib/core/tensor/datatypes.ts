/**
 * Open Inference Protocol V2 tensor datatypes and their onnxruntime and ONNX equivalents.
 *
 * This file imports nothing from onnxruntime-node so that schemas (and the CDK app) can use it.
 */

/** The V2 datatypes sluice accepts, each one a type onnxruntime-node can feed and fetch. */
export const TensorDatatype = {
  BOOL: 'BOOL',
  UINT8: 'UINT8',
  UINT16: 'UINT16',
  UINT32: 'UINT32',
  UINT64: 'UINT64',
  INT8: 'INT8',
  INT16: 'INT16',
  INT32: 'INT32',
  INT64: 'INT64',
  FP16: 'FP16',
  FP32: 'FP32',
  FP64: 'FP64',
  BYTES: 'BYTES',
} as const;

/** One V2 datatype name. */
export type TensorDatatype = (typeof TensorDatatype)[keyof typeof TensorDatatype];

/** Every V2 datatype, in declaration order (for zod enums and loops). */
export const TENSOR_DATATYPES = Object.values(TensorDatatype) as [TensorDatatype, ...TensorDatatype[]];

/** The integer datatypes, signed and unsigned: what a class-index output holds. */
export const INTEGER_DATATYPES: ReadonlySet<TensorDatatype> = new Set([
  TensorDatatype.INT8,
  TensorDatatype.INT16,
  TensorDatatype.INT32,
  TensorDatatype.INT64,
  TensorDatatype.UINT8,
  TensorDatatype.UINT16,
  TensorDatatype.UINT32,
  TensorDatatype.UINT64,
]);

/** The floating-point datatypes: what a row of class scores holds. */
export const FLOAT_DATATYPES: ReadonlySet<TensorDatatype> = new Set([
  TensorDatatype.FP16,
  TensorDatatype.FP32,
  TensorDatatype.FP64,
]);

/** onnxruntime-node's tensor type name for each V2 datatype. */
export const ORT_TYPE_BY_DATATYPE = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
} as const satisfies Record<TensorDatatype, string>;

/** onnxruntime-node's tensor type names that sluice handles. */
export type OrtTensorType = (typeof ORT_TYPE_BY_DATATYPE)[TensorDatatype];

/** The V2 datatype for each onnxruntime-node tensor type. */
export const DATATYPE_BY_ORT_TYPE: Record<OrtTensorType, TensorDatatype> = Object.fromEntries(
  Object.entries(ORT_TYPE_BY_DATATYPE).map(([datatype, ortType]) => [ortType, datatype]),
) as Record<OrtTensorType, TensorDatatype>;

/** ONNX `TensorProto.DataType` numbers for each V2 datatype. */
export const ONNX_ELEM_TYPE_BY_DATATYPE = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
} as const satisfies Record<TensorDatatype, number>;

/** Looks up the V2 datatype of an ONNX element type number, or undefined when sluice cannot serve it. */
export function datatypeOfOnnxElemType(elemType: number): TensorDatatype | undefined {
  for (const datatype of TENSOR_DATATYPES) {
    if (ONNX_ELEM_TYPE_BY_DATATYPE[datatype] === elemType) return datatype;
  }
  return undefined;
}
