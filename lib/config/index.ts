export { ConfigError } from './ConfigError.js';
export {
  type AlarmThresholds,
  AlarmThresholdsSchema,
  Architecture,
  AuthMode,
  ConfiguredAlarmThresholdsSchema,
  DEFAULT_ALARM_EVALUATION_PERIODS,
  DEFAULT_DATAPOINTS_TO_ALARM,
  DEFAULT_DEPLOY_CONFIG_FILE,
  type DeployConfig,
  DeployConfigError,
  DeployConfigSchema,
  LEGACY_ALARM_KEYS,
  type ModelDeployment,
  ModelDeploymentSchema,
  ModelGroupNameSchema,
  parseDeployConfig,
  type Rollout,
  RolloutPreset,
  RolloutSchema,
  readDeployConfig,
} from './deploy-config.js';
export {
  CACHE_SHARE_OF_MEMORY,
  FALLBACK_CACHE_BYTES,
  type FunctionConfig,
  readFunctionConfig,
} from './function-config.js';
export {
  FunctionVariable,
  InvalidModelIdentityError,
  type ModelIdentity,
  ModelIdentityEnvSchema,
  ModelVersionVariableSchema,
  type PredictEnvironmentInput,
  predictEnvironment,
  readAlarmThresholds,
  readAlarmTopicArn,
  readModelIdentity,
  Sha256VariableSchema,
  withModelVersion,
} from './function-environment.js';
export { readPackageVersion } from './package-version.js';
export { parseEnvironment } from './parse-environment.js';
export { rolloutPlanOf } from './rollout-plan-of.js';
