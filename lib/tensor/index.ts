export {
  BINARY_ELEMENT_BYTES,
  BYTES_LENGTH_PREFIX_BYTES,
  binaryTensorSize,
  decodeBinaryTensor,
  encodeBinaryTensor,
  rawBinaryShape,
} from './binary-tensor.js';
export {
  DATATYPE_BY_ORT_TYPE,
  datatypeOfOnnxElemType,
  FLOAT_DATATYPES,
  INTEGER_DATATYPES,
  ONNX_ELEM_TYPE_BY_DATATYPE,
  ORT_TYPE_BY_DATATYPE,
  type OrtTensorType,
  TENSOR_DATATYPES,
  TensorDatatype,
} from './datatypes.js';
export {
  bytesElementProblem,
  checkInputShape,
  decodeRows,
  decodeTensor,
  FLOAT32_MAX,
  MAX_TENSOR_ELEMENTS,
  type RequestTensorLike,
} from './decode-tensor.js';
export { encodeTensorJson, outputDatatype, stringifyJson, tensorToNested } from './encode-tensor.js';
export { FLOAT16_MAX, fromFloat16Bits, toFloat16Bits } from './float16.js';
export { MAX_JSON_DEPTH, parseJson } from './parse-json.js';
