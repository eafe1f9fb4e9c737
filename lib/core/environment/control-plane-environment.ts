import * as z from 'zod';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { DEFAULT_KEEP_VERSIONS } from '../rollout/retention.js';
import { ConfigError } from './ConfigError.js';
import { parseEnvironment } from './parse-environment.js';
import { FunctionVariable } from './predict-environment.js';

/**
 * The environment of the control-plane functions (the rollout driver, the release custom resource and the alarm
 * rollback), declared once: the CDK renders it ({@link controlPlaneEnvironment}) and the functions read it at cold
 * start ({@link readControlPlaneConfig}).
 */
export const ControlPlaneVariable = {
  /** The registry bucket: manifests and rollout states (the predict function's variable of the same name). */
  BUCKET: FunctionVariable.BUCKET,
  /** An S3-compatible endpoint (the embedded store in tests); unset on AWS. */
  S3_ENDPOINT: FunctionVariable.S3_ENDPOINT,
  /** The stack's models and their predict functions, as JSON `{"iris": "Sluice-Iris-AbC"}` (the driver's). */
  MODEL_FUNCTIONS: 'SLUICE_MODEL_FUNCTIONS',
  /** Published Lambda versions kept per function besides the routed ones ({@link DEFAULT_KEEP_VERSIONS}). */
  KEEP_VERSIONS: 'SLUICE_KEEP_VERSIONS',
} as const;
/** One variable of the control plane's environment. */
export type ControlPlaneVariable = (typeof ControlPlaneVariable)[keyof typeof ControlPlaneVariable];

/** The configuration of the control-plane functions, read once at cold start. */
export interface ControlPlaneConfig {
  /** Registry bucket: manifests and rollout states. */
  readonly bucket: string;
  /** S3 endpoint override (the embedded store in tests); unset on AWS. */
  readonly s3Endpoint: string | undefined;
  /** Region of the bucket and the functions (Lambda sets AWS_REGION). */
  readonly region: string;
  /** The stack's models and their predict functions (the driver's; empty for the other functions). */
  readonly modelFunctions: Readonly<Record<string, string>>;
  /** Published Lambda versions kept per function besides the routed ones. */
  readonly keepVersions: number;
}

/** What {@link controlPlaneEnvironment} renders. */
export interface ControlPlaneEnvironmentInput {
  /** The registry bucket's name (a CDK token in the constructs). */
  readonly bucket: string;
  /** The driver's models and their functions, already rendered as JSON (a CDK token in the constructs). @default none */
  readonly modelFunctionsJson?: string;
  /** @default none: the functions use DEFAULT_KEEP_VERSIONS */
  readonly keepVersions?: number;
}

const ModelFunctionsSchema = z.record(ModelNameSchema, z.string().min(1));

const ControlPlaneEnvSchema = z.object({
  [ControlPlaneVariable.BUCKET]: z.string({ error: 'is required' }).min(3, 'must name the registry bucket'),
  [ControlPlaneVariable.S3_ENDPOINT]: z.url().optional(),
  AWS_REGION: z
    .string({ error: 'is required (Lambda sets it)' })
    .regex(/^[a-z0-9-]+$/, 'must name an AWS region'),
  [ControlPlaneVariable.MODEL_FUNCTIONS]: z
    .string()
    .refine((text) => ModelFunctionsSchema.safeParse(safeJson(text)).success, {
      message: 'must be JSON mapping model names to function names',
    })
    .optional(),
  [ControlPlaneVariable.KEEP_VERSIONS]: z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .optional(),
});

/**
 * A control-plane function's environment, as the CDK sets it.
 *
 * @example
 * new lambda.Function(this, 'Driver', { environment: controlPlaneEnvironment({ bucket: bucket.bucketName }) });
 */
export function controlPlaneEnvironment(input: ControlPlaneEnvironmentInput): Record<string, string> {
  return {
    [ControlPlaneVariable.BUCKET]: input.bucket,
    ...(input.modelFunctionsJson === undefined
      ? {}
      : { [ControlPlaneVariable.MODEL_FUNCTIONS]: input.modelFunctionsJson }),
    ...(input.keepVersions === undefined
      ? {}
      : { [ControlPlaneVariable.KEEP_VERSIONS]: String(input.keepVersions) }),
  };
}

/**
 * Reads and validates a control-plane function's environment; fails fast naming the variable and its value.
 *
 * @example
 * const config = readControlPlaneConfig(process.env);
 */
export function readControlPlaneConfig(env: Record<string, string | undefined>): ControlPlaneConfig {
  const values = parseEnvironment(
    ControlPlaneEnvSchema,
    env,
    (message, options) => new ConfigError(message, options),
  );
  const functions = values[ControlPlaneVariable.MODEL_FUNCTIONS];
  const keep = values[ControlPlaneVariable.KEEP_VERSIONS];
  return {
    bucket: values[ControlPlaneVariable.BUCKET],
    s3Endpoint: values[ControlPlaneVariable.S3_ENDPOINT],
    region: values.AWS_REGION,
    modelFunctions: functions === undefined ? {} : ModelFunctionsSchema.parse(JSON.parse(functions)),
    keepVersions: keep === undefined ? DEFAULT_KEEP_VERSIONS : Number(keep),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
