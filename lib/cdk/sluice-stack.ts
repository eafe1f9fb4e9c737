import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config/deploy-config.js';
import { AlarmRollback } from './alarm-rollback.js';
import { FailureQueue } from './failure-queue.js';
import { InferenceApi } from './inference-api.js';
import { ModelDashboard } from './model-dashboard.js';
import { ModelEndpoint } from './model-endpoint.js';
import { RegistryBucket } from './registry-bucket.js';
import { ReleaseProvider } from './release-provider.js';
import { RolloutDriver } from './rollout-driver.js';

/** Properties of {@link SluiceStack}. */
export interface SluiceStackProps extends StackProps {
  /** The parsed deployment configuration (sluice.config.json). */
  readonly config: DeployConfig;
  /**
   * Version string `GET /v2` reports.
   * @default '0.0.0'
   */
  readonly serverVersion?: string;
}

/**
 * The sluice deployment: the registry bucket, one endpoint per configured model (its function and its release,
 * which owns the `live` alias), the API, the dashboard, the topic every version alarm notifies, and sluice's
 * control plane: the release provider (`cdk deploy` starts rollouts through the engine and waits for them), the
 * rollout driver (EventBridge Scheduler, every minute) and the alarm-driven rollback.
 *
 * @example
 * new SluiceStack(app, 'Sluice', { config: readDeployConfig('sluice.config.json') });
 */
export class SluiceStack extends Stack {
  readonly registry: RegistryBucket;
  readonly api: InferenceApi;
  readonly endpoints: ModelEndpoint[];
  readonly alarmTopic: sns.Topic;
  /** Rolls rollouts back on alarm; absent when the config has no models. */
  readonly alarmRollback?: AlarmRollback;
  /** The release custom resources' provider: how `cdk deploy` creates aliases and starts rollouts. */
  readonly releases: ReleaseProvider;
  /** Carries rollouts on every minute (EventBridge Scheduler); absent when the config has no models. */
  readonly rolloutDriver?: RolloutDriver;
  /** Failed invocations of the alarm rollback and the rollout driver, alarmed; absent when the config has no models. */
  readonly controlPlaneFailures?: FailureQueue;

  constructor(scope: Construct, id: string, props: SluiceStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.registry = new RegistryBucket(this, 'Registry', {
      noncurrentVersionDays: config.registry.noncurrentVersionDays,
      retainOnDelete: config.registry.retainOnDelete,
    });
    this.alarmTopic = this.createAlarmTopic();
    if (config.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    this.api = new InferenceApi(this, 'Api', {
      auth: config.api.auth,
      throttleRateLimit: config.api.throttleRateLimit,
      throttleBurstLimit: config.api.throttleBurstLimit,
      serverVersion: props.serverVersion,
    });
    this.releases = new ReleaseProvider(this, 'Releases', { registry: this.registry });
    this.endpoints = config.models.map((model) => {
      const endpoint = new ModelEndpoint(this, `Model-${model.name}`, {
        registry: this.registry,
        model,
        releases: this.releases,
        alarmTopic: this.alarmTopic,
      });
      this.api.addModel(endpoint);
      return endpoint;
    });
    new ModelDashboard(this, 'Dashboard', { endpoints: this.endpoints });
    if (this.endpoints.length > 0) {
      this.controlPlaneFailures = new FailureQueue(this, 'ControlPlaneFailures', {
        alarmTopic: this.alarmTopic,
      });
      this.alarmRollback = new AlarmRollback(this, 'AlarmRollback', {
        registry: this.registry,
        endpoints: this.endpoints,
        failures: this.controlPlaneFailures,
      });
      this.rolloutDriver = new RolloutDriver(this, 'RolloutDriver', {
        registry: this.registry,
        endpoints: this.endpoints,
        failures: this.controlPlaneFailures,
      });
    }
  }

  /**
   * The topic every alarm notifies. Encrypted with a customer managed key, because CloudWatch can publish to an
   * encrypted topic only when the key's policy lets it use the key (the AWS managed `aws/sns` key's policy
   * cannot be changed, so alarms would fail to notify); and allowing CloudWatch to publish explicitly, because
   * the TLS-only topic policy replaces the default one.
   */
  private createAlarmTopic(): sns.Topic {
    const cloudwatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const sameAccount = { StringEquals: { 'aws:SourceAccount': this.account } };
    const key = new kms.Key(this, 'AlarmsKey', {
      description: 'sluice: encrypts the alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: sameAccount,
      }),
    );
    const topic = new sns.Topic(this, 'Alarms', {
      displayName: 'sluice rollback alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: sameAccount,
      }),
    );
    return topic;
  }
}
