export {
  DATATYPE_BY_ORT_TYPE,
  datatypeOfOnnxElemType,
  ONNX_ELEM_TYPE_BY_DATATYPE,
  ORT_TYPE_BY_DATATYPE,
  type OrtTensorType,
  TENSOR_DATATYPES,
  TensorDatatype,
} from './datatypes.js';
