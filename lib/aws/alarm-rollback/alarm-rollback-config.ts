import { z } from 'zod';
import { parseEnvironment } from '../../core/environment/parse-environment.js';
import { ConfigError } from '../../serving/function-config.js';

/** The configuration of the alarm-rollback function, read once at cold start from its environment. */
export interface AlarmRollbackConfig {
  /** Registry bucket holding the rollout states (`rollouts/NAME/`). */
  readonly bucket: string;
  /** S3 endpoint override (the embedded store in tests); unset on AWS. */
  readonly s3Endpoint: string | undefined;
  /** Region of the bucket and the functions (Lambda sets AWS_REGION). */
  readonly region: string;
}

const AlarmRollbackEnvSchema = z.object({
  SLUICE_BUCKET: z.string({ error: 'is required' }).min(3, 'must name the registry bucket'),
  SLUICE_S3_ENDPOINT: z.url().optional(),
  AWS_REGION: z
    .string({ error: 'is required (Lambda sets it)' })
    .regex(/^[a-z0-9-]+$/, 'must name an AWS region'),
});

/**
 * Reads and validates the alarm-rollback function's environment; fails fast naming the variable and its value.
 *
 * @example
 * const config = readAlarmRollbackConfig(process.env);
 */
export function readAlarmRollbackConfig(env: Record<string, string | undefined>): AlarmRollbackConfig {
  const values = parseEnvironment(
    AlarmRollbackEnvSchema,
    env,
    (message, options) => new ConfigError(message, options),
  );
  return {
    bucket: values.SLUICE_BUCKET,
    s3Endpoint: values.SLUICE_S3_ENDPOINT,
    region: values.AWS_REGION,
  };
}
