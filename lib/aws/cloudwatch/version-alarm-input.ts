import {
  ComparisonOperator,
  type MetricDataQuery,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import type { VersionAlarmMetric, VersionAlarmSpec } from '../../core/gates/version-alarm-specs.js';

/**
 * A version alarm as PutMetricAlarm takes it
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html): a single metric
 * with `Namespace`, `MetricName`, `Dimensions`, `Period` and `Statistic` or `ExtendedStatistic`; or, for a
 * rate, `Metrics` (MetricDataQuery: each input a `MetricStat` with `ReturnData: false`, one `Expression`
 * returning the data), which PutMetricAlarm accepts only without those single-metric parameters. Every alarm
 * notifies `alarmActions` on entering ALARM.
 *
 * @example
 * await cloudwatch.send(new PutMetricAlarmCommand(versionAlarmInput(spec, [topicArn])));
 */
export function versionAlarmInput(
  spec: VersionAlarmSpec,
  alarmActions: readonly string[],
): PutMetricAlarmCommandInput {
  const common: PutMetricAlarmCommandInput = {
    AlarmName: spec.alarmName,
    AlarmDescription: spec.description,
    EvaluationPeriods: spec.evaluationPeriods,
    DatapointsToAlarm: spec.datapointsToAlarm,
    Threshold: spec.threshold,
    ComparisonOperator: ComparisonOperator.GreaterThanOrEqualToThreshold,
    TreatMissingData: spec.treatMissingData,
    ...(spec.evaluateLowSampleCountPercentile === undefined
      ? {}
      : { EvaluateLowSampleCountPercentile: spec.evaluateLowSampleCountPercentile }),
    ...(alarmActions.length === 0 ? {} : { AlarmActions: [...alarmActions] }),
  };
  const [only] = spec.metrics;
  if (spec.expression === undefined && only !== undefined && spec.metrics.length === 1) {
    return {
      ...common,
      Namespace: only.namespace,
      MetricName: only.metricName,
      Dimensions: dimensionsOf(only),
      Period: spec.periodSeconds,
      ...(only.statistic === 'Sum' ? { Statistic: 'Sum' as const } : { ExtendedStatistic: only.statistic }),
    };
  }
  if (spec.expression === undefined) {
    throw new Error(
      `version alarm ${spec.alarmName} has ${spec.metrics.length} metrics and no expression; it needs exactly one of them`,
    );
  }
  const inputs: MetricDataQuery[] = spec.metrics.map((metric) => ({
    Id: metric.id,
    MetricStat: {
      Metric: {
        Namespace: metric.namespace,
        MetricName: metric.metricName,
        Dimensions: dimensionsOf(metric),
      },
      Period: spec.periodSeconds,
      Stat: metric.statistic,
    },
    ReturnData: false,
  }));
  return {
    ...common,
    Metrics: [
      ...inputs,
      {
        Id: 'value',
        Expression: spec.expression,
        ...(spec.expressionLabel === undefined ? {} : { Label: spec.expressionLabel }),
        ReturnData: true,
      },
    ],
  };
}

function dimensionsOf(metric: VersionAlarmMetric): { Name: string; Value: string }[] {
  return Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value }));
}
