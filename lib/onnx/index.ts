export {
  BUILT_MODEL_IR_VERSION,
  buildModel,
  DEFAULT_OPSET_VERSION,
  type GraphValueSpec,
  type InitializerSpec,
  type InitializerTypedArray,
  type ModelSpec,
  type NodeAttribute,
  type NodeSpec,
} from './model-builder.js';
export { type ModelSignature, readModelSignature } from './read-model-signature.js';
