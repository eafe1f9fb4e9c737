import * as z from 'zod';
import { LARGE_DRIFT_PSI } from '../stats/drift.js';

/**
 * Keys of `alarms` that earlier sluice releases had: per-minute counts, replaced by rates. Versions published
 * before the change still carry them in their environment (`SLUICE_ALARM_THRESHOLDS`); there they are dropped
 * and the rate defaults apply. In sluice.config.json they are refused, naming the replacement.
 */
export const LEGACY_ALARM_KEYS = {
  errors: 'errorRatePercent (the share of failed requests, in percent)',
  rejectedInputs: 'rejectedInputsPercent (the share of refused requests, in percent)',
} as const;

/** Evaluation periods (one minute each) an alarm looks at by default: the N of "M out of N". */
export const DEFAULT_ALARM_EVALUATION_PERIODS = 3;

/** Breaching periods among them that put an alarm in ALARM by default: the M of "M out of N". */
export const DEFAULT_DATAPOINTS_TO_ALARM = 2;

const AlarmThresholdsShape = z.strictObject({
  /**
   * Failed requests in percent of the requests, per minute: Lambda `Errors`/`Invocations` and sluice's own
   * 5xx `Errors`/`Requests` of the version, each its own alarm.
   */
  errorRatePercent: z.number().gt(0).max(100).default(5),
  /** p99 latency in milliseconds of the version's routed requests (sluice's `Latency`, not Lambda's Duration). */
  p99LatencyMs: z.number().int().min(1).default(1000),
  /** NaN or infinite output values per minute. */
  invalidOutputs: z.number().int().min(1).default(1),
  /**
   * Requests refused as bad input (4xx) in percent of the requests, per minute: a client-side signal, so high
   * by default; a candidate whose signature changed refuses nearly every request.
   */
  rejectedInputsPercent: z.number().gt(0).max(100).default(50),
  /**
   * The model's drift alarm: the largest drift figure (`DriftPsi` at its Maximum: the population stability of a
   * window of one output's answers, classes or binned values, against the version's reference set) at or above this
   * over 2 of 3 periods of 15 minutes. It notifies, never rolls back: inputs may shift for reasons that are no fault
   * of the version.
   */
  driftPsi: z.number().gt(0).max(10).default(LARGE_DRIFT_PSI),
  /** One-minute periods each alarm evaluates: the N of "M out of N". */
  evaluationPeriods: z.number().int().min(1).max(10).default(DEFAULT_ALARM_EVALUATION_PERIODS),
  /**
   * Breaching periods among the last `evaluationPeriods` that put an alarm in ALARM: the M of "M out of N".
   * Default: 2, or `evaluationPeriods` when that is smaller.
   */
  datapointsToAlarm: z.number().int().min(1).max(10).optional(),
});

function dropLegacyAlarmKeys(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !(key in LEGACY_ALARM_KEYS)));
}

/**
 * Alarm thresholds on a rollout's candidate version; any alarm in ALARM rolls it back. Legacy keys
 * ({@link LEGACY_ALARM_KEYS}) are dropped, so the environment of a version published by an earlier sluice still
 * parses; the deployment config refuses them ({@link ConfiguredAlarmThresholdsSchema}).
 */
export const AlarmThresholdsSchema = z
  .preprocess(dropLegacyAlarmKeys, AlarmThresholdsShape)
  .transform((thresholds) => ({
    ...thresholds,
    datapointsToAlarm:
      thresholds.datapointsToAlarm ?? Math.min(DEFAULT_DATAPOINTS_TO_ALARM, thresholds.evaluationPeriods),
  }))
  .refine((thresholds) => thresholds.datapointsToAlarm <= thresholds.evaluationPeriods, {
    message: 'datapointsToAlarm (M) must not exceed evaluationPeriods (N)',
    path: ['datapointsToAlarm'],
  });
/** Alarm thresholds. */
export type AlarmThresholds = z.infer<typeof AlarmThresholdsSchema>;

/** The `alarms` of a model in sluice.config.json: {@link AlarmThresholdsSchema}, refusing the legacy keys. */
export const ConfiguredAlarmThresholdsSchema = z
  .unknown()
  .superRefine((raw, context) => {
    if (raw === null || typeof raw !== 'object') return;
    for (const [key, replacement] of Object.entries(LEGACY_ALARM_KEYS)) {
      if (key in raw)
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `was a count per minute and is replaced by ${replacement}; see "Alarms" in the README`,
        });
    }
  })
  .pipe(AlarmThresholdsSchema);
