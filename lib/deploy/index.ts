export {
  appSpecContentOf,
  LAMBDA_RESOURCE_TYPE,
  LambdaAppSpecSchema,
  type LambdaAppSpecTarget,
  parseAppSpec,
} from './app-spec.js';
export { InvalidAppSpecError, InvalidTargetError } from './deploy-errors.js';
export { type HookConfig, readHookConfig } from './hook-config.js';
export {
  type Invocation,
  judgeInferInvocation,
  judgeReadyInvocation,
  MAX_QUOTED_RESPONSE_CHARS,
  READY_CHECK_LABEL,
} from './judge-invocation.js';
export { type LifecycleHookEvent, LifecycleHookEventSchema } from './lifecycle-hook-event.js';
export {
  type PreTrafficCheckDeps,
  type PreTrafficCheckInput,
  type PreTrafficCheckResult,
  type PreTrafficLogger,
  PreTrafficStatus,
  REPORT_RESERVE_MS,
  runPreTrafficCheck,
} from './pre-traffic-check.js';
export {
  buildProxyEvent,
  type CheckRequest,
  goldenInferBody,
  inferPath,
  PRE_TRAFFIC_STAGE,
  PRE_TRAFFIC_USER_AGENT,
  readyPath,
} from './proxy-event.js';
export { readTargetModel, type TargetModel } from './target-model.js';
