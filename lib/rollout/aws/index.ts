export { healthFromAlarms } from './alarm-health.js';
export {
  ALARM_ACTOR,
  type AlarmRollbackDeps,
  type AlarmRollbackOutcome,
  MAX_ALARM_ROLLBACK_ATTEMPTS,
  rollbackOnAlarm,
} from './alarm-rollback.js';
export { type AlarmRollbackConfig, readAlarmRollbackConfig } from './alarm-rollback-config.js';
export {
  ALARM_EVENT_SOURCE,
  ALARM_STATE_CHANGE,
  AlarmState,
  type AlarmStateChangeEvent,
  AlarmStateChangeEventSchema,
  InvalidAlarmEventError,
  parseAlarmStateChangeEvent,
} from './alarm-state-change-event.js';
export { aliasRouting } from './alias-routing.js';
export {
  type ControlPlaneConfig,
  KEEP_VERSIONS_VARIABLE,
  MODEL_FUNCTIONS_VARIABLE,
  readControlPlaneConfig,
} from './control-plane-config.js';
export {
  type DriveStackResult,
  type DriveStackRolloutsDeps,
  driveStackRollouts,
} from './drive-stack-rollouts.js';
export {
  LambdaRolloutTarget,
  type LambdaRolloutTargetProps,
  MAX_UPDATE_POLLS,
  METRICS_SETTLE_MS,
  OBSERVED_TRAFFIC_WINDOW_MS,
  UPDATE_POLL_INTERVAL_MS,
} from './LambdaRolloutTarget.js';
export { listFunctionVersions } from './list-function-versions.js';
export {
  DEFAULT_KEEP_VERSIONS,
  type PruneFunctionVersionsInput,
  type PruneResult,
  pruneFunctionVersions,
} from './prune-function-versions.js';
export {
  findPublishedVersion,
  publishedVersionDescription,
  servesModelVersion,
} from './published-version.js';
export {
  ReleaseAction,
  type ReleaseCompleteEvent,
  ReleaseCompleteEventSchema,
  type ReleaseData,
  ReleaseDataSchema,
  type ReleaseEvent,
  ReleaseEventSchema,
  type ReleaseProperties,
  ReleasePropertiesSchema,
} from './release-event.js';
export {
  CDK_ACTOR,
  isReleaseComplete,
  onReleaseEvent,
  type ReleaseDeps,
  type ReleaseResponse,
} from './release-resource.js';
export {
  CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS,
  DRIVER_INTERVAL_MS,
  PROVIDER_QUERY_INTERVAL_MS,
  PROVIDER_TOTAL_TIMEOUT_MS,
  ROLLOUT_WAIT_MS,
  rolloutDurationMs,
} from './rollout-wait.js';
export { LIVE_ALIAS } from './stack-names.js';
export { versionAlarmInput } from './version-alarm-input.js';
export {
  parseVersionAlarmName,
  VERSION_ALARM_PREFIX,
  VersionAlarmKind,
  type VersionAlarmSubject,
  versionAlarmName,
} from './version-alarm-name.js';
export {
  LAMBDA_NAMESPACE,
  VERSION_ALARM_LOW_SAMPLE_PERCENTILE,
  VERSION_ALARM_MISSING_DATA,
  VERSION_ALARM_PERIOD_SECONDS,
  type VersionAlarmMetric,
  type VersionAlarmSpec,
  type VersionAlarmTarget,
  versionAlarmSpecs,
} from './version-alarm-specs.js';
