import { Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config/deploy-config.js';
import { AlarmRollback } from './alarm-rollback.js';
import { InferenceApi } from './inference-api.js';
import { ModelDashboard } from './model-dashboard.js';
import { ModelEndpoint } from './model-endpoint.js';
import { RegistryBucket } from './registry-bucket.js';

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
 * The sluice deployment: the registry bucket, one endpoint per configured model, the API, the
 * dashboard, the topic every rollback alarm notifies, and the function that rolls manual rollouts back
 * when their candidate's alarms fire.
 *
 * @example
 * new SluiceStack(app, 'Sluice', { config: readDeployConfig('sluice.config.json') });
 */
export class SluiceStack extends Stack {
  readonly registry: RegistryBucket;
  readonly api: InferenceApi;
  readonly endpoints: ModelEndpoint[];
  readonly alarmTopic: sns.Topic;
  /** Rolls `sluice deploy` rollouts back on alarm; absent when the config has no models. */
  readonly alarmRollback?: AlarmRollback;

  constructor(scope: Construct, id: string, props: SluiceStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.registry = new RegistryBucket(this, 'Registry', {
      noncurrentVersionDays: config.registry.noncurrentVersionDays,
      retainOnDelete: config.registry.retainOnDelete,
    });
    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'sluice rollback alarms',
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (config.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    this.api = new InferenceApi(this, 'Api', {
      auth: config.api.auth,
      throttleRateLimit: config.api.throttleRateLimit,
      throttleBurstLimit: config.api.throttleBurstLimit,
      serverVersion: props.serverVersion,
    });
    this.endpoints = config.models.map((model) => {
      const endpoint = new ModelEndpoint(this, `Model-${model.name}`, {
        registry: this.registry,
        model,
        alarmTopic: this.alarmTopic,
      });
      this.api.addModel(endpoint);
      return endpoint;
    });
    new ModelDashboard(this, 'Dashboard', { endpoints: this.endpoints });
    if (this.endpoints.length > 0) {
      this.alarmRollback = new AlarmRollback(this, 'AlarmRollback', {
        registry: this.registry,
        endpoints: this.endpoints,
      });
    }
  }
}
