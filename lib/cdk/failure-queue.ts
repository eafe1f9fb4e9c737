import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acceptFindings } from './nag-suppressions.js';

/** Properties of {@link FailureQueue}. */
export interface FailureQueueProps {
  /**
   * Topic the queue's alarm notifies.
   * @default no notifications
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * How long a failed event is kept for inspection.
   * @default Duration.days(14)
   */
  readonly retention?: Duration;
}

/**
 * Where the control plane's asynchronous invocations go when they fail for good, so no failure is dropped
 * without a trace: the on-failure destination of the functions EventBridge and EventBridge Scheduler invoke
 * (alarm rollback, rollout driver) and the dead-letter queue of their rule and schedule, with an alarm that
 * fires on the first message and notifies the alarm topic.
 *
 * @example
 * import * as lambda from 'aws-cdk-lib/aws-lambda';
 * const failures = new FailureQueue(this, 'Failures', { alarmTopic });
 * new lambda.Function(this, 'Fn', { runtime, handler, code, onFailure: failures.destination });
 */
export class FailureQueue extends Construct {
  readonly queue: sqs.Queue;
  /** Fires when a message is waiting. */
  readonly alarm: cloudwatch.Alarm;
  /** The queue as a Lambda on-failure destination. */
  readonly destination: destinations.SqsDestination;

  constructor(scope: Construct, id: string, props: FailureQueueProps = {}) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retention ?? Duration.days(14),
    });
    this.destination = new destinations.SqsDestination(this.queue);
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription:
        'sluice: a control-plane invocation failed for good (alarm rollback or rollout driver); its event is in the queue',
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    acceptFindings(this.queue, {
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the control plane: failed events stay here, alarmed, for inspection.',
    });
  }
}
