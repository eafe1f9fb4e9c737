export {
  checkGoldenExamples,
  type GoldenCheckResult,
  MAX_GOLDEN_FAILURES_REPORTED,
} from './check-golden-examples.js';
export { type ActualOutput, compareGoldenOutputs } from './compare-golden-outputs.js';
export {
  DEFAULT_CACHE_BUDGET_BYTES,
  EVICTED_SESSION_GRACE_MS,
  InferenceEngine,
  type InferenceEngineOptions,
  type ModelLoadListener,
} from './InferenceEngine.js';
export type { LoadedModel } from './LoadedModel.js';
export { onnxRuntime, preloadOnnxRuntime } from './onnx-runtime.js';
export { lambdaSessionOptions } from './session-options.js';
