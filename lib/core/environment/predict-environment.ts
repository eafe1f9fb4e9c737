import { z } from 'zod';
import { type AlarmThresholds, AlarmThresholdsSchema } from '../config/deploy-config.js';
import { describeIssues } from '../errors/describe-issues.js';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { ConfigError } from './ConfigError.js';
import { parseEnvironment } from './parse-environment.js';

/**
 * The predict function's environment contract, declared once: the CDK writes it ({@link predictEnvironment}),
 * the function reads it at cold start (`readFunctionConfig`), the control plane reads which model version a
 * published Lambda version serves ({@link readModelIdentity}) and rebinds `$LATEST` to another one
 * ({@link withModelVersion}), and the local emulator and the tests build it the same way.
 */
export const FunctionVariable = {
  /** The registry bucket. */
  BUCKET: 'SLUICE_BUCKET',
  /** The model the function serves. */
  MODEL: 'SLUICE_MODEL',
  /** The model version the unversioned routes serve: 1, 2, 3, ... */
  MODEL_VERSION: 'SLUICE_MODEL_VERSION',
  /** The sha256 that version's bytes must have; other bytes are never served. */
  MODEL_SHA256: 'SLUICE_MODEL_SHA256',
  /** The thresholds of the version alarms as JSON (the config's `alarms`), for the alarms the control plane creates. */
  ALARM_THRESHOLDS: 'SLUICE_ALARM_THRESHOLDS',
  /** The SNS topic the version alarms notify, when the stack has one. */
  ALARM_TOPIC_ARN: 'SLUICE_ALARM_TOPIC_ARN',
  /** Byte budget of the session cache. */
  CACHE_BYTES: 'SLUICE_CACHE_BYTES',
  /** `true` logs every served request. */
  LOG_REQUESTS: 'SLUICE_LOG_REQUESTS',
  /** An S3-compatible endpoint (the embedded store in tests); unset on AWS. */
  S3_ENDPOINT: 'SLUICE_S3_ENDPOINT',
} as const;
/** One variable of the predict function's environment. */
export type FunctionVariable = (typeof FunctionVariable)[keyof typeof FunctionVariable];

/** A model version as the environment carries it: `1`, `2`, ... (no sign, no leading zero). */
export const ModelVersionVariableSchema = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'must be a version number: 1, 2, 3, ...');

/** A sha256 as the environment carries it. */
export const Sha256VariableSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** The variables that say which model version a function (or one of its published Lambda versions) serves. */
export const ModelIdentityEnvSchema = z.object({
  [FunctionVariable.MODEL]: ModelNameSchema,
  [FunctionVariable.MODEL_VERSION]: ModelVersionVariableSchema,
  [FunctionVariable.MODEL_SHA256]: Sha256VariableSchema.optional(),
});

/** The model version a Lambda version serves, as its environment pins it. */
export interface ModelIdentity {
  /** SLUICE_MODEL. */
  readonly model: string;
  /** SLUICE_MODEL_VERSION. */
  readonly version: number;
  /** SLUICE_MODEL_SHA256, when the deployment pinned the bytes. */
  readonly sha256: string | undefined;
}

/** What {@link predictEnvironment} renders. */
export interface PredictEnvironmentInput {
  /** The registry bucket's name (a CDK token in the constructs). */
  readonly bucket: string;
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  /** The version alarms' thresholds. */
  readonly alarms: AlarmThresholds;
  /**
   * The topic the version alarms notify (a CDK token in the constructs).
   * @default no notifications
   */
  readonly alarmTopicArn?: string;
}

/**
 * The predict function's environment for a model version, as the CDK sets it.
 *
 * @example
 * new lambda.Function(this, 'Function', { environment: predictEnvironment({ bucket, model: 'iris', version: 1, sha256, alarms }) });
 */
export function predictEnvironment(input: PredictEnvironmentInput): Record<string, string> {
  return {
    [FunctionVariable.BUCKET]: input.bucket,
    [FunctionVariable.MODEL]: input.model,
    [FunctionVariable.MODEL_VERSION]: String(input.version),
    [FunctionVariable.MODEL_SHA256]: input.sha256,
    [FunctionVariable.ALARM_THRESHOLDS]: JSON.stringify(input.alarms),
    ...(input.alarmTopicArn === undefined ? {} : { [FunctionVariable.ALARM_TOPIC_ARN]: input.alarmTopicArn }),
  };
}

/**
 * A function environment with another model version bound (and its sha256), every other variable kept: what
 * `sluice deploy` publishes a Lambda version from.
 *
 * @example
 * withModelVersion(latest.Environment.Variables, 4, manifest.sha256);
 */
export function withModelVersion(
  variables: Readonly<Record<string, string>>,
  version: number,
  sha256: string,
): Record<string, string> {
  return {
    ...variables,
    [FunctionVariable.MODEL_VERSION]: String(version),
    [FunctionVariable.MODEL_SHA256]: sha256,
  };
}

/** Raised when a function's environment does not say which model version it serves. */
export class InvalidModelIdentityError extends ConfigError {}

/**
 * Reads which model version a Lambda version serves from its environment (GetFunctionConfiguration's
 * `Environment.Variables`); throws {@link InvalidModelIdentityError} naming the function, the variable and its value.
 *
 * @example
 * readModelIdentity({ SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '4' }, 'iris-fn:7');
 * // { model: 'iris', version: 4, sha256: undefined }
 */
export function readModelIdentity(
  variables: Readonly<Record<string, string>> | undefined,
  functionLabel: string,
): ModelIdentity {
  const values = parseEnvironment(
    ModelIdentityEnvSchema,
    variables ?? {},
    (message, options) =>
      new InvalidModelIdentityError(`${functionLabel} is not a sluice predict function: ${message}`, options),
  );
  return {
    model: values[FunctionVariable.MODEL],
    version: Number(values[FunctionVariable.MODEL_VERSION]),
    sha256: values[FunctionVariable.MODEL_SHA256],
  };
}

/**
 * The alarm thresholds a predict function's environment carries, with the config's defaults for what it leaves
 * out or when it has none (a stack deployed before the variable existed). A bad value throws {@link ConfigError}
 * naming the variable, the function and the value.
 *
 * @example
 * readAlarmThresholds({ SLUICE_ALARM_THRESHOLDS: '{"p99LatencyMs":500}' }, 'Sluice-Iris-AbC:7').p99LatencyMs; // 500
 */
export function readAlarmThresholds(
  variables: Readonly<Record<string, string>> | undefined,
  functionLabel: string,
): AlarmThresholds {
  const variable = FunctionVariable.ALARM_THRESHOLDS;
  const text = variables?.[variable];
  if (text === undefined) return AlarmThresholdsSchema.parse({});
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable} of ${functionLabel} is not JSON; got ${JSON.stringify(text)}`, {
      cause: error,
    });
  }
  const parsed = AlarmThresholdsSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      `${variable} of ${functionLabel} is invalid: ${describeIssues(parsed.error)}; got ${text}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** The alarm topic a predict function's environment names, if any. */
export function readAlarmTopicArn(
  variables: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const arn = variables?.[FunctionVariable.ALARM_TOPIC_ARN];
  return arn === undefined || arn === '' ? undefined : arn;
}
