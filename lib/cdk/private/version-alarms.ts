import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { AlarmThresholds } from '../../config/deploy-config.js';
import { VersionAlarmKind } from '../../rollout/aws/version-alarm-name.js';
import { VERSION_ALARM_PERIOD_SECONDS, versionAlarmSpecs } from '../../rollout/aws/version-alarm-specs.js';

/** Period of every rollback alarm: CodeDeploy polls alarms while it shifts, so react within a minute. */
export const ALARM_PERIOD = Duration.seconds(VERSION_ALARM_PERIOD_SECONDS);

/** Construct ids of the alarms, kept from before the alarms were described as data so their logical ids stay. */
const ALARM_IDS: Record<VersionAlarmKind, string> = {
  [VersionAlarmKind.ERRORS]: 'LambdaErrors',
  [VersionAlarmKind.P99]: 'LatencyP99',
  [VersionAlarmKind.MODEL_ERRORS]: 'ModelErrors',
  [VersionAlarmKind.INVALID_OUTPUTS]: 'InvalidOutputs',
  [VersionAlarmKind.REJECTED_INPUTS]: 'RejectedInputs',
};

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
 * Alarms scoped to one new version, for CodeDeploy to roll it back, named `sluice-<function>-<version>-<kind>`
 * so the alarm-rollback rule sees them too.
 *
 * What they watch is shared with the alarms `sluice deploy` creates (lib/rollout/aws/version-alarm-specs.ts):
 * Lambda's own metrics with the dimensions Lambda publishes for alias traffic, and sluice's EMF metrics of
 * the model version; missing data is not breaching.
 */
export class VersionAlarms extends Construct {
  /** Every alarm, for the deployment group and the alarm topic. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: VersionAlarmsProps) {
    super(scope, id);
    const specs = versionAlarmSpecs(
      {
        functionName: props.fn.functionName,
        alias: props.alias.aliasName,
        lambdaVersion: props.version.version,
        model: props.model,
        modelVersion: props.modelVersion,
      },
      props.thresholds,
    );
    this.alarms = specs.map(
      (spec) =>
        new cloudwatch.Alarm(this, ALARM_IDS[spec.kind], {
          alarmName: spec.alarmName,
          metric: new cloudwatch.Metric({
            namespace: spec.namespace,
            metricName: spec.metricName,
            dimensionsMap: { ...spec.dimensions },
            statistic: spec.statistic,
            period: Duration.seconds(spec.periodSeconds),
          }),
          threshold: spec.threshold,
          evaluationPeriods: spec.evaluationPeriods,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: spec.description,
        }),
    );
  }
}
