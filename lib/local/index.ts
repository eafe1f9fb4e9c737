export {
  ApiGatewayEmulator,
  type ApiGatewayEmulatorOptions,
  type LocalReply,
  type LocalRoute,
} from './ApiGatewayEmulator.js';
export {
  HEALTH_LATENCY_PERCENTILE,
  HEALTH_MAX_SAMPLES,
  HEALTH_MIN_SAMPLES,
  HEALTH_RETENTION_MS,
  HEALTH_WINDOW_MS,
  HealthWindow,
  type HealthWindowOptions,
  type JudgeOptions,
  type VersionFigures,
} from './HealthWindow.js';
export {
  HOME_LOCK_FILE,
  HomeInUseError,
  HomeLock,
  type HomeLockContent,
  HomeLockContentSchema,
} from './HomeLock.js';
export {
  LOCAL_ROUTING_TTL_MS,
  LOCAL_STACK_ACTOR,
  LocalAliasResolver,
  type LocalAliasResolverOptions,
  type RolloutStateReader,
  type RolloutStateStore,
} from './LocalAliasResolver.js';
export { DEFAULT_LOCAL_BUCKET, LocalObjectStore, type LocalObjectStoreProps } from './LocalObjectStore.js';
export {
  LOCAL_DRIVER_INTERVAL_MS,
  LocalRolloutDriver,
  type LocalRolloutDriverOptions,
} from './LocalRolloutDriver.js';
export {
  LOCAL_TARGET_TIMEOUT_MS,
  LocalRolloutTarget,
  type LocalRolloutTargetOptions,
} from './LocalRolloutTarget.js';
export { DEFAULT_LOCAL_PORT, LocalStack, type LocalStackOptions } from './LocalStack.js';
export {
  DEFAULT_LOCAL_MAX_ERROR_RATE,
  DEFAULT_LOCAL_MAX_P99_MS,
  DEFAULT_LOCAL_MAX_REJECTED_INCREASE,
  type HealthThresholds,
  type LocalConfig,
  LocalConfigError,
  readLocalConfig,
} from './local-config.js';
export {
  LocalHealthResponseSchema,
  LocalRefreshResponseSchema,
  LocalRoutePath,
  LocalTrafficResponseSchema,
  localHealthPath,
  localRefreshPath,
  localTrafficPath,
} from './local-routes.js';
export { pickVersion } from './pick-version.js';
export {
  type RoutingCache,
  StackRolloutTarget,
  type StackRolloutTargetOptions,
} from './StackRolloutTarget.js';
