import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { Architecture } from '../core/config/deploy-config.js';
import { controlPlaneEnvironment } from '../core/environment/control-plane-environment.js';
import { DEFAULT_KEEP_VERSIONS } from '../core/rollout/retention.js';
import { DRIVER_INTERVAL_MS, DRIVER_TIMEOUT_MS } from '../core/rollout/rollout-wait.js';
import type { FailureQueue } from './failure-queue.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { acceptFindings, NagReason, nagArn } from './nag-suppressions.js';
import { ControlPlaneGrants, grantReadMetrics, nagVersionAlarms } from './private/control-plane-grants.js';
import { FunctionEntry } from './private/entry-paths.js';
import { functionCode } from './private/function-code.js';
import type { RegistryBucket } from './registry-bucket.js';

/** Properties of {@link RolloutDriver}. */
export interface RolloutDriverProps {
  /** The registry: manifests and the rollout states. */
  readonly registry: RegistryBucket;
  /** The endpoints whose rollouts it carries on; at least one. */
  readonly endpoints: readonly ModelEndpoint[];
  /**
   * Published Lambda versions kept per function besides the ones the alias routes to and the rollout state names.
   * @default DEFAULT_KEEP_VERSIONS
   */
  readonly keepVersions?: number;
  /**
   * Where failed invocations go (the function's on-failure destination and the schedule's dead-letter queue).
   * @default none: a failed tick leaves only its log
   */
  readonly failures?: FailureQueue;
}

/**
 * Carries every rollout of the stack on with nobody watching: an EventBridge Scheduler schedule invokes the
 * rollout-driver function every minute (`rate(1 minute)`, the scheduler's 60-second precision), which makes one
 * engine step per model with a rollout in progress (bake over and enough evidence: next step or promotion;
 * unhealthy: rollback) and prunes old Lambda versions and their alarms of the idle ones
 * (lib/rollout/aws/drive-stack-rollouts.ts). One invocation at a time (a lease in the registry bucket, `DriverLease`); a missed tick is
 * not retried, the next one does its work.
 *
 * @example
 * new RolloutDriver(this, 'RolloutDriver', { registry, endpoints });
 */
export class RolloutDriver extends Construct {
  /** The rollout-driver function. */
  readonly fn: lambda.Function;
  /** The schedule that invokes it. */
  readonly schedule: scheduler.Schedule;
  /** The role the scheduler invokes the function with. */
  readonly scheduleRole: iam.Role;

  constructor(scope: Construct, id: string, props: RolloutDriverProps) {
    super(scope, id);
    if (props.endpoints.length === 0) {
      throw new Error(`${this.node.path}: a rollout driver needs at least one endpoint; got none`);
    }
    const keepVersions = props.keepVersions ?? DEFAULT_KEEP_VERSIONS;
    if (!Number.isInteger(keepVersions) || keepVersions < 1) {
      throw new Error(
        `${this.node.path}: keepVersions must be a whole number of at least 1; got ${keepVersions}`,
      );
    }
    const modelFunctions = Object.fromEntries(
      props.endpoints.map((endpoint) => [endpoint.modelName, endpoint.fn.functionName]),
    );
    this.fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: functionCode({
        entry: FunctionEntry.ROLLOUT_DRIVER,
        architecture: Architecture.X86_64,
        includeOnnxRuntime: false,
      }),
      memorySize: 256,
      // Less than a tick. One tick at a time is the lease's doing (`DriverLease`), not reserved concurrency: Lambda
      // keeps 100 of an account's concurrency unreserved, and a new account may have no more than that to give
      // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
      timeout: Duration.millis(DRIVER_TIMEOUT_MS),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      ...(props.failures ? { onFailure: props.failures.destination } : {}),
      environment: {
        ...controlPlaneEnvironment({
          bucket: props.registry.bucket.bucketName,
          modelFunctionsJson: Stack.of(this).toJsonString(modelFunctions),
          keepVersions,
        }),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: 'sluice: carries every rollout on by one step a minute; prunes old Lambda versions',
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    props.registry.grantRollouts(this.fn);
    props.registry.grantReadModels(this.fn);
    grantReadMetrics(this.fn);
    const grants = new ControlPlaneGrants(this.fn);
    for (const endpoint of props.endpoints) grants.addFunction(endpoint.fn);
    // Only this account's schedules, in the default schedule group the schedule below belongs to, may have the
    // scheduler assume the role: Scheduler's confused-deputy prevention scopes aws:SourceArn to a schedule group, never
    // to a schedule (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
    const scheduleGroup = scheduler.ScheduleGroup.fromDefaultScheduleGroup(this, 'DefaultScheduleGroup');
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnLike: { 'aws:SourceArn': scheduleGroup.scheduleGroupArn },
      }),
      description: 'sluice: EventBridge Scheduler invokes the rollout driver',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'sluice: drives rollouts through their bakes, health checks, promotion or rollback',
      schedule: scheduler.ScheduleExpression.rate(Duration.millis(DRIVER_INTERVAL_MS)),
      target: new targets.LambdaInvoke(this.fn, {
        role: this.scheduleRole,
        ...(props.failures ? { deadLetterQueue: props.failures.queue } : {}),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });
    this.acceptNagFindings(props);
  }

  private acceptNagFindings(props: RolloutDriverProps): void {
    acceptFindings(
      this.fn,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: NagReason.BASIC_EXECUTION_ROLE,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.registry.bucket, this)}/rollouts/*]`,
        reason: NagReason.ROLLOUT_STATES,
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: NagReason.GET_METRIC_DATA },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(props.registry.bucket, this)}/models/*]`,
        reason: NagReason.ALL_MODEL_OBJECTS,
      },
      ...props.endpoints.flatMap((endpoint) => [
        {
          id: `AwsSolutions-IAM5[Resource::${nagArn(endpoint.fn)}:*]`,
          reason: NagReason.CONTROL_PLANE_VERSIONS,
        },
        { id: `AwsSolutions-IAM5[${nagVersionAlarms(endpoint.fn)}]`, reason: NagReason.VERSION_ALARMS },
      ]),
    );
    acceptFindings(this.scheduleRole, {
      id: `AwsSolutions-IAM5[Resource::${nagArn(this.fn)}:*]`,
      reason:
        "The scheduler invokes the rollout driver; CDK's LambdaInvoke target grants its qualified ARNs too.",
    });
  }
}
