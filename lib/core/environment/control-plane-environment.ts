import { z } from 'zod';
import { DEFAULT_KEEP_VERSIONS } from '../../aws/lambda/prune-function-versions.js';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { ConfigError } from './ConfigError.js';
import { parseEnvironment } from './parse-environment.js';

/** Variable naming the stack's models and their predict functions, as JSON `{"iris": "Sluice-Iris-AbC"}`. */
export const MODEL_FUNCTIONS_VARIABLE = 'SLUICE_MODEL_FUNCTIONS';

/** Variable holding the number of published Lambda versions kept per function ({@link DEFAULT_KEEP_VERSIONS}). */
export const KEEP_VERSIONS_VARIABLE = 'SLUICE_KEEP_VERSIONS';

/** The configuration of the rollout driver and the release custom resource, read once at cold start. */
export interface ControlPlaneConfig {
  /** Registry bucket: manifests and rollout states. */
  readonly bucket: string;
  /** S3 endpoint override (the embedded store in tests); unset on AWS. */
  readonly s3Endpoint: string | undefined;
  /** Region of the bucket and the functions (Lambda sets AWS_REGION). */
  readonly region: string;
  /** The stack's models and their predict functions (the driver's; empty for the release handlers). */
  readonly modelFunctions: Readonly<Record<string, string>>;
  /** Published Lambda versions kept per function besides the routed ones. */
  readonly keepVersions: number;
}

const ModelFunctionsSchema = z.record(ModelNameSchema, z.string().min(1));

const ControlPlaneEnvSchema = z.object({
  SLUICE_BUCKET: z.string({ error: 'is required' }).min(3, 'must name the registry bucket'),
  SLUICE_S3_ENDPOINT: z.url().optional(),
  AWS_REGION: z
    .string({ error: 'is required (Lambda sets it)' })
    .regex(/^[a-z0-9-]+$/, 'must name an AWS region'),
  [MODEL_FUNCTIONS_VARIABLE]: z
    .string()
    .refine((text) => ModelFunctionsSchema.safeParse(safeJson(text)).success, {
      message: 'must be JSON mapping model names to function names',
    })
    .optional(),
  [KEEP_VERSIONS_VARIABLE]: z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .optional(),
});

/**
 * Reads and validates the control-plane functions' environment; fails fast naming the variable and its value.
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
  const functions = values[MODEL_FUNCTIONS_VARIABLE];
  return {
    bucket: values.SLUICE_BUCKET,
    s3Endpoint: values.SLUICE_S3_ENDPOINT,
    region: values.AWS_REGION,
    modelFunctions: functions === undefined ? {} : ModelFunctionsSchema.parse(JSON.parse(functions)),
    keepVersions:
      values[KEEP_VERSIONS_VARIABLE] === undefined
        ? DEFAULT_KEEP_VERSIONS
        : Number(values[KEEP_VERSIONS_VARIABLE]),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
