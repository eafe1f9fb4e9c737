import { RolloutError } from '../RolloutError.js';

/**
 * A CodeDeploy deployment (a `cdk deploy`) is shifting a model's alias, so a manual rollout must not move it.
 *
 * @example
 * try {
 *   await target.assertExclusive('iris');
 * } catch (error) {
 *   if (error instanceof AliasBusyError) console.error(error.message);
 * }
 */
export class AliasBusyError extends RolloutError {
  constructor(
    /** The model whose alias is being shifted. */
    readonly model: string,
    /** The CodeDeploy deployment shifting it. */
    readonly deploymentId: string,
    /** Where the deployment runs, for the message. */
    where: { readonly alias: string; readonly applicationName: string; readonly deploymentGroupName: string },
  ) {
    super(
      `CodeDeploy deployment ${deploymentId} is shifting the ${where.alias} alias of ${model} ` +
        `(application ${where.applicationName}, deployment group ${where.deploymentGroupName}); ` +
        `wait for it to finish, or stop it with \`aws deploy stop-deployment --deployment-id ${deploymentId} --auto-rollback-enabled\`, then retry. ` +
        'cdk deploy and sluice must not move the alias at the same time.',
    );
  }
}
