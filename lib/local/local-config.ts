import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { parseDeployConfig } from '../core/config/deploy-config.js';
import type { CorsSettings } from '../core/contract/cors.js';
import { parseEnvironment } from '../core/environment/parse-environment.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import type { GateThresholds } from '../core/gates/version-gates.js';

/** Share of 5xx answers (percent) at which the local stack rolls a candidate back. */
export const DEFAULT_LOCAL_ERROR_RATE_PERCENT = 5;

/** p99 latency, in milliseconds, at which a candidate is rolled back. */
export const DEFAULT_LOCAL_P99_MS = 1_000;

/** NaN or infinite output values at which a candidate is rolled back (as the AWS alarm's default). */
export const DEFAULT_LOCAL_INVALID_OUTPUTS = 1;

/**
 * Percentage points by which a candidate's share of refused inputs (4xx) may exceed the stable version's over the
 * same period before the candidate is rolled back.
 */
export const DEFAULT_LOCAL_REJECTED_INCREASE_PERCENT = 10;

/** The local stack's own configuration, read once at start from its environment. */
export interface LocalConfig {
  /** The gates of local rollouts: the same gates and thresholds as a model's `alarms` in sluice.config.json. */
  readonly health: GateThresholds;
}

/** Raised at start when a local setting has a bad value; names the variable and the value. */
export class LocalConfigError extends SluiceError {}

/** A share between 0 and 1, as the variables take it. */
const SHARE = /^(0(\.[0-9]+)?|1(\.0+)?)$/;

const EnvSchema = z.object({
  SLUICE_LOCAL_MAX_ERROR_RATE: z
    .string()
    .regex(SHARE, 'must be a share between 0 and 1, e.g. 0.05')
    .optional(),
  SLUICE_LOCAL_MAX_P99_MS: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'must be a positive number of milliseconds, e.g. 1000')
    .optional(),
  SLUICE_LOCAL_MAX_REJECTED_INCREASE: z
    .string()
    .regex(SHARE, 'must be a share between 0 and 1, e.g. 0.1')
    .optional(),
  SLUICE_LOCAL_MAX_INVALID_OUTPUTS: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'must be a positive number of output values, e.g. 1')
    .optional(),
});

/**
 * Reads the local stack's settings (`SLUICE_LOCAL_MAX_ERROR_RATE`, `SLUICE_LOCAL_MAX_P99_MS`,
 * `SLUICE_LOCAL_MAX_REJECTED_INCREASE`, `SLUICE_LOCAL_MAX_INVALID_OUTPUTS`) into the gates' thresholds; fails fast
 * naming the variable and the value it got.
 *
 * @example
 * readLocalConfig({ SLUICE_LOCAL_MAX_ERROR_RATE: '0.1' }).health.errorRatePercent; // 10
 */
export function readLocalConfig(env: Record<string, string | undefined>): LocalConfig {
  const values = parseEnvironment(
    EnvSchema,
    env,
    (message, options) => new LocalConfigError(message, options),
  );
  const percentOf = (share: string | undefined, fallback: number): number =>
    share === undefined ? fallback : Number(share) * 100;
  return {
    health: {
      errorRatePercent: percentOf(values.SLUICE_LOCAL_MAX_ERROR_RATE, DEFAULT_LOCAL_ERROR_RATE_PERCENT),
      p99LatencyMs:
        values.SLUICE_LOCAL_MAX_P99_MS === undefined
          ? DEFAULT_LOCAL_P99_MS
          : Number(values.SLUICE_LOCAL_MAX_P99_MS),
      invalidOutputs:
        values.SLUICE_LOCAL_MAX_INVALID_OUTPUTS === undefined
          ? DEFAULT_LOCAL_INVALID_OUTPUTS
          : Number(values.SLUICE_LOCAL_MAX_INVALID_OUTPUTS),
      rejectedInputsPercent: percentOf(
        values.SLUICE_LOCAL_MAX_REJECTED_INCREASE,
        DEFAULT_LOCAL_REJECTED_INCREASE_PERCENT,
      ),
    },
  };
}

/**
 * The CORS settings the local stack applies: `api.cors` of the deployment config (`path`, sluice.config.json), so a
 * web app calls the local stack as it will call the deployed API. None when the file is absent; a config that is
 * not valid fails the start, naming what is wrong, as `cdk synth` would.
 *
 * @example
 * const cors = await readLocalCors('sluice.config.json');
 */
export async function readLocalCors(path: string): Promise<CorsSettings | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LocalConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseDeployConfig(raw, path).api.cors;
}
