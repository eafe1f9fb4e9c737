import { z } from 'zod';
import { ConfigError } from '../config/function-config.js';
import { parseEnvironment } from '../config/parse-environment.js';

/** The configuration of the pre-traffic hook function, read once at cold start from its environment. */
export interface HookConfig {
  /** Registry bucket holding the manifests with the golden examples. */
  readonly bucket: string;
  /** S3 endpoint override (the embedded store in tests); unset on AWS. */
  readonly s3Endpoint: string | undefined;
  /** Region of the bucket, the deployment and the function under test (Lambda sets AWS_REGION). */
  readonly region: string;
}

const HookEnvSchema = z.object({
  SLUICE_BUCKET: z.string({ error: 'is required' }).min(3, 'must name the registry bucket'),
  SLUICE_S3_ENDPOINT: z.url().optional(),
  AWS_REGION: z
    .string({ error: 'is required (Lambda sets it)' })
    .regex(/^[a-z0-9-]+$/, 'must name an AWS region'),
});

/**
 * Reads and validates the pre-traffic hook's environment; fails fast naming the variable and its value.
 *
 * @example
 * const config = readHookConfig(process.env);
 */
export function readHookConfig(env: Record<string, string | undefined>): HookConfig {
  const values = parseEnvironment(
    HookEnvSchema,
    env,
    (message, options) => new ConfigError(message, options),
  );
  return {
    bucket: values.SLUICE_BUCKET,
    s3Endpoint: values.SLUICE_S3_ENDPOINT,
    region: values.AWS_REGION,
  };
}
