import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DeployConfigError } from '../../lib/core/config/deploy-config.js';
import { configWith, synth } from './stack-fixture.js';

describe('provisioned concurrency scales with load: target tracking on the live alias, bounds in config', () => {
  const scaled = synth(configWith({}, { provisionedConcurrencyScaling: { min: 2, max: 20 } }), { nag: true });

  it('registers the live alias as a scalable target between min and max, after the release created the alias', () => {
    const targets = scaled.template.findResources('AWS::ApplicationAutoScaling::ScalableTarget');
    const [id, target] = Object.entries(targets)[0] ?? [];
    assert.ok(id && target, 'one scalable target');
    assert.equal(Object.keys(targets).length, 1);
    scaled.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'lambda',
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      MinCapacity: 2,
      MaxCapacity: 20,
      ResourceId: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['function:', ':live'])] }),
    });
    const dependsOn = (target as { DependsOn?: string[] }).DependsOn ?? [];
    assert.ok(
      dependsOn.some((dependency) => /Release/.test(dependency)),
      `depends on the release: ${dependsOn.join(', ')}`,
    );
  });

  it('tracks LambdaProvisionedConcurrencyUtilization at 0.7 by default, and the release provisions the minimum', () => {
    scaled.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
        TargetValue: 0.7,
      }),
    });
    scaled.template.hasResourceProperties('Custom::SluiceRelease', { ProvisionedConcurrency: '2' });
  });

  it('adds nothing for a model without scaling', () => {
    const plain = synth(configWith());
    assert.deepEqual(plain.template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'), {});
  });

  it('refuses bounds upside down and a fixed provisioned concurrency beside scaling, naming the field', () => {
    assert.throws(
      () => configWith({}, { provisionedConcurrencyScaling: { min: 5, max: 2 } }),
      (error: unknown) =>
        error instanceof DeployConfigError &&
        /provisionedConcurrencyScaling\.max: max must be at least min/.test(error.message),
    );
    assert.throws(
      () => configWith({}, { provisionedConcurrency: 3, provisionedConcurrencyScaling: { min: 1, max: 2 } }),
      /give either provisionedConcurrency \(fixed\) or provisionedConcurrencyScaling \(min, max\), not both/,
    );
  });
});

describe("provisioned concurrency scaling acts through Application Auto Scaling's service-linked role, not a role of the stack", () => {
  it('gives the scalable target no RoleARN and the stack no role Application Auto Scaling could assume', () => {
    const { template } = synth(configWith({}, { provisionedConcurrencyScaling: { min: 2, max: 20 } }));
    const [target] = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'));
    assert.ok(target, 'one scalable target');
    assert.equal((target as { Properties: Record<string, unknown> }).Properties.RoleARN, undefined);
    const trusting = Object.entries(template.findResources('AWS::IAM::Role')).filter(([, role]) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('application-autoscaling'),
    );
    assert.deepEqual(trusting, [], 'no role trusts application-autoscaling.amazonaws.com');
  });

  it("synthesizes with the AwsSolutions checks and CloudFormation's own template validation", () => {
    const { stack } = synth(configWith({}, { provisionedConcurrencyScaling: { min: 2, max: 20 } }), {
      nag: true,
    });
    assert.doesNotThrow(() => (stack.node.root as App).synth());
  });
});
