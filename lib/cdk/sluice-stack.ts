import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { type DeployConfig, FrontDoorKind } from '../core/config/deploy-config.js';
import type { AlarmRollback } from './alarm-rollback.js';
import { FailureQueue } from './failure-queue.js';
import type { FrontDoor } from './front-door.js';
import { FunctionUrlDoor } from './function-url-door.js';
import { HttpInferenceApi } from './http-inference-api.js';
import { InferenceApi } from './inference-api.js';
import { ModelDashboard } from './model-dashboard.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { ModelGroup } from './model-group.js';
import { addModelGroup } from './private/add-model-group.js';
import { RegistryBucket } from './registry-bucket.js';
import { FUNCTIONS_PER_GRANT_POLICY, ReleaseProvider } from './release-provider.js';
import type { RolloutDriver } from './rollout-driver.js';

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
  /** The front door the config chose (`api.door`): the REST API, the HTTP API or the function URLs. */
  readonly frontDoor: FrontDoor;
  readonly endpoints: ModelEndpoint[];
  readonly alarmTopic: sns.Topic;
  /** Rolls rollouts of the main stack's models back on alarm; absent when it has none (each group has its own). */
  readonly alarmRollback?: AlarmRollback;
  /** The model groups (sluice.config.json `group`), each a nested stack. */
  readonly groups: ModelGroup[];
  /** The release custom resources' provider: how `cdk deploy` creates aliases and starts rollouts. */
  readonly releases: ReleaseProvider;
  /** Carries the main stack's rollouts on every minute (EventBridge Scheduler); absent when it has no models. */
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
    this.frontDoor = this.createFrontDoor(config, props.serverVersion);
    this.releases = new ReleaseProvider(this, 'Releases', { registry: this.registry });
    this.endpoints = [];
    this.groups = [];
    if (config.models.length > 0) {
      this.controlPlaneFailures = new FailureQueue(this, 'ControlPlaneFailures', {
        alarmTopic: this.alarmTopic,
      });
      const shared = {
        registry: this.registry,
        releases: this.releases,
        api: this.frontDoor,
        alarmTopic: this.alarmTopic,
        failures: this.controlPlaneFailures,
        tracing: config.tracing,
      };
      const main = config.models.filter((model) => model.group === undefined);
      if (main.length > 0) {
        const parts = addModelGroup(this, { ...shared, models: main });
        this.endpoints.push(...parts.endpoints);
        this.alarmRollback = parts.alarmRollback;
        this.rolloutDriver = parts.rolloutDriver;
      }
      const groupNames = [...new Set(config.models.flatMap((model) => (model.group ? [model.group] : [])))];
      for (const name of groupNames) {
        const group = new ModelGroup(this, `Models-${name}`, {
          ...shared,
          models: config.models.filter((model) => model.group === name),
          description: `sluice model group ${name}`,
        });
        this.groups.push(group);
        this.endpoints.push(...group.endpoints);
        // A nested stack's outputs are not the app's: name each grouped model's function here too.
        for (const endpoint of group.endpoints) {
          new CfnOutput(this, `Model-${endpoint.modelName}FunctionName`, {
            value: endpoint.fn.functionName,
            description: `${endpoint.modelName}'s predict function (group ${name}): \`sluice deploy|promote|rollback|status ${endpoint.modelName} --function <this>\``,
          });
        }
      }
    }
    new ModelDashboard(this, 'Dashboard', { endpoints: this.endpoints });
    this.node.addValidation({ validate: () => this.checkQuotas(config) });
  }

  /** The REST API: the front door of the default config (`api.door` "rest"); refused for another door. */
  get api(): InferenceApi {
    if (!(this.frontDoor instanceof InferenceApi)) {
      throw new Error(
        `${this.node.path}: the front door is "${this.frontDoor.kind}", not the REST API; use frontDoor`,
      );
    }
    return this.frontDoor;
  }

  /** The door `api.door` names, with the authentication `api.auth` gives it (the schema refused what it cannot carry). */
  private createFrontDoor(config: DeployConfig, serverVersion: string | undefined): FrontDoor {
    const { api } = config;
    switch (api.door) {
      case FrontDoorKind.HTTP:
        return new HttpInferenceApi(this, 'Api', {
          auth: api.auth,
          ...(api.jwt ? { jwt: api.jwt } : {}),
          routeRateLimit: api.methodRateLimit,
          routeBurstLimit: api.methodBurstLimit,
          ...(api.cors ? { cors: api.cors } : {}),
          ...(api.domain ? { domain: api.domain } : {}),
        });
      case FrontDoorKind.FUNCTION_URL:
        return new FunctionUrlDoor(this, 'Urls', {
          auth: api.auth,
          cloudFront: api.cloudFront,
          ...(api.cors ? { cors: api.cors } : {}),
          ...(api.domain ? { domain: api.domain } : {}),
        });
      case FrontDoorKind.REST:
        return new InferenceApi(this, 'Api', {
          auth: api.auth,
          quota: api.quota,
          methodRateLimit: api.methodRateLimit,
          methodBurstLimit: api.methodBurstLimit,
          ...(api.cors ? { cors: api.cors } : {}),
          ...(api.domain ? { domain: api.domain } : {}),
          serverVersion,
          tracing: config.tracing,
        });
    }
  }

  /**
   * The account quotas a deploy would run into, checked at synth over the whole app (this stack and every model
   * group): CloudFormation would otherwise fail the deploy part way, and roll every model back.
   */
  private checkQuotas(config: DeployConfig): string[] {
    const problems: string[] = [];
    const resources = this.node.findAll().filter((construct) => construct instanceof apigateway.CfnResource);
    if (resources.length > config.quotas.apiResourcesPerApi) {
      problems.push(
        `the API needs ${resources.length} API Gateway resources for ${config.models.length} models (4 per model, and ` +
          `the shared routes); API Gateway allows ${config.quotas.apiResourcesPerApi} per REST API ("Resources per ` +
          'API", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html). ' +
          'Ask AWS to raise it for this API and set quotas.apiResourcesPerApi in sluice.config.json, or deploy fewer ' +
          'models per app',
      );
    }
    const policies = this.releases.managedPoliciesPerRole();
    if (policies > config.quotas.managedPoliciesPerRole) {
      problems.push(
        `the release handlers' roles would carry ${policies} managed policies (one per ${FUNCTIONS_PER_GRANT_POLICY} ` +
          `grouped models, and AWSLambdaBasicExecutionRole); IAM allows ${config.quotas.managedPoliciesPerRole} per role ` +
          '("Managed policies per role", adjustable to 20, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). ' +
          'Ask AWS to raise it and set quotas.managedPoliciesPerRole in sluice.config.json, or deploy fewer grouped models per app',
      );
    }
    return problems;
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
