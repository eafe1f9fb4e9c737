export {
  checkGoldenExamples,
  type GoldenCheckResult,
  MAX_GOLDEN_FAILURES_REPORTED,
} from './check-golden-examples.js';
export { type ActualOutput, compareGoldenOutputs } from './compare-golden-outputs.js';
export {
  type GoldenHttpAnswer,
  type GoldenRequest,
  type GoldenSend,
  goldenInferBody,
  type HttpGoldenTransportProps,
  httpGoldenTransport,
  MAX_QUOTED_RESPONSE_CHARS,
  READY_CHECK_LABEL,
} from './http-golden-transport.js';
export {
  DEFAULT_CACHE_BUDGET_BYTES,
  EVICTED_SESSION_GRACE_MS,
  InferenceEngine,
  type InferenceEngineOptions,
  type ModelLoadListener,
} from './InferenceEngine.js';
export type { LoadedModel } from './LoadedModel.js';
export { onnxRuntime, preloadOnnxRuntime } from './onnx-runtime.js';
export {
  type GoldenAnswer,
  type GoldenCheckInput,
  type GoldenTransport,
  GoldenTransportError,
  runGoldenCheck,
} from './run-golden-check.js';
export { sessionGoldenTransport } from './session-golden-transport.js';
export { LAMBDA_MB_PER_VCPU, lambdaSessionOptions, lambdaThreads } from './session-options.js';
