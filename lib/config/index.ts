export { ConfigError } from './ConfigError.js';
export {
  type AlarmThresholds,
  AlarmThresholdsSchema,
  Architecture,
  AuthMode,
  DEFAULT_DEPLOY_CONFIG_FILE,
  type DeployConfig,
  DeployConfigError,
  DeployConfigSchema,
  type ModelDeployment,
  ModelDeploymentSchema,
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
