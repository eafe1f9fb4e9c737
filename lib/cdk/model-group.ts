import { NestedStack, type NestedStackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AlarmRollback } from './alarm-rollback.js';
import type { ModelEndpoint } from './model-endpoint.js';
import { addModelGroup, type ModelGroupProps } from './private/add-model-group.js';
import type { RolloutDriver } from './rollout-driver.js';

export { MAX_MODELS_PER_STACK } from './private/add-model-group.js';

/** Properties of {@link ModelGroup}. */
export interface ModelGroupStackProps extends ModelGroupProps, NestedStackProps {}

/**
 * A group of models in a nested stack of its own (sluice.config.json `group`), so an app with many models keeps
 * every stack under CloudFormation's 500 resources: its models' functions, releases, API routes and invoke
 * permissions, and the control plane that grows with them (its alarm-driven rollback rule and its rollout
 * driver). The registry, the API and its stage, the alarm topic, the failure queue and the release provider stay
 * in the main stack and are shared.
 *
 * @example
 * new ModelGroup(stack, 'Models-vision', { registry, releases, api, alarmTopic, failures, models });
 */
export class ModelGroup extends NestedStack {
  readonly endpoints: ModelEndpoint[];
  readonly alarmRollback: AlarmRollback;
  readonly rolloutDriver: RolloutDriver;

  constructor(scope: Construct, id: string, props: ModelGroupStackProps) {
    super(scope, id, props);
    const parts = addModelGroup(this, props);
    this.endpoints = parts.endpoints;
    this.alarmRollback = parts.alarmRollback;
    this.rolloutDriver = parts.rolloutDriver;
  }
}
