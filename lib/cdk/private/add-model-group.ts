import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ModelDeployment } from '../../core/config/deploy-config.js';
import { AlarmRollback } from '../alarm-rollback.js';
import { BatchStateMachine } from '../batch-state-machine.js';
import type { FailureQueue } from '../failure-queue.js';
import type { FrontDoor } from '../front-door.js';
import { ModelEndpoint } from '../model-endpoint.js';
import type { RegistryBucket } from '../registry-bucket.js';
import type { ReleaseProvider } from '../release-provider.js';
import { RolloutDriver } from '../rollout-driver.js';

/**
 * Most models one stack holds (the main stack, or each model group's nested stack). Two AWS limits set it, each
 * with room to spare at 20: CloudFormation's 500 resources per stack (a model costs 15: function, role, policy,
 * log group, version, release, four API resources, four methods, one invoke permission; the main stack has about
 * 70 of its own), and EventBridge's 2,048-character event pattern, which lists one alarm-name prefix of about 90
 * characters per model in the group's alarm-rollback rule
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). The rollout driver's list of model
 * functions also stays well inside Lambda's 4 KB of environment variables.
 */
export const MAX_MODELS_PER_STACK = 20;

/** What one group of models shares with the rest of the stack. */
export interface ModelGroupProps {
  readonly registry: RegistryBucket;
  readonly releases: ReleaseProvider;
  readonly api: FrontDoor;
  readonly alarmTopic: sns.ITopic;
  readonly failures: FailureQueue;
  readonly models: readonly ModelDeployment[];
  /** X-Ray active tracing of the models' functions (sluice.config.json `tracing`). @default false */
  readonly tracing?: boolean;
}

/** The constructs of one group of models. */
export interface ModelGroupParts {
  readonly endpoints: ModelEndpoint[];
  readonly alarmRollback: AlarmRollback;
  readonly rolloutDriver: RolloutDriver;
}

/**
 * Adds a group of models to `scope` (a stack): each model's endpoint and API routes, and the control plane whose
 * size grows with its models: the alarm-driven rollback (its rule lists the group's functions) and the rollout
 * driver (it lists them in its environment). Created directly in the scope, so the main stack's models keep the
 * construct ids they had before groups existed (`Model-<name>`, `AlarmRollback`, `RolloutDriver`).
 */
export function addModelGroup(scope: Construct, props: ModelGroupProps): ModelGroupParts {
  if (props.models.length === 0)
    throw new Error(`${scope.node.path}: a model group needs at least one model`);
  if (props.models.length > MAX_MODELS_PER_STACK) {
    throw new Error(
      `${scope.node.path}: holds ${props.models.length} models (${props.models.map((model) => model.name).join(', ')}), ` +
        `more than MAX_MODELS_PER_STACK (${MAX_MODELS_PER_STACK}); give some of them a "group" in sluice.config.json ` +
        '(each group is a nested stack of its own): set it when a model is added, as moving a deployed model replaces its function',
    );
  }
  const endpoints = props.models.map((model) => {
    const endpoint = new ModelEndpoint(scope, `Model-${model.name}`, {
      registry: props.registry,
      model,
      releases: props.releases,
      alarmTopic: props.alarmTopic,
      tracing: props.tracing ?? false,
      ...(props.api.functionCors ? { cors: props.api.functionCors } : {}),
    });
    props.api.addModel(endpoint);
    if (model.batch)
      new BatchStateMachine(endpoint, 'Batch', { registry: props.registry, endpoint, batch: model.batch });
    return endpoint;
  });
  const alarmRollback = new AlarmRollback(scope, 'AlarmRollback', {
    registry: props.registry,
    endpoints,
    failures: props.failures,
  });
  const rolloutDriver = new RolloutDriver(scope, 'RolloutDriver', {
    registry: props.registry,
    endpoints,
    failures: props.failures,
  });
  return { endpoints, alarmRollback, rolloutDriver };
}
