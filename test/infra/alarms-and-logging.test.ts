import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ACCESS_LOG_FIELDS } from '../../lib/cdk/access-log-format.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { SHA_A, synth } from './stack-fixture.js';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

const { stack } = synth(
  parseDeployConfig(
    {
      models: [
        { name: 'iris', version: 1, sha256: SHA_A },
        { name: 'mnist', version: 2, sha256: SHA_A, group: 'vision' },
      ],
    },
    'two models, one grouped',
  ),
);
const stacks: Stack[] = [stack, ...stack.groups];
const resources = (of: Stack) => Template.fromStack(of).toJSON().Resources as Record<string, Resource>;
const main = resources(stack);
const topicId = Object.entries(main).find(([, resource]) => resource.Type === 'AWS::SNS::Topic')?.[0];

describe('failure paths: every alarm sluice creates notifies the alarm topic', () => {
  it('gives every alarm in the template, in every stack, the alarm topic as its alarm action', () => {
    assert.ok(topicId);
    let alarms = 0;
    for (const of of stacks) {
      for (const [id, resource] of Object.entries(resources(of))) {
        if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
        alarms++;
        // A model group's stack names the main stack's topic through its nested-stack parameter.
        if (of === stack)
          assert.deepEqual(resource.Properties.AlarmActions, [{ Ref: topicId }], `${of.node.path}/${id}`);
        else
          assert.match(
            JSON.stringify(resource.Properties.AlarmActions),
            /^\[\{"Ref":"referenceto.*Alarms.*Ref"\}\]$/,
            `${of.node.path}/${id}`,
          );
      }
    }
    assert.ok(alarms >= 1);
  });

  it("names the alarm topic in every predict function's environment, in the groups too: the control plane's version alarms notify it", () => {
    assert.equal(stack.groups.length, 1);
    for (const of of stacks) {
      const predict = Object.values(resources(of)).filter(
        (resource) =>
          resource.Type === 'AWS::Lambda::Function' &&
          JSON.stringify(resource.Properties.Environment).includes('SLUICE_MODEL"'),
      );
      assert.equal(predict.length, 1, of.node.path);
      const variables = (
        (predict[0] ?? assert.fail('no predict function')).Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      if (of === stack) assert.deepEqual(variables.SLUICE_ALARM_TOPIC_ARN, { Ref: topicId });
      else assert.match(JSON.stringify(variables.SLUICE_ALARM_TOPIC_ARN), /"Ref":"referenceto.*Alarms/);
    }
  });
});

describe('failure paths: what EventBridge and the scheduler invoke fails into the one alarmed queue, in every group', () => {
  it("gives every group's alarm rollback and rollout driver the main stack's failure queue as on-failure destination and dead-letter queue", () => {
    const queueId = Object.entries(main).find(([, resource]) => resource.Type === 'AWS::SQS::Queue')?.[0];
    assert.ok(queueId);
    for (const of of stacks) {
      const all = Object.values(resources(of));
      const configs = all.filter((resource) => resource.Type === 'AWS::Lambda::EventInvokeConfig');
      assert.equal(configs.length, 2, `${of.node.path}: the alarm rollback and the rollout driver`);
      const queueArn = (value: unknown) =>
        of === stack
          ? assert.deepEqual(value, { 'Fn::GetAtt': [queueId, 'Arn'] })
          : assert.match(JSON.stringify(value), /"Ref":"referenceto.*ControlPlaneFailuresQueue.*Arn"/);
      for (const config of configs)
        queueArn(
          (config.Properties.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
            .Destination,
        );
      const schedule =
        all.find((resource) => resource.Type === 'AWS::Scheduler::Schedule') ?? assert.fail('no schedule');
      queueArn((schedule.Properties.Target as { DeadLetterConfig: { Arn: unknown } }).DeadLetterConfig.Arn);
      const rule = all.find((resource) => resource.Type === 'AWS::Events::Rule') ?? assert.fail('no rule');
      const [target] = rule.Properties.Targets as { DeadLetterConfig: { Arn: unknown } }[];
      queueArn(target?.DeadLetterConfig.Arn);
    }
  });
});

describe('failure paths: the queue accepts what every alarm-rollback rule could not deliver', () => {
  it("lets EventBridge send each stack's rule's undeliverable events to the queue, the groups' rules included", () => {
    const policy =
      Object.values(main).find((resource) => resource.Type === 'AWS::SQS::QueuePolicy') ??
      assert.fail('no queue policy');
    const statements = (
      policy.Properties.PolicyDocument as { Statement: { Effect: string; Principal?: unknown }[] }
    ).Statement;
    const fromEvents = statements.filter(
      (statement) =>
        statement.Effect === 'Allow' &&
        JSON.stringify(statement.Principal) === '{"Service":"events.amazonaws.com"}',
    );
    assert.equal(fromEvents.length, stacks.length, 'one per alarm-rollback rule');
  });
});

describe("failure paths: API Gateway's account-level CloudWatch role outlives the stack", () => {
  it('retains AWS::ApiGateway::Account and its role on delete and on replacement: other APIs in the region log through it', () => {
    const [, account] =
      Object.entries(main).find(([, resource]) => resource.Type === 'AWS::ApiGateway::Account') ?? [];
    assert.ok(account);
    assert.equal(account.DeletionPolicy, 'Retain');
    assert.equal(account.UpdateReplacePolicy, 'Retain');
    const roleRef = account.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] };
    const role = main[roleRef['Fn::GetAtt'][0]];
    assert.equal(role?.Type, 'AWS::IAM::Role');
    assert.equal(role?.DeletionPolicy, 'Retain');
    assert.equal(role?.UpdateReplacePolicy, 'Retain');
  });
});

describe('observability: API access logs carry what explains a failed or slow request', () => {
  it('logs JSON with the integration error message, the integration latency and the API key id', () => {
    const [, stage] =
      Object.entries(main).find(([, resource]) => resource.Type === 'AWS::ApiGateway::Stage') ?? [];
    const format = ((stage ?? assert.fail('no stage')).Properties.AccessLogSetting as { Format: string })
      .Format;
    const fields = JSON.parse(format) as Record<string, string>;
    assert.equal(fields.integrationErrorMessage, '$context.integrationErrorMessage');
    assert.equal(fields.integrationLatency, '$context.integrationLatency');
    assert.equal(fields.apiKeyId, '$context.identity.apiKeyId');
    assert.equal(fields.requestId, '$context.requestId');
    assert.equal(fields.xrayTraceId, '$context.xrayTraceId');
    assert.deepEqual(Object.keys(fields), Object.keys(ACCESS_LOG_FIELDS));
    assert.doesNotMatch(format, /apiKey"|\$context\.identity\.apiKey[^I]/, 'the key id, never the key');
  });
});
