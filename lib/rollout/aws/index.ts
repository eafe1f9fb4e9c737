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
  LambdaRolloutTarget,
  type LambdaRolloutTargetProps,
  MAX_UPDATE_POLLS,
  METRICS_SETTLE_MS,
  OBSERVED_TRAFFIC_WINDOW_MS,
  UPDATE_POLL_INTERVAL_MS,
} from './LambdaRolloutTarget.js';
export { listFunctionVersions } from './list-function-versions.js';
export {
  findPublishedVersion,
  publishedVersionDescription,
  servesModelVersion,
} from './published-version.js';
export { LIVE_ALIAS } from './stack-names.js';
export {
  parseVersionAlarmName,
  VERSION_ALARM_PREFIX,
  VersionAlarmKind,
  type VersionAlarmSubject,
  versionAlarmName,
} from './version-alarm-name.js';
export {
  LAMBDA_NAMESPACE,
  VERSION_ALARM_PERIOD_SECONDS,
  type VersionAlarmSpec,
  type VersionAlarmTarget,
  versionAlarmSpecs,
} from './version-alarm-specs.js';
