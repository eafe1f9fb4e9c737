import { z } from 'zod';
import { parseEnvironment } from '../core/environment/parse-environment.js';
import { SluiceError } from '../core/errors/SluiceError.js';

/** Highest share of 5xx answers a candidate may give in the health window before the local stack rolls it back. */
export const DEFAULT_LOCAL_MAX_ERROR_RATE = 0.05;

/** Highest p99 latency, in milliseconds, a candidate may show in the health window before it is rolled back. */
export const DEFAULT_LOCAL_MAX_P99_MS = 1_000;

/**
 * Largest amount by which a candidate's share of refused inputs (4xx) may exceed the stable version's over the
 * same period (0.10 = ten percentage points) before the candidate is unhealthy.
 */
export const DEFAULT_LOCAL_MAX_REJECTED_INCREASE = 0.1;

/** The thresholds the local stack judges a candidate version against. */
export interface HealthThresholds {
  /** Share of 5xx answers above which the version is unhealthy (0..1). */
  readonly maxErrorRate: number;
  /** p99 latency in milliseconds above which the version is unhealthy. */
  readonly maxP99Ms: number;
  /** How much more of its inputs (a share, 0..1) the candidate may refuse than the stable version. */
  readonly maxRejectedIncrease: number;
}

/** The local stack's own configuration, read once at start from its environment. */
export interface LocalConfig {
  /** Health gates of local rollouts. */
  readonly health: HealthThresholds;
}

/** Raised at start when a local setting has a bad value; names the variable and the value. */
export class LocalConfigError extends SluiceError {}

const EnvSchema = z.object({
  SLUICE_LOCAL_MAX_ERROR_RATE: z
    .string()
    .regex(/^(0(\.[0-9]+)?|1(\.0+)?)$/, 'must be a share between 0 and 1, e.g. 0.05')
    .optional(),
  SLUICE_LOCAL_MAX_P99_MS: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'must be a positive number of milliseconds, e.g. 1000')
    .optional(),
  SLUICE_LOCAL_MAX_REJECTED_INCREASE: z
    .string()
    .regex(/^(0(\.[0-9]+)?|1(\.0+)?)$/, 'must be a share between 0 and 1, e.g. 0.1')
    .optional(),
});

/**
 * Reads the local stack's settings (`SLUICE_LOCAL_MAX_ERROR_RATE`, `SLUICE_LOCAL_MAX_P99_MS`,
 * `SLUICE_LOCAL_MAX_REJECTED_INCREASE`); fails fast naming
 * the variable and the value it got.
 *
 * @example
 * const config = readLocalConfig(process.env); // { health: { maxErrorRate: 0.05, maxP99Ms: 1000 } }
 */
export function readLocalConfig(env: Record<string, string | undefined>): LocalConfig {
  const values = parseEnvironment(
    EnvSchema,
    env,
    (message, options) => new LocalConfigError(message, options),
  );
  return {
    health: {
      maxErrorRate:
        values.SLUICE_LOCAL_MAX_ERROR_RATE === undefined
          ? DEFAULT_LOCAL_MAX_ERROR_RATE
          : Number(values.SLUICE_LOCAL_MAX_ERROR_RATE),
      maxP99Ms:
        values.SLUICE_LOCAL_MAX_P99_MS === undefined
          ? DEFAULT_LOCAL_MAX_P99_MS
          : Number(values.SLUICE_LOCAL_MAX_P99_MS),
      maxRejectedIncrease:
        values.SLUICE_LOCAL_MAX_REJECTED_INCREASE === undefined
          ? DEFAULT_LOCAL_MAX_REJECTED_INCREASE
          : Number(values.SLUICE_LOCAL_MAX_REJECTED_INCREASE),
    },
  };
}
