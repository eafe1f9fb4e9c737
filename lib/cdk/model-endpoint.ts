import { CfnOutput, CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Architecture, type ModelDeployment, ModelDeploymentSchema } from '../core/config/deploy-config.js';
import { rolloutPlanOf } from '../core/config/rollout-plan-of.js';
import type { CorsSettings } from '../core/contract/cors.js';
import { requestObjectPrefix } from '../core/contract/tensor-objects.js';
import { predictEnvironment } from '../core/environment/predict-environment.js';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
} from '../core/metrics/metric-names.js';
import type { RolloutPlan } from '../core/rollout/RolloutPlan.js';
import type { ReleaseProperties } from '../core/rollout/release-event.js';
import {
  CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS,
  DRIVER_INTERVAL_MS,
  METRICS_SETTLE_MS,
  ROLLOUT_WAIT_MS,
  rolloutDurationMs,
} from '../core/rollout/rollout-wait.js';
import { LIVE_ALIAS } from '../core/rollout/stack-names.js';
import { acceptFindings, NagReason, nagArn } from './nag-suppressions.js';
import { FunctionEntry } from './private/entry-paths.js';
import { functionCode } from './private/function-code.js';
import { ProvisionedConcurrencyScaler } from './provisioned-concurrency-scaling.js';
import type { RegistryBucket } from './registry-bucket.js';
import type { ReleaseProvider } from './release-provider.js';

// Defined beside the other names the CLI finds again; still importable from here, where it was first defined.
export { LIVE_ALIAS };

/** CloudFormation type of a model's release custom resource. */
export const RELEASE_RESOURCE_TYPE = 'Custom::SluiceRelease';

/** Minutes per period of the drift alarm: a window of answers takes a while to fill on a quiet model. */
export const DRIFT_ALARM_PERIOD_MINUTES = 15;

/** Properties of {@link ModelEndpoint}. */
export interface ModelEndpointProps {
  /** The registry the function loads its model from. */
  readonly registry: RegistryBucket;
  /** The model, its version and sha256, sizing and rollout policy (defaults filled by the config schema). */
  readonly model: ModelDeployment;
  /** The provider of the release custom resource through which `cdk deploy` creates the alias and starts rollouts. */
  readonly releases: ReleaseProvider;
  /**
   * Topic notified by every version alarm (the control plane creates them with this action).
   * @default no notifications
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * X-Ray active tracing of the function (its S3 client traced too, see `traceAwsClient`).
   * @default false: sluice.config.json `tracing`
   */
  readonly tracing?: boolean;
  /**
   * CORS headers the function adds to its answers (a REST door's `functionCors`).
   * @default none
   */
  readonly cors?: CorsSettings;
}

/**
 * One model behind an alias: its function, the Lambda version CloudFormation publishes for the function's current
 * code and configuration, and the model's release: a custom resource (`Custom::SluiceRelease`) that owns the
 * `live` alias.
 *
 * CloudFormation never moves the alias. There is no `AWS::Lambda::Alias` in the template: an alias whose
 * `FunctionVersion` is the current version would be shifted by CloudFormation on every model change, and even an
 * alias on a fixed version is reset whenever one of its properties changes. Instead the release's `onEvent`
 * creates the alias on the first deploy (on the configured version, no rollout) and, on a later deploy that
 * changes what the model serves (model version, sha256, or the Lambda version: sluice's code or the function's
 * configuration), starts a rollout through sluice's engine, which is the only mover of the alias; `isComplete`
 * waits for it, and a rollback fails the deploy (lib/rollout/aws/release-resource.ts). API Gateway invokes the
 * alias-qualified ARN ({@link liveAlias}), and its invoke permissions wait for the release to exist.
 *
 * Synth refuses a rollout plan that cannot finish within the wait (`ROLLOUT_WAIT_MS`), naming the model.
 *
 * @example
 * const iris = new ModelEndpoint(this, 'Iris', { registry, releases, model: ModelDeploymentSchema.parse({ name: 'iris', version: 3, sha256 }) });
 * api.addModel(iris);
 */
export class ModelEndpoint extends Construct {
  /** The model's name. */
  readonly modelName: string;
  /** The model version the configuration names. */
  readonly modelVersion: number;
  /** The predict function. */
  readonly fn: lambda.Function;
  /** The Lambda version CloudFormation publishes for the current code and configuration. */
  readonly version: lambda.Version;
  /** The `live` alias as API Gateway invokes it (alias-qualified ARN); created and moved only by sluice. */
  readonly liveAlias: lambda.IFunction;
  /** The release custom resource that owns the alias and starts rollouts. */
  readonly release: CustomResource;
  /** The plan `cdk deploy` rolls a change out with. */
  readonly plan: RolloutPlan;
  /** The model's drift alarm (notifies the alarm topic; never rolls back). */
  readonly driftAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const model = ModelDeploymentSchema.parse(props.model);
    this.modelName = model.name;
    this.modelVersion = model.version;
    this.plan = rolloutPlanOf(model.rollout);
    this.assertPlanFitsTheWait();
    const architecture =
      model.architecture === Architecture.ARM64 ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;

    this.fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture,
      handler: 'index.handler',
      code: functionCode({
        entry: FunctionEntry.PREDICT,
        architecture: model.architecture,
        includeOnnxRuntime: true,
      }),
      memorySize: model.memoryMb,
      timeout: Duration.seconds(model.timeoutSeconds),
      // The model identity lives in the environment, so a new model version always changes the function
      // configuration and with it the hash behind `currentVersion` (tested: aws/aws-cdk#25997).
      environment: {
        ...predictEnvironment({
          bucket: props.registry.bucket.bucketName,
          model: model.name,
          version: model.version,
          sha256: model.sha256,
          alarms: model.alarms,
          ...(props.alarmTopic ? { alarmTopicArn: props.alarmTopic.topicArn } : {}),
          ...(props.cors ? { cors: props.cors } : {}),
        }),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: `sluice ${model.name} v${model.version} sha256:${model.sha256.slice(0, 12)}`,
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      // CloudFormation keeps the versions it published when the next deploy replaces them: the engine may still
      // route to one (a rollout from it, or a version `sluice deploy` promoted), and one owner deletes versions
      // and their alarms, sluice's retention (pruneFunctionVersions), never CloudFormation's cleanup.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    props.registry.grantReadModel(this.fn, model.name);
    // Tensors sent by reference: this model's request objects only (the bucket and URL lifetime come from the
    // environment above: SLUICE_BUCKET, and SLUICE_OBJECT_URL_SECONDS unset for the function's default).
    props.registry.grantRequestObjects(this.fn, model.name);

    new CfnOutput(this, 'FunctionName', {
      value: this.fn.functionName,
      description: `${model.name}'s predict function: \`sluice deploy|promote|rollback|status ${model.name} --function <this>\``,
    });

    this.version = this.fn.currentVersion;
    const grants = props.releases.grantModel(this.fn);
    const properties: Record<keyof ReleaseProperties, string> = {
      FunctionName: this.fn.functionName,
      Model: model.name,
      ModelVersion: String(model.version),
      Sha256: model.sha256,
      LambdaVersion: this.version.version,
      Plan: JSON.stringify(this.plan),
      // With scaling, the release provisions the minimum and Application Auto Scaling moves it from there.
      ProvisionedConcurrency: String(
        model.provisionedConcurrencyScaling?.min ?? model.provisionedConcurrency,
      ),
    };
    this.release = new CustomResource(this, 'Release', {
      serviceToken: props.releases.serviceToken,
      resourceType: RELEASE_RESOURCE_TYPE,
      serviceTimeout: Duration.seconds(CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS),
      properties,
    });
    // A model group's grants live in its own stack: the release acts only once they exist.
    if (grants) this.release.node.addDependency(grants);
    this.driftAlarm = new cloudwatch.Alarm(this, 'DriftAlarm', {
      alarmDescription:
        `sluice: what ${model.name} answers drifted from its reference set (the population stability index of an ` +
        `output, classes or values, >= ${model.alarms.driftPsi}); a notice, not a rollback`,
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: MetricName.DRIFT_PSI,
        dimensionsMap: { service: METRICS_SERVICE, [MetricDimension.MODEL]: model.name },
        // The largest figure of any version and output in the period: one drifting output is enough.
        statistic: 'Maximum',
        period: Duration.minutes(DRIFT_ALARM_PERIOD_MINUTES),
      }),
      threshold: model.alarms.driftPsi,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      // No answers, no figure: a quiet model has not drifted.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.driftAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    if (model.provisionedConcurrencyScaling) {
      new ProvisionedConcurrencyScaler(this, 'ProvisionedConcurrencyScaling', {
        functionName: this.fn.functionName,
        aliasName: LIVE_ALIAS,
        scaling: model.provisionedConcurrencyScaling,
        alias: this.release,
      });
    }
    // Imported by its alias-qualified ARN (not Alias.fromAliasAttributes, whose permissions need a concrete
    // account): API Gateway's invoke permissions then name the alias.
    this.liveAlias = lambda.Function.fromFunctionAttributes(this, 'Live', {
      functionArn: `${this.fn.functionArn}:${LIVE_ALIAS}`,
      sameEnvironment: true,
    });
    this.acceptNagFindings(props.registry);
  }

  private assertPlanFitsTheWait(): void {
    const needed = rolloutDurationMs(this.plan);
    if (needed <= ROLLOUT_WAIT_MS) return;
    const minutes = (ms: number) => Math.round(ms / 60_000);
    throw new Error(
      `${this.node.path}: the rollout of model "${this.modelName}" (${this.plan.strategy}, steps [${this.plan.steps.join(', ')}]%, ` +
        `${minutes(this.plan.intervalMs)} min per step) takes at least ${Number.isFinite(needed) ? `${minutes(needed)} minutes` : 'forever (manual)'} on AWS ` +
        `(each bake + ${minutes(METRICS_SETTLE_MS)} min for its metrics to settle + ${minutes(DRIVER_INTERVAL_MS)} min to the driver's next tick` +
        `${(this.plan.shadowPercent ?? 0) > 0 ? `, and as much again for the shadow phase` : ''}), ` +
        `longer than the ${minutes(ROLLOUT_WAIT_MS)} minutes cdk deploy can wait for it (CloudFormation's custom resource timeout is one hour); ` +
        'use fewer or shorter steps in sluice.config.json, or roll longer plans out with `sluice deploy`',
    );
  }

  private acceptNagFindings(registry: RegistryBucket): void {
    acceptFindings(
      this.fn,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: NagReason.BASIC_EXECUTION_ROLE,
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: NagReason.XRAY },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(registry.bucket, this)}/models/${this.modelName}/*]`,
        reason: NagReason.MODEL_OBJECTS,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(registry.bucket, this)}/${requestObjectPrefix(this.modelName)}*]`,
        reason:
          "Tensors sent by reference: one object per request under this model's requests/<model>/ prefix, with random keys made at run time; nothing of another model or of models/.",
      },
    );
  }
}
