import type { AlarmThresholds } from '../config/alarm-thresholds.js';
import { VersionAlarmKind } from './version-alarm-name.js';

/** The figures of one version over a period that the gates judge. */
export interface GateFigures {
  /** Requests answered (every status). */
  readonly requests: number;
  /** Of which answered 5xx (a version that cannot load answers 503: it counts). */
  readonly errors: number;
  /** Of which answered 4xx: input the version refused. */
  readonly rejected: number;
  /** NaN or infinite output values the version produced. */
  readonly invalidOutputs: number;
  /** p99 latency in milliseconds (0 with no requests). */
  readonly p99Ms: number;
}

/** The thresholds the gates use: the `alarms` of a model in sluice.config.json, or the local stack's settings. */
export type GateThresholds = Pick<
  AlarmThresholds,
  'errorRatePercent' | 'p99LatencyMs' | 'invalidOutputs' | 'rejectedInputsPercent'
> & {
  /** With the stable version's latency of the same period: the candidate's p99 may be this many times it. @default P99_LATENCY_RATIO */
  readonly p99LatencyRatio?: number;
  /** ... and this many milliseconds above it, whichever allows more. @default P99_LATENCY_FLOOR_MS */
  readonly p99LatencyFloorMs?: number;
};

/**
 * How much slower than the stable version, over the same period, a candidate's p99 may be: 1.5 times. The
 * machine's own speed moves both (a restart's reloads, a busy laptop), so the latency gate compares them where it
 * has the stable version's figures, and uses the absolute ceiling only where it has not.
 */
export const P99_LATENCY_RATIO = 1.5;

/** ... and by at least 50 ms: a 2 ms model at 4 ms is not slow. */
export const P99_LATENCY_FLOOR_MS = 50;

/** Requests of the stable version in the period before its p99 is a baseline: a p99 of a handful is noise. */
export const P99_BASELINE_MIN_REQUESTS = 20;

/** One gate that fired: which, and why in words (the figure, the threshold and the count). */
export interface GateBreach {
  readonly gate: VersionAlarmKind;
  readonly reason: string;
}

/** One gate: the alarm kind it is on AWS, and the rule, as a pure function of a version's figures. */
interface VersionGate {
  readonly gate: VersionAlarmKind;
  /**
   * The breach of this gate, or undefined. `baseline` is the stable version's figures over the same period, where
   * the judge has them.
   */
  readonly judge: (
    figures: GateFigures,
    thresholds: GateThresholds,
    label: string,
    baseline: GateFigures | undefined,
  ) => string | undefined;
}

/**
 * The gates a candidate version passes, declared once. On AWS each is a CloudWatch alarm on the version's metrics
 * (`versionAlarmSpecs` renders them: ERRORS from Lambda's own errors, the others from the function's metrics, each
 * firing at or above its threshold); locally the stack's health window judges the same rules on the same figures
 * with {@link breachedGates}. A test holds the two lists together.
 *
 * `rejected-inputs` compares the candidate with the stable version measured over the same period (the local
 * stack): clients' bad input is refused by both and is nobody's fault; a candidate that renamed an input refuses
 * what the stable version accepts. Without the stable version's figures it judges nothing. CloudWatch's alarm sees
 * the candidate alone and fires on its absolute share. Lambda's own `errors` (a crashed invocation) has no local
 * counterpart: locally an uncaught error is a 500, which `model-errors` counts.
 */
export const VERSION_GATES: readonly VersionGate[] = [
  {
    gate: VersionAlarmKind.MODEL_ERRORS,
    judge: (figures, thresholds, label) => {
      const percent = share(figures.errors, figures.requests);
      if (percent < thresholds.errorRatePercent) return undefined;
      return `error rate ${formatPercent(percent)} (${figures.errors} of ${figures.requests} requests ${label}) is at or above the limit of ${formatPercent(thresholds.errorRatePercent)}`;
    },
  },
  {
    gate: VersionAlarmKind.P99,
    judge: (figures, thresholds, label, baseline) => {
      // Against the stable version's p99 of the same period, where it answered (a ratio with a floor).
      if (baseline !== undefined && baseline.p99Ms > 0 && baseline.requests >= P99_BASELINE_MIN_REQUESTS) {
        const ratio = thresholds.p99LatencyRatio ?? P99_LATENCY_RATIO;
        const floor = thresholds.p99LatencyFloorMs ?? P99_LATENCY_FLOOR_MS;
        const limit = Math.max(baseline.p99Ms * ratio, baseline.p99Ms + floor);
        if (figures.p99Ms < limit) return undefined;
        return (
          `p99 latency ${Math.round(figures.p99Ms)} ms ${label} is at or above ${Math.round(limit)} ms: ${ratio} times ` +
          `the stable version's ${Math.round(baseline.p99Ms)} ms in the same period (and at least ${floor} ms above it)`
        );
      }
      return figures.p99Ms < thresholds.p99LatencyMs
        ? undefined
        : `p99 latency ${Math.round(figures.p99Ms)} ms ${label} is at or above the limit of ${thresholds.p99LatencyMs} ms`;
    },
  },
  {
    gate: VersionAlarmKind.INVALID_OUTPUTS,
    judge: (figures, thresholds, label) =>
      figures.invalidOutputs < thresholds.invalidOutputs
        ? undefined
        : `${figures.invalidOutputs} NaN or infinite output values ${label} (the limit is ${thresholds.invalidOutputs})`,
  },
  {
    gate: VersionAlarmKind.REJECTED_INPUTS,
    judge: (figures, thresholds, label, baseline) => {
      // Without the stable version to compare with (no rollout), refusals are the clients' input, nobody's fault.
      if (baseline === undefined) return undefined;
      const percent = share(figures.rejected, figures.requests);
      const base = baseline.requests > 0 ? share(baseline.rejected, baseline.requests) : 0;
      if (percent - base < thresholds.rejectedInputsPercent) return undefined;
      const against = ` against ${formatPercent(base)} for the stable version (${baseline.rejected} of ${baseline.requests}) in the same period`;
      return (
        `refused inputs ${formatPercent(percent)} (${figures.rejected} of ${figures.requests}) ${label}${against}: ` +
        `${formatPercent(thresholds.rejectedInputsPercent)} or more above it; clients' inputs that the stable version accepts are refused`
      );
    },
  },
];

/**
 * The gates a version's figures breach, in the order of {@link VERSION_GATES}; empty when it passes them all.
 * Callers decide whether there are enough requests to judge at all.
 *
 * @example
 * breachedGates({ requests: 20, errors: 2, rejected: 0, invalidOutputs: 0, p99Ms: 12 }, thresholds, 'in the last 30 s');
 * // [{ gate: 'model-errors', reason: 'error rate 10.0% (2 of 20 requests in the last 30 s) is at or above ...' }]
 */
export function breachedGates(
  figures: GateFigures,
  thresholds: GateThresholds,
  label: string,
  baseline?: GateFigures,
): GateBreach[] {
  const breaches: GateBreach[] = [];
  for (const { gate, judge } of VERSION_GATES) {
    const reason = judge(figures, thresholds, label, baseline);
    if (reason !== undefined) breaches.push({ gate, reason });
  }
  return breaches;
}

function share(count: number, total: number): number {
  return total === 0 ? 0 : (100 * count) / total;
}

function formatPercent(percent: number): string {
  return `${percent.toFixed(1)}%`;
}
