import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Architecture } from '../core/config/deploy-config.js';
import { controlPlaneEnvironment } from '../core/environment/control-plane-environment.js';
import {
  ALARM_EVENT_SOURCE,
  ALARM_STATE_CHANGE,
  AlarmState,
} from '../core/gates/alarm-state-change-event.js';
import { VERSION_ALARM_PREFIX } from '../core/gates/version-alarm-name.js';
import { ROLLOUTS_PREFIX } from '../core/rollout/rollout-layout.js';
import type { FailureQueue } from './failure-queue.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings, NagReason, nagArn } from './nag-suppressions.js';
import { FunctionEntry } from './private/entry-paths.js';
import { functionCode } from './private/function-code.js';
import type { RegistryBucket } from './registry-bucket.js';

/** Properties of {@link AlarmRollback}. */
export interface AlarmRollbackProps {
  /** The registry whose `rollouts/` prefix holds the rollout states. */
  readonly registry: RegistryBucket;
  /** The endpoints whose version alarms roll their rollouts back; at least one. */
  readonly endpoints: readonly ModelEndpoint[];
  /**
   * Times Lambda retries an event whose handling failed (a throttled UpdateAlias, an S3 error).
   * @default 2
   */
  readonly retryAttempts?: number;
  /**
   * Where events go whose handling failed after the retries (on-failure destination) or that could not be
   * delivered (the rule target's dead-letter queue).
   * @default none: a failed event leaves only its log
   */
  readonly failures?: FailureQueue;
}

/**
 * Rolls rollouts back without anyone watching, at once rather than at the driver's next tick: an EventBridge rule sends every version alarm of the
 * endpoints' functions entering ALARM (names `sluice-<function>-...`) to a function that, when the alarm is of
 * the model's current candidate, clears the `live` alias's additional weight and records the rollback in the
 * model's rollout state (lib/rollout/aws/alarm-rollback.ts).
 *
 * Rollouts started by `cdk deploy` (the release custom resource) and by `sluice deploy` are the same engine's
 * rollouts, so one function rolls back both; a `cdk deploy` waiting for the rollout then fails.
 *
 * @example
 * new AlarmRollback(this, 'AlarmRollback', { registry, endpoints });
 */
export class AlarmRollback extends Construct {
  /** The function that rolls back. */
  readonly fn: lambda.Function;
  /** The rule delivering the alarms' state changes. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: AlarmRollbackProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    if (props.endpoints.length === 0) {
      throw new Error(`${this.node.path}: an alarm rollback needs at least one endpoint; got none`);
    }

    this.fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: functionCode({
        entry: FunctionEntry.ALARM_ROLLBACK,
        architecture: Architecture.X86_64,
        includeOnnxRuntime: false,
      }),
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        ...controlPlaneEnvironment({ bucket: props.registry.bucket.bucketName }),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: "sluice: sets a rollout candidate's weight to 0 when one of its alarms fires",
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      retryAttempts,
      ...(props.failures ? { onFailure: props.failures.destination } : {}),
    });
    props.registry.grantRollouts(this.fn);
    // Reads which model version an alarmed Lambda version serves (its environment) and which Lambda version
    // serves the stable one (the listing), then points the alias at that one alone.
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:GetFunctionConfiguration', 'lambda:ListVersionsByFunction'],
        resources: props.endpoints.flatMap((endpoint) => [
          endpoint.fn.functionArn,
          `${endpoint.fn.functionArn}:*`,
        ]),
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:UpdateAlias'],
        resources: props.endpoints.flatMap((endpoint) => [
          endpoint.fn.functionArn,
          endpoint.liveAlias.functionArn,
        ]),
      }),
    );

    this.rule = new events.Rule(this, 'Rule', {
      description: 'sluice: version alarms entering ALARM roll the rollout of their candidate back',
      eventPattern: {
        source: [ALARM_EVENT_SOURCE],
        detailType: [ALARM_STATE_CHANGE],
        detail: {
          state: { value: [AlarmState.ALARM] },
          alarmName: props.endpoints.map((endpoint) => ({
            prefix: `${VERSION_ALARM_PREFIX}${endpoint.fn.functionName}-`,
          })),
        },
      },
      // EventBridge's own delivery retries (throttled invokes) keep their default; failed handling retries above.
      targets: [
        new targets.LambdaFunction(this.fn, props.failures ? { deadLetterQueue: props.failures.queue } : {}),
      ],
    });

    // The rule's invoke permission (CDK's target writes it) names the rule; name this account too, as the API's does.
    for (const permission of this.node.findAll()) {
      if (permission instanceof lambda.CfnPermission && permission.principal === 'events.amazonaws.com')
        permission.sourceAccount = Stack.of(this).account;
    }

    this.acceptNagFindings(props);
  }

  private acceptNagFindings(props: AlarmRollbackProps): void {
    acceptFindings(
      this.fn,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: NagReason.BASIC_EXECUTION_ROLE,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.registry.bucket, this)}/${ROLLOUTS_PREFIX}*]`,
        reason:
          'Reads and writes rollout states only: the rollouts/ prefix of the registry bucket, one object per revision of each model.',
      },
      ...props.endpoints.map((endpoint) => ({
        id: `AwsSolutions-IAM5[Resource::${nagArn(endpoint.fn)}:*]`,
        reason: `Reads the configuration of the alarmed version of ${endpoint.modelName}'s function to learn the model version it serves. ${NagReason.QUALIFIED_ARNS}`,
      })),
    );
  }
}
