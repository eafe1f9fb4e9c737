import type { AlarmThresholds } from '../../config/deploy-config.js';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
} from '../../observability/metric-names.js';
import { VersionAlarmKind, versionAlarmName } from './version-alarm-name.js';

/** Period of every version alarm: the alarm-driven rollback reacts within a minute, the driver reads them every tick. */
export const VERSION_ALARM_PERIOD_SECONDS = 60;

/** Namespace of Lambda's own metrics. */
export const LAMBDA_NAMESPACE = 'AWS/Lambda';

/** The Lambda version and model version a set of alarms watches. */
export interface VersionAlarmTarget {
  /** The function's name (not its ARN); a CDK token in the constructs. */
  readonly functionName: string;
  /** The alias clients invoke; Lambda publishes alias traffic with `Resource = function:alias`. */
  readonly alias: string;
  /** The published Lambda version; a CDK token in the constructs. */
  readonly lambdaVersion: string;
  readonly model: string;
  readonly modelVersion: number;
}

/** One alarm, as data: the constructs turn it into `cloudwatch.Alarm`, the AWS rollout target into PutMetricAlarm. */
export interface VersionAlarmSpec {
  readonly kind: VersionAlarmKind;
  readonly alarmName: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** `Sum`, or the percentile `p99` (an extended statistic). */
  readonly statistic: 'Sum' | 'p99';
  readonly periodSeconds: number;
  /** The alarm fires at or above this value. */
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly description: string;
}

/**
 * The alarms scoped to one version: Lambda `Errors` and p99 `Duration` with the dimensions Lambda publishes
 * for alias traffic (FunctionName, Resource = function:alias, ExecutedVersion; `Version.metric*()` matches
 * nothing for alias invocations, aws/aws-cdk#14248), and sluice's own EMF `Errors`, `InvalidOutputs` and
 * `RejectedInputs` of the model version. Every alarm treats missing data as not breaching, so a canary with
 * little traffic neither blocks a release nor rolls back a good one.
 *
 * @example
 * const specs = versionAlarmSpecs(
 *   { functionName: 'Sluice-Iris-AbC', alias: 'live', lambdaVersion: '7', model: 'iris', modelVersion: 4 },
 *   AlarmThresholdsSchema.parse({}),
 * );
 */
export function versionAlarmSpecs(
  target: VersionAlarmTarget,
  thresholds: AlarmThresholds,
): VersionAlarmSpec[] {
  const lambdaDimensions = {
    FunctionName: target.functionName,
    Resource: `${target.functionName}:${target.alias}`,
    ExecutedVersion: target.lambdaVersion,
  };
  const sluiceDimensions = {
    service: METRICS_SERVICE,
    [MetricDimension.MODEL]: target.model,
    [MetricDimension.VERSION]: String(target.modelVersion),
    // Only this Lambda version's requests, also when the one before served the same model version.
    [MetricDimension.FUNCTION_VERSION]: target.lambdaVersion,
  };
  const spec = (
    kind: VersionAlarmKind,
    metric: Pick<VersionAlarmSpec, 'namespace' | 'metricName' | 'dimensions' | 'statistic'>,
    threshold: number,
    what: string,
  ): VersionAlarmSpec => ({
    kind,
    alarmName: versionAlarmName(target.functionName, target.lambdaVersion, kind),
    ...metric,
    periodSeconds: VERSION_ALARM_PERIOD_SECONDS,
    threshold,
    evaluationPeriods: thresholds.evaluationPeriods,
    description: `sluice ${target.model} version ${target.modelVersion}: ${what}; rolls the version back`,
  });
  const lambdaMetric = (metricName: string, statistic: VersionAlarmSpec['statistic']) => ({
    namespace: LAMBDA_NAMESPACE,
    metricName,
    dimensions: lambdaDimensions,
    statistic,
  });
  const sluiceMetric = (metricName: string) => ({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensions: sluiceDimensions,
    statistic: 'Sum' as const,
  });
  return [
    spec(
      VersionAlarmKind.ERRORS,
      lambdaMetric('Errors', 'Sum'),
      thresholds.errors,
      `Lambda errors >= ${thresholds.errors}/min`,
    ),
    spec(
      VersionAlarmKind.P99,
      lambdaMetric('Duration', 'p99'),
      thresholds.p99LatencyMs,
      `p99 duration >= ${thresholds.p99LatencyMs} ms`,
    ),
    spec(
      VersionAlarmKind.MODEL_ERRORS,
      sluiceMetric(MetricName.ERRORS),
      thresholds.errors,
      `5xx answers >= ${thresholds.errors}/min`,
    ),
    spec(
      VersionAlarmKind.INVALID_OUTPUTS,
      sluiceMetric(MetricName.INVALID_OUTPUTS),
      thresholds.invalidOutputs,
      `NaN/Inf outputs >= ${thresholds.invalidOutputs}/min`,
    ),
    spec(
      VersionAlarmKind.REJECTED_INPUTS,
      sluiceMetric(MetricName.REJECTED_INPUTS),
      thresholds.rejectedInputs,
      `rejected inputs >= ${thresholds.rejectedInputs}/min`,
    ),
  ];
}
