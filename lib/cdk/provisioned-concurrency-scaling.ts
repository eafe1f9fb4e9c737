import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import { Construct, type IDependable } from 'constructs';
import type { ProvisionedConcurrencyScaling } from '../core/config/deploy-config.js';

/** The scalable dimension of a Lambda alias's provisioned concurrency in Application Auto Scaling. */
export const PROVISIONED_CONCURRENCY_DIMENSION = 'lambda:function:ProvisionedConcurrency';

/** Properties of {@link ProvisionedConcurrencyScaler}. */
export interface ProvisionedConcurrencyScalerProps {
  /** The model's predict function's name. */
  readonly functionName: string;
  /** The alias whose provisioned concurrency scales (`live`). */
  readonly aliasName: string;
  /** The bounds and the utilisation to keep. */
  readonly scaling: ProvisionedConcurrencyScaling;
  /** What creates the alias (the model's release): the scalable target must come after it. */
  readonly alias: IDependable;
}

/**
 * Scales a model alias's provisioned concurrency with its load: an Application Auto Scaling target on the alias
 * (`function:<name>:live`, dimension `lambda:function:ProvisionedConcurrency`, within `min`..`max`) and a target
 * tracking policy on the predefined `LambdaProvisionedConcurrencyUtilization`
 * (https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-lambda.html). The
 * alias is created by the model's release, not by CloudFormation, so the target depends on it and names it by id.
 * Lambda splits an alias's provisioned concurrency across the versions of a weighted rollout.
 *
 * The target has no `RoleARN` and the stack no role for it: for Lambda, Application Auto Scaling acts through its
 * service-linked role `AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency`, which it creates at the account's
 * first RegisterScalableTarget for Lambda (same page, whose own `register-scalable-target` example names no role, and
 * https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html).
 * CDK's `ScalableTarget` always creates a role of its own, which would only be passed and ignored: the L1
 * `CfnScalableTarget` leaves it out.
 *
 * @example
 * new ProvisionedConcurrencyScaler(this, 'Scaling', { functionName: fn.functionName, aliasName: 'live',
 *   scaling: { min: 2, max: 20, targetUtilization: 0.7 }, alias: release });
 */
export class ProvisionedConcurrencyScaler extends Construct {
  /** The scalable target. */
  readonly target: appscaling.CfnScalableTarget;

  constructor(scope: Construct, id: string, props: ProvisionedConcurrencyScalerProps) {
    super(scope, id);
    const { min, max, targetUtilization } = props.scaling;
    if (max < min) {
      throw new Error(
        `${this.node.path}: provisioned concurrency max (${max}) must be at least min (${min})`,
      );
    }
    this.target = new appscaling.CfnScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.LAMBDA,
      scalableDimension: PROVISIONED_CONCURRENCY_DIMENSION,
      resourceId: `function:${props.functionName}:${props.aliasName}`,
      minCapacity: min,
      maxCapacity: max,
    });
    this.target.node.addDependency(props.alias);
    new appscaling.TargetTrackingScalingPolicy(this, 'Utilization', {
      scalingTarget: this.target,
      predefinedMetric: appscaling.PredefinedMetric.LAMBDA_PROVISIONED_CONCURRENCY_UTILIZATION,
      targetValue: targetUtilization,
    });
  }
}
