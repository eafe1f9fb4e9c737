import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { AlarmThresholds } from '../../config/deploy-config.js';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricDimension, MetricName } from '../../observability/metric-names.js';

/** Period of every rollback alarm: CodeDeploy polls alarms while it shifts, so react within a minute. */
export const ALARM_PERIOD = Duration.minutes(1);

/** Properties of {@link VersionAlarms}. */
export interface VersionAlarmsProps {
  readonly fn: lambda.IFunction;
  readonly alias: lambda.Alias;
  readonly version: lambda.IVersion;
  readonly model: string;
  readonly modelVersion: number;
  readonly thresholds: AlarmThresholds;
}

/**
 * Alarms scoped to one new version, for CodeDeploy to roll it back.
 *
 * Lambda's own metrics are read with the dimensions Lambda publishes for alias traffic (FunctionName,
 * Resource = function:alias, ExecutedVersion), not `Version.metric*()`, whose dimensions match nothing
 * for alias invocations (aws/aws-cdk#14248). sluice's EMF metrics carry the model version. Missing data is
 * not breaching: a canary with little traffic neither blocks a release nor rolls back a good one.
 */
export class VersionAlarms extends Construct {
  /** Every alarm, for the deployment group and the alarm topic. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: VersionAlarmsProps) {
    super(scope, id);
    const { thresholds } = props;
    const lambdaDimensions = {
      FunctionName: props.fn.functionName,
      Resource: `${props.fn.functionName}:${props.alias.aliasName}`,
      ExecutedVersion: props.version.version,
    };
    const sluiceDimensions = {
      service: METRICS_SERVICE,
      [MetricDimension.MODEL]: props.model,
      [MetricDimension.VERSION]: String(props.modelVersion),
    };
    const lambdaMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, dimensionsMap: lambdaDimensions, statistic, period: ALARM_PERIOD });
    const sluiceMetric = (metricName: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: sluiceDimensions, statistic: 'Sum', period: ALARM_PERIOD });
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, what: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: thresholds.evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `sluice ${props.model} version ${props.modelVersion}: ${what}; rolls the deployment back`,
      });
    this.alarms = [
      alarm('LambdaErrors', lambdaMetric('Errors', 'Sum'), thresholds.errors, `Lambda errors >= ${thresholds.errors}/min`),
      alarm('LatencyP99', lambdaMetric('Duration', 'p99'), thresholds.p99LatencyMs, `p99 duration >= ${thresholds.p99LatencyMs} ms`),
      alarm('ModelErrors', sluiceMetric(MetricName.ERRORS), thresholds.errors, `5xx answers >= ${thresholds.errors}/min`),
      alarm('InvalidOutputs', sluiceMetric(MetricName.INVALID_OUTPUTS), thresholds.invalidOutputs, `NaN/Inf outputs >= ${thresholds.invalidOutputs}/min`),
      alarm('RejectedInputs', sluiceMetric(MetricName.REJECTED_INPUTS), thresholds.rejectedInputs, `rejected inputs >= ${thresholds.rejectedInputs}/min`),
    ];
  }
}
