import type { AlarmThresholds } from '../config/alarm-thresholds.js';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricDimension, MetricName } from '../metrics/metric-names.js';
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

/** One metric an alarm reads: alone, or as an input of its expression. */
export interface VersionAlarmMetric {
  /** Id in the alarm's `Metrics` (lower-case first letter), referenced by the expression. */
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** `Sum`, or the percentile `p99` (an extended statistic). */
  readonly statistic: 'Sum' | 'p99';
}

/**
 * How every version alarm treats a minute without data: `missing`, so an alarm whose whole evaluation range has
 * no data goes to INSUFFICIENT_DATA, which the engine reads as no evidence (never as healthy, unlike
 * `notBreaching`): "missing – If all data points in the alarm evaluation range are missing, the alarm
 * transitions to INSUFFICIENT_DATA"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
 */
export const VERSION_ALARM_MISSING_DATA = 'missing';

/**
 * The p99 alarm is evaluated also on fewer samples than a p99 needs: with `ignore` "the alarm state does not
 * change during periods with too few data points to be statistically significant", which for p99 means fewer
 * than 1,000 samples in the period
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html): a canary
 * at a few requests a minute would stay INSUFFICIENT_DATA, and so never be promoted. One slow request is kept
 * from tripping it by M out of N instead (`datapointsToAlarm`).
 */
export const VERSION_ALARM_LOW_SAMPLE_PERCENTILE = 'evaluate';

/**
 * One alarm, as data: the AWS rollout target renders it into PutMetricAlarm ({@link versionAlarmInput}). Every
 * field maps to a PutMetricAlarm parameter
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export interface VersionAlarmSpec {
  readonly kind: VersionAlarmKind;
  readonly alarmName: string;
  /** One metric (the alarm watches it), or the inputs of {@link expression}. */
  readonly metrics: readonly VersionAlarmMetric[];
  /**
   * Metric math over {@link metrics} (PutMetricAlarm `Metrics` with one expression returning data), e.g. an
   * error rate; absent when the alarm watches its one metric directly.
   */
  readonly expression?: string;
  /** What the expression computes, shown on the alarm's graph. */
  readonly expressionLabel?: string;
  readonly periodSeconds: number;
  /** The alarm fires at or above this value. */
  readonly threshold: number;
  /**
   * The N of "M out of N": how many periods are evaluated
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
   */
  readonly evaluationPeriods: number;
  /** The M of "M out of N": how many of them must breach; one slow or failing minute alone is not enough. */
  readonly datapointsToAlarm: number;
  readonly treatMissingData: typeof VERSION_ALARM_MISSING_DATA;
  /** Set on percentile alarms only. */
  readonly evaluateLowSampleCountPercentile?: typeof VERSION_ALARM_LOW_SAMPLE_PERCENTILE;
  readonly description: string;
}

/**
 * The alarms scoped to one version, each evaluated M out of N one-minute periods (default 2 of 3, so one slow
 * or failed minute alone never rolls a version back) with missing data as missing (no traffic is no evidence):
 * - `errors`: Lambda `Errors` / `Invocations` in percent, with the dimensions Lambda publishes for alias
 *   traffic (FunctionName, Resource = function:alias, ExecutedVersion; `Version.metric*()` matches nothing for
 *   alias invocations, aws/aws-cdk#14248);
 * - `p99`: sluice's `Latency` p99 of the version's routed requests (no model-load waits, no requests naming a
 *   version), evaluated also on few samples (see {@link VERSION_ALARM_LOW_SAMPLE_PERCENTILE});
 * - `model-errors`: sluice's 5xx `Errors` / `Requests` in percent, of this Lambda version's requests (the EMF
 *   dimension set with `FunctionVersion`);
 * - `invalid-outputs`: sluice's `InvalidOutputs` (NaN or infinite values) per minute;
 * - `rejected-inputs`: sluice's `RejectedInputs` / `Requests` in percent.
 * Rates divide by the requests of the same minute, so a minute without requests has no datapoint (missing);
 * `FILL(errors, 0)` makes a minute with requests but no error datapoint a 0 % minute.
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
  const lambdaMetric = (id: string, metricName: string, statistic: VersionAlarmMetric['statistic']) => ({
    id,
    namespace: LAMBDA_NAMESPACE,
    metricName,
    dimensions: lambdaDimensions,
    statistic,
  });
  const sluiceMetric = (
    id: string,
    metricName: string,
    statistic: VersionAlarmMetric['statistic'] = 'Sum',
  ) => ({
    id,
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensions: sluiceDimensions,
    statistic,
  });
  const spec = (
    kind: VersionAlarmKind,
    watched: Pick<
      VersionAlarmSpec,
      'metrics' | 'expression' | 'expressionLabel' | 'evaluateLowSampleCountPercentile'
    >,
    threshold: number,
    what: string,
  ): VersionAlarmSpec => ({
    kind,
    alarmName: versionAlarmName(target.functionName, target.lambdaVersion, kind),
    ...watched,
    periodSeconds: VERSION_ALARM_PERIOD_SECONDS,
    threshold,
    evaluationPeriods: thresholds.evaluationPeriods,
    datapointsToAlarm: thresholds.datapointsToAlarm,
    treatMissingData: VERSION_ALARM_MISSING_DATA,
    description:
      `sluice ${target.model} version ${target.modelVersion}: ${what} in ${thresholds.datapointsToAlarm} of ` +
      `${thresholds.evaluationPeriods} minutes; rolls the version back`,
  });
  const rate = (failed: VersionAlarmMetric, total: VersionAlarmMetric, label: string) => ({
    metrics: [failed, total],
    expression: `100 * FILL(${failed.id}, 0) / ${total.id}`,
    expressionLabel: label,
  });
  return [
    spec(
      VersionAlarmKind.ERRORS,
      rate(
        lambdaMetric('errors', 'Errors', 'Sum'),
        lambdaMetric('invocations', 'Invocations', 'Sum'),
        'Lambda errors (% of invocations)',
      ),
      thresholds.errorRatePercent,
      `Lambda errors >= ${thresholds.errorRatePercent}% of invocations`,
    ),
    spec(
      VersionAlarmKind.P99,
      {
        // sluice's own Latency of this Lambda version's routed requests, not Lambda's Duration: a request that named
        // its version (a smoke test) or waited for a model load writes none under this dimension set. CloudWatch
        // computes percentiles of custom metrics published as single values, as EMF does
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Percentiles).
        metrics: [sluiceMetric('latency', MetricName.LATENCY, 'p99')],
        evaluateLowSampleCountPercentile: VERSION_ALARM_LOW_SAMPLE_PERCENTILE,
      },
      thresholds.p99LatencyMs,
      `p99 latency >= ${thresholds.p99LatencyMs} ms`,
    ),
    spec(
      VersionAlarmKind.MODEL_ERRORS,
      rate(
        sluiceMetric('errors', MetricName.ERRORS),
        sluiceMetric('requests', MetricName.REQUESTS),
        '5xx answers (% of requests)',
      ),
      thresholds.errorRatePercent,
      `5xx answers >= ${thresholds.errorRatePercent}% of requests`,
    ),
    spec(
      VersionAlarmKind.INVALID_OUTPUTS,
      { metrics: [sluiceMetric('invalid', MetricName.INVALID_OUTPUTS)] },
      thresholds.invalidOutputs,
      `NaN/Inf outputs >= ${thresholds.invalidOutputs}/min`,
    ),
    spec(
      VersionAlarmKind.REJECTED_INPUTS,
      rate(
        sluiceMetric('rejected', MetricName.REJECTED_INPUTS),
        sluiceMetric('requests', MetricName.REQUESTS),
        'refused inputs (% of requests)',
      ),
      thresholds.rejectedInputsPercent,
      `refused inputs >= ${thresholds.rejectedInputsPercent}% of requests`,
    ),
  ];
}
