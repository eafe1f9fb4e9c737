/**
 * Names the CDK stack gives to what sluice's manual rollouts act on, so the CLI and the alarm-rollback
 * function find them again from the stack name and the model name alone. Free of runtime imports: the
 * constructs use it too.
 */

/** Name of the alias API Gateway invokes, CodeDeploy shifts during `cdk deploy`, and `sluice deploy` weights. */
export const LIVE_ALIAS = 'live';

/** Longest name CodeDeploy accepts for an application or a deployment group. */
export const MAX_CODEDEPLOY_NAME_LENGTH = 100;

/** The CodeDeploy application and deployment group that shift one model's `live` alias. */
export interface CodeDeployNames {
  readonly applicationName: string;
  readonly deploymentGroupName: string;
}

/**
 * The CodeDeploy names of a model's endpoint: `<stackName>-<model>` for both the application (one per
 * model, as CDK's LambdaDeploymentGroup creates) and its only deployment group.
 *
 * @example
 * codeDeployNames('Sluice', 'iris'); // { applicationName: 'Sluice-iris', deploymentGroupName: 'Sluice-iris' }
 */
export function codeDeployNames(stackName: string, model: string): CodeDeployNames {
  const name = `${stackName}-${model}`;
  return { applicationName: name, deploymentGroupName: name };
}
