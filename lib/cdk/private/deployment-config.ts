import { Duration } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type { Construct } from 'constructs';
import { type Rollout, RolloutPreset } from '../../config/deploy-config.js';

const PRESETS: Record<RolloutPreset, codedeploy.ILambdaDeploymentConfig> = {
  [RolloutPreset.ALL_AT_ONCE]: codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
  [RolloutPreset.CANARY_10_PERCENT_5_MINUTES]: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  [RolloutPreset.CANARY_10_PERCENT_10_MINUTES]: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  [RolloutPreset.CANARY_10_PERCENT_15_MINUTES]: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_15MINUTES,
  [RolloutPreset.CANARY_10_PERCENT_30_MINUTES]: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_1_MINUTE]:
    codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_2_MINUTES]:
    codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_2MINUTES,
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_3_MINUTES]:
    codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_10_MINUTES]:
    codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_10MINUTES,
};

/** Maps a configured rollout to a CodeDeploy Lambda deployment config: a preset, or a custom one created in `scope`. */
export function deploymentConfigFor(scope: Construct, rollout: Rollout): codedeploy.ILambdaDeploymentConfig {
  switch (rollout.strategy) {
    case 'preset':
      return PRESETS[rollout.preset];
    case 'all-at-once':
      return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE;
    case 'canary':
      return new codedeploy.LambdaDeploymentConfig(scope, 'DeploymentConfig', {
        trafficRouting: new codedeploy.TimeBasedCanaryTrafficRouting({
          percentage: rollout.percentage,
          interval: Duration.minutes(rollout.intervalMinutes),
        }),
      });
    case 'linear':
      return new codedeploy.LambdaDeploymentConfig(scope, 'DeploymentConfig', {
        trafficRouting: new codedeploy.TimeBasedLinearTrafficRouting({
          percentage: rollout.percentage,
          interval: Duration.minutes(rollout.intervalMinutes),
        }),
      });
  }
}
