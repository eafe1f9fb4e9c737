import * as z from 'zod';
import { type CorsSettings, CorsSettingsSchema } from '../core/contract/cors.js';
import { DEFAULT_OBJECT_URL_SECONDS, MAX_OBJECT_URL_SECONDS } from '../core/contract/tensor-objects.js';
import { ConfigError } from '../core/environment/ConfigError.js';
import { parseEnvironment } from '../core/environment/parse-environment.js';
import {
  FunctionVariable,
  ModelIdentityEnvSchema,
  readShadowCandidate,
  type ShadowCandidate,
} from '../core/environment/predict-environment.js';

/** Share of the function's memory given to the session cache when SLUICE_CACHE_BYTES is not set. */
export const CACHE_SHARE_OF_MEMORY = 0.4;

/** Cache budget when neither SLUICE_CACHE_BYTES nor the Lambda memory size is known. */
export const FALLBACK_CACHE_BYTES = 512 * 1024 * 1024;

/** The configuration of the predict function, read once at cold start from its environment. */
export interface FunctionConfig {
  /** Registry bucket. */
  readonly bucket: string;
  /** The model this function serves. */
  readonly model: string;
  /** The version the unversioned routes serve; loaded at cold start. */
  readonly version: number;
  /** Expected sha256 of that version, when the deployment pinned it. */
  readonly sha256: string | undefined;
  /** Byte budget of the session cache. */
  readonly cacheBytes: number;
  /** S3 endpoint override (the embedded store in tests); unset on AWS. */
  readonly s3Endpoint: string | undefined;
  /** AWS region of the bucket. */
  readonly region: string;
  /** Whether to log one line per successful request (SLUICE_LOG_REQUESTS=true); refusals and errors are always logged. */
  readonly logRequests: boolean;
  /** The published Lambda version running this code (AWS_LAMBDA_FUNCTION_VERSION), unset for `$LATEST` and off Lambda. */
  readonly functionVersion: string | undefined;
  /**
   * Lifetime of the presigned URLs of tensors sent by reference (SLUICE_OBJECT_URL_SECONDS), in seconds; their
   * objects live under `requests/MODEL/` of {@link bucket}.
   */
  readonly objectUrlSeconds: number;
  /** In a shadow build: the candidate that answers every request too, unseen (see SLUICE_SHADOW_VERSION). */
  readonly shadow?: ShadowCandidate;
  /** The CORS headers to add to answers (SLUICE_CORS; behind a REST API only). */
  readonly cors?: CorsSettings;
}

/** The predict function's environment (the contract in function-environment.ts) plus what Lambda sets. */
const EnvSchema = z.object({
  [FunctionVariable.BUCKET]: z.string().min(3, 'must name the registry bucket'),
  ...ModelIdentityEnvSchema.shape,
  [FunctionVariable.CACHE_BYTES]: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'must be a positive number of bytes')
    .optional(),
  [FunctionVariable.S3_ENDPOINT]: z.url().optional(),
  [FunctionVariable.LOG_REQUESTS]: z.enum(['true', 'false']).optional(),
  [FunctionVariable.OBJECT_URL_SECONDS]: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'must be a positive number of seconds')
    .refine(
      (text) => Number(text) <= MAX_OBJECT_URL_SECONDS,
      `must be at most ${MAX_OBJECT_URL_SECONDS} seconds`,
    )
    .optional(),
  [FunctionVariable.CORS]: z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(CorsSettingsSchema)
    .optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z
    .string()
    .regex(/^[0-9]+$/)
    .optional(),
  AWS_LAMBDA_FUNCTION_VERSION: z.string().optional(),
});

/** Published Lambda versions are numbers; `$LATEST` is not one. */
const PUBLISHED_VERSION_PATTERN = /^[1-9][0-9]*$/;

/**
 * Reads and validates the predict function's environment; fails fast naming the variable and its value.
 *
 * @example
 * const config = readFunctionConfig(process.env);
 */
export function readFunctionConfig(env: Record<string, string | undefined>): FunctionConfig {
  const values = parseEnvironment(EnvSchema, env, (message, options) => new ConfigError(message, options));
  const memoryMb = values.AWS_LAMBDA_FUNCTION_MEMORY_SIZE
    ? Number(values.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
    : undefined;
  return {
    bucket: values.SLUICE_BUCKET,
    model: values.SLUICE_MODEL,
    version: Number(values.SLUICE_MODEL_VERSION),
    sha256: values.SLUICE_MODEL_SHA256,
    cacheBytes: values.SLUICE_CACHE_BYTES
      ? Number(values.SLUICE_CACHE_BYTES)
      : memoryMb
        ? Math.floor(memoryMb * 1024 * 1024 * CACHE_SHARE_OF_MEMORY)
        : FALLBACK_CACHE_BYTES,
    s3Endpoint: values.SLUICE_S3_ENDPOINT,
    region: values.AWS_REGION ?? 'us-east-1',
    logRequests: values.SLUICE_LOG_REQUESTS === 'true',
    objectUrlSeconds: values.SLUICE_OBJECT_URL_SECONDS
      ? Number(values.SLUICE_OBJECT_URL_SECONDS)
      : DEFAULT_OBJECT_URL_SECONDS,
    functionVersion: PUBLISHED_VERSION_PATTERN.test(values.AWS_LAMBDA_FUNCTION_VERSION ?? '')
      ? values.AWS_LAMBDA_FUNCTION_VERSION
      : undefined,
    ...shadowOf(env),
    ...(values.SLUICE_CORS === undefined ? {} : { cors: values.SLUICE_CORS }),
  };
}

/** The shadow candidate of a shadow build's environment, as the config's optional key. */
function shadowOf(env: Record<string, string | undefined>): { shadow?: ShadowCandidate } {
  const defined = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const shadow = readShadowCandidate(defined, 'this function');
  return shadow === undefined ? {} : { shadow };
}
