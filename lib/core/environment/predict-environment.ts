import * as z from 'zod';
import { type AlarmThresholds, AlarmThresholdsSchema } from '../config/alarm-thresholds.js';
import type { CorsSettings } from '../contract/cors.js';
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
  /**
   * Lifetime in seconds of the presigned URLs of tensors sent by reference (objects under `requests/MODEL/` of the
   * registry bucket); unset: DEFAULT_OBJECT_URL_SECONDS.
   */
  OBJECT_URL_SECONDS: 'SLUICE_OBJECT_URL_SECONDS',
  /**
   * The CORS settings (`api.cors`) as JSON, behind a REST API only: its proxy integrations pass the function's
   * headers through, so the function names the allowed origin; the other doors add CORS headers themselves.
   */
  CORS: 'SLUICE_CORS',
  /**
   * A shadow build's candidate: the model version that also answers every request of the unversioned routes,
   * unseen, its answers compared with those of SLUICE_MODEL_VERSION (which the clients get). Only in the Lambda
   * versions sluice publishes for a shadow phase.
   */
  SHADOW_VERSION: 'SLUICE_SHADOW_VERSION',
  /** The sha256 the shadow candidate's bytes must have. */
  SHADOW_SHA256: 'SLUICE_SHADOW_SHA256',
  /** Relative tolerance of numeric outputs in the shadow comparison. */
  SHADOW_NUMERIC_TOLERANCE: 'SLUICE_SHADOW_NUMERIC_TOLERANCE',
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

/** The variables of a shadow build, all three or none (see {@link withShadowCandidate}). */
export const ShadowEnvSchema = z.object({
  [FunctionVariable.SHADOW_VERSION]: ModelVersionVariableSchema.optional(),
  [FunctionVariable.SHADOW_SHA256]: Sha256VariableSchema.optional(),
  [FunctionVariable.SHADOW_NUMERIC_TOLERANCE]: z
    .string()
    .regex(/^[0-9]+(\.[0-9]+)?(e-?[0-9]+)?$/, 'must be a nonnegative number')
    .optional(),
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
  /**
   * Lifetime of the presigned URLs of tensors sent by reference, in seconds.
   * @default the function's own default, DEFAULT_OBJECT_URL_SECONDS
   */
  readonly objectUrlSeconds?: number;
  /**
   * The CORS settings the function applies to its answers (REST door only).
   * @default none: no CORS headers
   */
  readonly cors?: CorsSettings;
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
    ...(input.objectUrlSeconds === undefined
      ? {}
      : { [FunctionVariable.OBJECT_URL_SECONDS]: String(input.objectUrlSeconds) }),
    ...(input.cors === undefined ? {} : { [FunctionVariable.CORS]: JSON.stringify(input.cors) }),
  };
}

/**
 * A function environment with another model version bound (and its sha256), every other variable kept but a
 * shadow build's: what `sluice deploy` publishes a Lambda version from.
 *
 * @example
 * withModelVersion(latest.Environment.Variables, 4, manifest.sha256);
 */
export function withModelVersion(
  variables: Readonly<Record<string, string>>,
  version: number,
  sha256: string,
): Record<string, string> {
  // A shadow build's variables never carry over: `$LATEST` may still hold them from the last shadow phase.
  const {
    [FunctionVariable.SHADOW_VERSION]: _version,
    [FunctionVariable.SHADOW_SHA256]: _sha256,
    [FunctionVariable.SHADOW_NUMERIC_TOLERANCE]: _tolerance,
    ...kept
  } = variables;
  return {
    ...kept,
    [FunctionVariable.MODEL_VERSION]: String(version),
    [FunctionVariable.MODEL_SHA256]: sha256,
  };
}

/** A shadow build's candidate, as its environment names it. */
export interface ShadowCandidate {
  readonly version: number;
  readonly sha256: string;
  readonly numericTolerance: number;
}

/**
 * A function environment for a *shadow build* of a shadow phase: it serves the stable version (the clients get its
 * answers) and runs `candidate` on the same requests, comparing the answers. Every other variable is kept.
 *
 * @example
 * withShadowCandidate(withModelVersion(variables, 3, stableSha), { version: 4, sha256, numericTolerance: 1e-3 });
 */
export function withShadowCandidate(
  variables: Readonly<Record<string, string>>,
  candidate: ShadowCandidate,
): Record<string, string> {
  return {
    ...variables,
    [FunctionVariable.SHADOW_VERSION]: String(candidate.version),
    [FunctionVariable.SHADOW_SHA256]: candidate.sha256,
    [FunctionVariable.SHADOW_NUMERIC_TOLERANCE]: String(candidate.numericTolerance),
  };
}

/**
 * The shadow candidate a function environment names; undefined for an ordinary build. Throws
 * {@link InvalidModelIdentityError} when only some of the variables are set, or one is malformed.
 *
 * @example
 * readShadowCandidate(configuration.Environment?.Variables, 'iris-fn:9')?.version; // 4
 */
export function readShadowCandidate(
  variables: Readonly<Record<string, string>> | undefined,
  functionLabel: string,
): ShadowCandidate | undefined {
  const values = parseEnvironment(
    ShadowEnvSchema,
    variables ?? {},
    (message, options) => new InvalidModelIdentityError(`${functionLabel}: ${message}`, options),
  );
  const version = values[FunctionVariable.SHADOW_VERSION];
  const sha256 = values[FunctionVariable.SHADOW_SHA256];
  const tolerance = values[FunctionVariable.SHADOW_NUMERIC_TOLERANCE];
  if (version === undefined && sha256 === undefined && tolerance === undefined) return undefined;
  if (version === undefined || sha256 === undefined || tolerance === undefined) {
    throw new InvalidModelIdentityError(
      `${functionLabel} names a shadow candidate without all of ${FunctionVariable.SHADOW_VERSION}, ` +
        `${FunctionVariable.SHADOW_SHA256} and ${FunctionVariable.SHADOW_NUMERIC_TOLERANCE}`,
    );
  }
  return { version: Number(version), sha256, numericTolerance: Number(tolerance) };
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
