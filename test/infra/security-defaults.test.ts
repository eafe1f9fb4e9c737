import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { CDK_CONTEXT, configWith, SHA_A, synth } from './stack-fixture.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = {
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

/** The logical id of a construct's resource in its stack's template. */
function logicalIdOf(construct: IConstruct): string {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  assert.ok(resource instanceof CfnResource, `${construct.node.path} has no CloudFormation resource`);
  return Stack.of(resource).resolve(resource.logicalId) as string;
}

function resources(template: Template): Record<string, Resource> {
  return template.toJSON().Resources as Record<string, Resource>;
}

describe('cdk.json: the feature flags aws-cdk-lib recommends, as `cdk init` writes them', () => {
  it('sets every flag of CURRENTLY_RECOMMENDED_FLAGS at its recommended value, and no other context', () => {
    // A newer aws-cdk-lib recommends more flags: read what each changes in the templates, then add it here.
    assert.deepEqual(CDK_CONTEXT, CURRENTLY_RECOMMENDED_FLAGS);
  });
});

describe("registry access logs: S3's logging service writes them by bucket policy, ACLs disabled", () => {
  for (const [label, cdkJson] of [
    ['with cdk.json', true],
    ['in an app that sets no feature flag', false],
  ] as const) {
    it(`grants logging.s3.amazonaws.com s3:PutObject on registry/* for the registry bucket and account only, ${label}`, () => {
      const { stack, template } = synth(configWith(), { cdkJson });
      const all = resources(template);
      const logsId = logicalIdOf(stack.registry.accessLogs);
      const logs = all[logsId] ?? assert.fail('no access-log bucket');
      assert.equal(logs.Properties.AccessControl, undefined, 'no LogDeliveryWrite ACL');
      assert.deepEqual(logs.Properties.OwnershipControls, {
        Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
      });
      const policy =
        Object.values(all).find(
          (resource) =>
            resource.Type === 'AWS::S3::BucketPolicy' &&
            JSON.stringify(resource.Properties.Bucket) === JSON.stringify({ Ref: logsId }),
        ) ?? assert.fail('no policy on the access-log bucket');
      const delivery = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter(
        (statement) => JSON.stringify(statement.Principal) === '{"Service":"logging.s3.amazonaws.com"}',
      );
      assert.deepEqual(delivery, [
        {
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId, 'Arn'] }, '/registry/*']] },
          Condition: {
            ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(stack.registry.bucket), 'Arn'] } },
            StringEquals: { 'aws:SourceAccount': '123456789012' },
          },
        },
      ]);
    });
  }
});

describe('service principals act for this account only: Lambda permissions and the scheduler role name it', () => {
  const grouped = synth(
    parseDeployConfig(
      {
        models: [
          { name: 'iris', version: 1, sha256: SHA_A },
          { name: 'mnist', version: 1, sha256: SHA_A, group: 'vision' },
        ],
      },
      'two models, one grouped',
    ),
  );
  const stacks: Stack[] = [grouped.stack, ...grouped.stack.groups];

  it('gives every AWS::Lambda::Permission for an AWS service (API Gateway, EventBridge) a SourceArn and this SourceAccount, in every stack', () => {
    const principals = new Set<unknown>();
    for (const of of stacks) {
      for (const [id, resource] of Object.entries(resources(Template.fromStack(of)))) {
        if (resource.Type !== 'AWS::Lambda::Permission') continue;
        principals.add(resource.Properties.Principal);
        assert.match(String(resource.Properties.Principal), /\.amazonaws\.com$/, `${of.node.path}/${id}`);
        assert.ok(resource.Properties.SourceArn, `${of.node.path}/${id} names its source`);
        assert.equal(resource.Properties.SourceAccount, '123456789012', `${of.node.path}/${id}`);
      }
    }
    assert.deepEqual([...principals].sort(), ['apigateway.amazonaws.com', 'events.amazonaws.com']);
  });

  it("lets the scheduler assume the rollout driver's role only for this account's default schedule group, in every stack", () => {
    for (const of of stacks) {
      const roles = Object.entries(resources(Template.fromStack(of))).filter(
        ([, resource]) =>
          resource.Type === 'AWS::IAM::Role' &&
          JSON.stringify(resource.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
      );
      assert.equal(roles.length, 1, of.node.path);
      const [, role] = roles[0] ?? assert.fail('no scheduler role');
      const [statement] = (role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
      assert.deepEqual(statement?.Condition, {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': 'arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default' },
      });
    }
  });
});

describe('log groups: every log the stack writes goes to a group of the template, with a retention', () => {
  const configs = [
    ['the default config', configWith()],
    [
      'buckets deleted with the stack (CDK empties them)',
      configWith({ registry: { retainOnDelete: false } }),
    ],
    [
      'a model group',
      parseDeployConfig(
        {
          models: [
            { name: 'iris', version: 1, sha256: SHA_A },
            { name: 'mnist', version: 1, sha256: SHA_A, group: 'vision' },
          ],
        },
        'two models, one grouped',
      ),
    ],
  ] as const;
  for (const [label, config] of configs) {
    it(`gives every log group a retention and every function one of them, with ${label}`, () => {
      const { stack } = synth(config);
      for (const of of [stack, ...stack.groups]) {
        const all = resources(Template.fromStack(of));
        const groups = Object.entries(all).filter(([, resource]) => resource.Type === 'AWS::Logs::LogGroup');
        for (const [id, group] of groups)
          assert.ok(Number(group.Properties.RetentionInDays) > 0, `${of.node.path}/${id} has a retention`);
        const functions = Object.entries(all).filter(
          ([, resource]) => resource.Type === 'AWS::Lambda::Function',
        );
        assert.ok(functions.length > 0);
        for (const [id, fn] of functions) {
          const logGroup = (fn.Properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)
            ?.LogGroup;
          assert.ok(
            logGroup?.Ref && groups.some(([groupId]) => groupId === logGroup.Ref),
            `${of.node.path}/${id} logs to a log group of the template: ${JSON.stringify(logGroup)}`,
          );
        }
      }
    });
  }

  it("creates API Gateway's execution log group (API-Gateway-Execution-Logs_{api}/prod) with a retention, before the stage and deployment that write to it", () => {
    const { stack, template } = synth(configWith());
    const all = resources(template);
    const apiId = logicalIdOf(stack.api.api);
    const [groupId, group] =
      Object.entries(all).find(
        ([, resource]) =>
          resource.Type === 'AWS::Logs::LogGroup' &&
          JSON.stringify(resource.Properties.LogGroupName) ===
            JSON.stringify({ 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, '/prod']] }),
      ) ?? assert.fail('no execution log group');
    assert.equal(group.Properties.RetentionInDays, 30);
    const json = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
    for (const type of ['AWS::ApiGateway::Stage', 'AWS::ApiGateway::Deployment']) {
      const [id, resource] = Object.entries(json).find(([, candidate]) => candidate.Type === type) ?? [];
      assert.ok(resource?.DependsOn?.includes(groupId), `${id} waits for ${groupId}`);
    }
  });
});
