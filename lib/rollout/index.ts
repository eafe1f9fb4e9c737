export { type Decision, decide, EVIDENCE_RECHECK_MS, WaitReason } from './decide.js';
export {
  type DriveLogger,
  type DriveOutcome,
  type DriveRolloutsInput,
  driveRollouts,
} from './drive-rollouts.js';
export { type FollowRolloutInput, followRollout } from './follow-rollout.js';
export {
  assertValidPlan,
  DEFAULT_ALL_AT_ONCE_INTERVAL_MS,
  DEFAULT_CANARY_INTERVAL_MS,
  DEFAULT_LINEAR_INTERVAL_MS,
  DEFAULT_MIN_REQUESTS,
  DEFAULT_STEP_WEIGHT,
  FULL_WEIGHT,
  MAX_STEP_WEIGHT,
  MIN_STEP_WEIGHT,
  type PlanRolloutInput,
  parseDuration,
  planRollout,
} from './plan-rollout.js';
export { RolloutConflictError } from './RolloutConflictError.js';
export {
  type DeployOptions,
  MAX_ROUTE_PASSES,
  RolloutEngine,
  type RolloutEngineProps,
  type RolloutStatusReport,
  type StepResult,
} from './RolloutEngine.js';
export { RolloutError } from './RolloutError.js';
export { type RolloutPlan, RolloutPlanSchema, RolloutStrategy } from './RolloutPlan.js';
export {
  RolloutAction,
  type RolloutEvent,
  RolloutEventSchema,
  type RolloutState,
  RolloutStateSchema,
  RolloutStatus,
} from './RolloutState.js';
export {
  KEPT_REVISIONS,
  ROLLOUT_LIST_PAGE_SIZE,
  RolloutStore,
  type RolloutStoreProps,
} from './RolloutStore.js';
export type {
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  PrepareOptions,
  RolloutTarget,
  Routing,
} from './RolloutTarget.js';
export {
  MAX_REVISION,
  REVISION_DIGITS,
  ROLLOUTS_PREFIX,
  rolloutKey,
  rolloutPrefix,
} from './rollout-layout.js';
export {
  advance,
  applyDecision,
  firstDeploy,
  initialState,
  MAX_EVENT_REASON_CHARS,
  MAX_HISTORY_EVENTS,
  promote,
  recordGoldenFailure,
  recordRefusal,
  rollback,
  type StartRolloutInput,
  startRollout,
  type TransitionContext,
} from './rollout-transitions.js';
export { routingOf } from './routing-of.js';
