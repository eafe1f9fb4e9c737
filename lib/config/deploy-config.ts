import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SluiceError } from '../errors/SluiceError.js';
import { ModelNameSchema } from '../registry/ModelManifest.js';

/** The config file the CDK app reads when the `sluiceConfig` context value does not name another. */
export const DEFAULT_DEPLOY_CONFIG_FILE = 'sluice.config.json';

/** Named rollouts (the names CodeDeploy gave its predefined Lambda configurations), run by sluice's engine. */
export const RolloutPreset = {
  ALL_AT_ONCE: 'all-at-once',
  CANARY_10_PERCENT_5_MINUTES: 'canary-10-percent-5-minutes',
  CANARY_10_PERCENT_10_MINUTES: 'canary-10-percent-10-minutes',
  CANARY_10_PERCENT_15_MINUTES: 'canary-10-percent-15-minutes',
  CANARY_10_PERCENT_30_MINUTES: 'canary-10-percent-30-minutes',
  LINEAR_10_PERCENT_EVERY_1_MINUTE: 'linear-10-percent-every-1-minute',
  LINEAR_10_PERCENT_EVERY_2_MINUTES: 'linear-10-percent-every-2-minutes',
  LINEAR_10_PERCENT_EVERY_3_MINUTES: 'linear-10-percent-every-3-minutes',
  LINEAR_10_PERCENT_EVERY_10_MINUTES: 'linear-10-percent-every-10-minutes',
} as const;
/** A predefined rollout. */
export type RolloutPreset = (typeof RolloutPreset)[keyof typeof RolloutPreset];

/** Requests the candidate must answer in each step before the clock takes the next one (evidence). */
const MinRequestsSchema = z.number().int().min(0).max(1_000_000).optional();

/**
 * How `cdk deploy` rolls a changed model out through sluice's engine: a preset, or a custom canary or linear
 * plan; `minRequests` (default 20) is the evidence each step needs before the clock takes the next one.
 */
export const RolloutSchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    strategy: z.literal('preset'),
    preset: z.enum(Object.values(RolloutPreset) as [RolloutPreset, ...RolloutPreset[]]),
    minRequests: MinRequestsSchema,
  }),
  z.strictObject({
    strategy: z.literal('canary'),
    /** Share of traffic the new version gets first, in percent. */
    percentage: z.number().int().min(1).max(99),
    /** Minutes before the rest shifts. */
    intervalMinutes: z.number().int().min(1).max(2880),
    minRequests: MinRequestsSchema,
  }),
  z.strictObject({
    strategy: z.literal('linear'),
    /** Share added at each step, in percent. */
    percentage: z.number().int().min(1).max(99),
    /** Minutes between steps. */
    intervalMinutes: z.number().int().min(1).max(2880),
    minRequests: MinRequestsSchema,
  }),
  z.strictObject({
    strategy: z.literal('all-at-once'),
    /** Minutes the candidate bakes at 100 % before it is promoted. */
    intervalMinutes: z.number().int().min(0).max(2880).optional(),
    minRequests: MinRequestsSchema,
  }),
]);
/** A rollout policy. */
export type Rollout = z.infer<typeof RolloutSchema>;

/** Alarm thresholds on a rollout's candidate version; any alarm rolls it back. */
export const AlarmThresholdsSchema = z.strictObject({
  /** Lambda errors (invocation failures) plus sluice 5xx, per minute, at or above which the version is bad. */
  errors: z.number().int().min(1).default(1),
  /** p99 latency of the function (Lambda Duration) in milliseconds. */
  p99LatencyMs: z.number().int().min(1).default(1000),
  /** NaN or infinite outputs per minute. */
  invalidOutputs: z.number().int().min(1).default(1),
  /** Requests refused as bad input per minute: a client-side signal, so high by default. */
  rejectedInputs: z.number().int().min(1).default(100),
  /** Consecutive one-minute periods the threshold must be breached. */
  evaluationPeriods: z.number().int().min(1).max(10).default(1),
});
/** Alarm thresholds. */
export type AlarmThresholds = z.infer<typeof AlarmThresholdsSchema>;

/** Lambda architectures sluice packages onnxruntime for. */
export const Architecture = { X86_64: 'x86_64', ARM64: 'arm64' } as const;
/** A Lambda architecture. */
export type Architecture = (typeof Architecture)[keyof typeof Architecture];

/** One model to deploy: the version its `live` alias serves and how it gets there. */
export const ModelDeploymentSchema = z.strictObject({
  name: ModelNameSchema,
  /** Registry version to serve. */
  version: z.number().int().positive(),
  /** sha256 from that version's manifest (`sluice show NAME --version N`); the function refuses other bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex digits of the manifest sha256'),
  memoryMb: z.number().int().min(128).max(10240).default(1024),
  timeoutSeconds: z.number().int().min(1).max(29).default(29),
  architecture: z.enum([Architecture.X86_64, Architecture.ARM64]).default(Architecture.X86_64),
  rollout: RolloutSchema.default({ strategy: 'preset', preset: RolloutPreset.CANARY_10_PERCENT_5_MINUTES }),
  alarms: AlarmThresholdsSchema.default(AlarmThresholdsSchema.parse({})),
  /** Provisioned concurrency on the `live` alias; 0 for none. */
  provisionedConcurrency: z.number().int().min(0).max(1000).default(0),
});
/** One model deployment. */
export type ModelDeployment = z.infer<typeof ModelDeploymentSchema>;

/** API authentication: API keys with a usage plan, IAM (SigV4), or none (explicitly). */
export const AuthMode = { API_KEY: 'api-key', IAM: 'iam', NONE: 'none' } as const;
/** An API authentication mode. */
export type AuthMode = (typeof AuthMode)[keyof typeof AuthMode];

/** The whole deployment: registry, API and the models. */
export const DeployConfigSchema = z.strictObject({
  /** Stack name. */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
    .default('Sluice'),
  registry: z
    .strictObject({
      /** Days noncurrent object versions are kept before S3 deletes them. */
      noncurrentVersionDays: z.number().int().min(1).max(3650).default(30),
      /** Keep the bucket and key when the stack is deleted. */
      retainOnDelete: z.boolean().default(true),
    })
    .default({ noncurrentVersionDays: 30, retainOnDelete: true }),
  api: z
    .strictObject({
      auth: z.enum([AuthMode.API_KEY, AuthMode.IAM, AuthMode.NONE]).default(AuthMode.API_KEY),
      /** Steady-state requests per second per stage. */
      throttleRateLimit: z.number().int().min(1).default(100),
      /** Burst requests. */
      throttleBurstLimit: z.number().int().min(1).default(200),
    })
    .default({ auth: AuthMode.API_KEY, throttleRateLimit: 100, throttleBurstLimit: 200 }),
  /** E-mail address subscribed to the alarm topic. */
  alarmEmail: z.email().optional(),
  models: z.array(ModelDeploymentSchema).default([]),
});
/** The deployment configuration. */
export type DeployConfig = z.infer<typeof DeployConfigSchema>;

/** The config file is missing, not JSON, or has a bad value; the message names the field and the value. */
export class DeployConfigError extends SluiceError {}

/**
 * Parses a deployment configuration, naming the field and the value it got on the first problem.
 *
 * @example
 * const config = parseDeployConfig(JSON.parse(text), 'sluice.config.json');
 */
export function parseDeployConfig(raw: unknown, source: string): DeployConfig {
  const parsed = DeployConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((issue) => {
      const field = issue.path
        .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
        .join('')
        .replace(/^\./, '');
      return `${field || '(root)'}: ${issue.message}; got ${JSON.stringify(valueAt(raw, issue.path))}`;
    });
    throw new DeployConfigError(`${source} is invalid:\n  ${lines.join('\n  ')}`);
  }
  const names = parsed.data.models.map((model) => model.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate)
    throw new DeployConfigError(
      `${source} is invalid:\n  models: "${duplicate}" is listed twice; got ${JSON.stringify(names)}`,
    );
  return parsed.data;
}

/** Reads and parses a deployment configuration file. */
export function readDeployConfig(path: string): DeployConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeployConfigError(
      `cannot read the deployment config ${path}: ${(error as Error).message}; see "Configuring models and rollouts" in the README`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DeployConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseDeployConfig(raw, path);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
