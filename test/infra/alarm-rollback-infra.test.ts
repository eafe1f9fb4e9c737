import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { App, type App as CdkApp, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { FunctionEntry } from '../../lib/cdk/private/entry-paths.js';
import { BUNDLE_FILE, functionCode } from '../../lib/cdk/private/function-code.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { VersionAlarmKind } from '../../lib/core/gates/version-alarm-name.js';
import { versionAlarmSpecs } from '../../lib/core/gates/version-alarm-specs.js';
import { CDK_CONTEXT, SHA_A, SHA_B, synth } from './stack-fixture.js';

// Any attempt to bundle in Docker fails loudly instead of finding a docker binary by chance.
process.env.CDK_DOCKER = '/nonexistent/docker';

type Resource = { Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

const twoModels = parseDeployConfig(
  {
    models: [
      { name: 'iris', version: 1, sha256: SHA_A, alarms: { p99LatencyMs: 750, rejectedInputsPercent: 40 } },
      { name: 'mnist', version: 4, sha256: SHA_B },
    ],
  },
  'test config',
);
const { stack, template } = synth(twoModels);

function resourcesOf(type: string, from = template): Record<string, Resource> {
  return from.findResources(type) as Record<string, Resource>;
}

/** The logical id a construct's resource has in the template (also when CDK overrides it, as for `currentVersion`). */
function logicalIdOf(construct: IConstruct): string {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  assert.ok(resource instanceof CfnResource, `${construct.node.path} has no CloudFormation resource`);
  return stack.resolve(resource.logicalId) as string;
}
const endpoint = (name: string) => {
  const found = stack.endpoints.find((candidate) => candidate.modelName === name);
  assert.ok(found, `no endpoint ${name}`);
  return found;
};
const alarmRollback = () => {
  assert.ok(stack.alarmRollback, 'the stack has an alarm rollback');
  return stack.alarmRollback;
};
const fnId = (name: string) => logicalIdOf(endpoint(name).fn);

/** Every statement of the alarm-rollback function's role policies. */
function rollbackStatements(): Statement[] {
  const roleId = logicalIdOf(alarmRollback().fn.role ?? assert.fail('no role'));
  return Object.values(resourcesOf('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

describe("alarm rollback rule: version alarms of this stack's functions entering ALARM reach the rollback function", () => {
  it('matches aws.cloudwatch "CloudWatch Alarm State Change" in state ALARM for names prefixed sluice-<function>- of every model', () => {
    const rules = Object.values(resourcesOf('AWS::Events::Rule'));
    assert.equal(rules.length, 1);
    const [rule] = rules;
    assert.deepEqual(rule?.Properties.EventPattern, {
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: {
        state: { value: ['ALARM'] },
        alarmName: ['iris', 'mnist'].map((name) => ({
          prefix: { 'Fn::Join': ['', ['sluice-', { Ref: fnId(name) }, '-']] },
        })),
      },
    });
    const functionId = logicalIdOf(alarmRollback().fn);
    const failuresId = logicalIdOf(stack.controlPlaneFailures?.queue ?? assert.fail('no failure queue'));
    assert.deepEqual(rule?.Properties.Targets, [
      {
        Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Id: 'Target0',
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [failuresId, 'Arn'] } },
      },
    ]);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
  });

  it("has no version alarm in the template: the control plane creates every one (the first deploy's too) from versionAlarmSpecs, named so the rule sees them", () => {
    const alarms = Object.values(resourcesOf('AWS::CloudWatch::Alarm'));
    assert.deepEqual(
      alarms.map((alarm) => `${alarm.Properties.Namespace} ${alarm.Properties.MetricName}`).sort(),
      ['AWS/SQS ApproximateNumberOfMessagesVisible', 'Sluice DriftPsi', 'Sluice DriftPsi'],
      "the failure queue's alarm and each model's drift alarm, no version alarm",
    );
    for (const alarm of alarms) {
      // The drift alarms notify; only version alarms (named sluice-<function>-...) reach the rollback rule.
      assert.equal(
        alarm.Properties.AlarmName,
        undefined,
        'a name CloudFormation makes, never a version alarm name',
      );
    }
    const spec = versionAlarmSpecs(
      { functionName: 'Test-Fn', alias: 'live', lambdaVersion: '7', model: 'iris', modelVersion: 1 },
      twoModels.models[0]?.alarms ?? assert.fail('no thresholds'),
    );
    assert.deepEqual(
      spec.map((alarm) => alarm.alarmName),
      Object.values(VersionAlarmKind).map((kind) => `sluice-Test-Fn-7-${kind}`),
    );
  });

  it('hands the alarm topic to the predict function, so the alarms the control plane creates notify it', () => {
    const irisFn = resourcesOf('AWS::Lambda::Function')[fnId('iris')] ?? assert.fail('no iris function');
    const variables = (irisFn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(variables.SLUICE_ALARM_TOPIC_ARN, { Ref: logicalIdOf(stack.alarmTopic) });
  });

  it('hands the alarm thresholds to the predict function, for the alarms of versions sluice publishes', () => {
    const irisFn = resourcesOf('AWS::Lambda::Function')[fnId('iris')] ?? assert.fail('no iris function');
    const variables = (irisFn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(JSON.parse(String(variables.SLUICE_ALARM_THRESHOLDS)), twoModels.models[0]?.alarms);
  });
});

describe('alarm rollback function: least privilege, no wildcard actions, no hand-built ARNs', () => {
  it('runs nodejs24.x with only the registry bucket in its environment', () => {
    const fn = resourcesOf('AWS::Lambda::Function')[logicalIdOf(alarmRollback().fn)];
    assert.ok(fn);
    assert.equal(fn.Properties.Runtime, 'nodejs24.x');
    assert.equal(fn.Properties.Handler, 'index.handler');
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(Object.keys(variables).sort(), ['NODE_OPTIONS', 'SLUICE_BUCKET']);
    assert.deepEqual(variables.SLUICE_BUCKET, { Ref: logicalIdOf(stack.registry.bucket) });
  });

  it("may do exactly this: read, write and expire rollouts/*, use the registry key, read the functions' versions, update their aliases, report failures", () => {
    const statements = rollbackStatements();
    const actions = statements.flatMap(actionsOf).sort();
    assert.deepEqual(actions, [
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'lambda:GetFunctionConfiguration',
      'lambda:ListVersionsByFunction',
      'lambda:UpdateAlias',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      // The on-failure destination: the control plane's failure queue.
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    for (const action of actions) assert.ok(!action.includes('*'), `wildcard action ${action}`);
    for (const statement of statements) assert.equal(statement.Effect, 'Allow');

    const objects = statements.find((statement) => actionsOf(statement).includes('s3:PutObject'));
    assert.match(
      JSON.stringify(objects?.Resource),
      /"\/rollouts\/\*"\]\]\}$/,
      'objects under rollouts/ only',
    );
    const list = statements.find((statement) => actionsOf(statement).includes('s3:ListBucket'));
    assert.deepEqual(list?.Condition, { StringLike: { 's3:prefix': ['rollouts/*'] } });
    assert.doesNotMatch(JSON.stringify(statements), /models\//, 'nothing of the models themselves');

    // In any order: CDK sorts the resources of the statements it merges (@aws-cdk/aws-iam:minimizePolicies).
    const sameResources = (actual: unknown, expected: unknown[]) =>
      assert.deepEqual(
        [actual]
          .flat()
          .map((resource) => JSON.stringify(resource))
          .sort(),
        expected.map((resource) => JSON.stringify(resource)).sort(),
      );
    const alias = statements.find((statement) => actionsOf(statement).includes('lambda:UpdateAlias'));
    sameResources(
      alias?.Resource,
      ['iris', 'mnist'].flatMap((name) => [
        { 'Fn::GetAtt': [fnId(name), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId(name), 'Arn'] }, ':live']] },
      ]),
    );
    const read = statements.find((statement) =>
      actionsOf(statement).includes('lambda:GetFunctionConfiguration'),
    );
    sameResources(
      read?.Resource,
      ['iris', 'mnist'].flatMap((name) => [
        { 'Fn::GetAtt': [fnId(name), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId(name), 'Arn'] }, ':*']] },
      ]),
    );
  });

  it('writes no literal arn:aws: in the template of an app without account and region (as bin/app.ts synthesizes it)', () => {
    const { template: agnostic } = synth(twoModels, { agnostic: true });
    assert.doesNotMatch(JSON.stringify(agnostic.toJSON()), /arn:aws:/);
  });

  it('is left out of a stack without models, which has no alarms to act on', () => {
    const { stack: empty, template: emptyTemplate } = synth(parseDeployConfig({}, 'empty config'));
    assert.equal(empty.alarmRollback, undefined);
    emptyTemplate.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('cdk-nag AwsSolutions: the alarm rollback adds no unacknowledged finding', () => {
  it('synthesizes two models with the AwsSolutions checks', () => {
    const { stack: checked } = synth(twoModels, { nag: true });
    assert.doesNotThrow(() => (checked.node.root as CdkApp).synth());
  });
});

describe('alarm rollback asset: bundled offline, no onnxruntime', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sluice-alarm-rollback-asset-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('bundles functions/alarm-rollback into index.mjs and its chunks alone', () => {
    const app = new App({ outdir: scratch, context: CDK_CONTEXT });
    const assetStack = new Stack(app, 'Asset');
    new lambda.Function(assetStack, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: functionCode({
        entry: FunctionEntry.ALARM_ROLLBACK,
        architecture: 'x86_64',
        includeOnnxRuntime: false,
      }),
    });
    const assembly = app.synth();
    const fn = Object.values(
      Template.fromStack(assetStack).findResources('AWS::Lambda::Function'),
    )[0] as Resource;
    const key = String((fn.Properties.Code as { S3Key: unknown }).S3Key).replace(/\.zip$/, '');
    const directory = join(assembly.directory, `asset.${key}`);
    assert.ok(existsSync(join(directory, BUNDLE_FILE)));
    assert.ok(!existsSync(join(directory, 'node_modules')), 'everything it imports is bundled');
    // The chunks esbuild splits off (what the SDK loads by import()), each with its source map, and nothing else.
    const files = readdirSync(directory).sort();
    for (const file of files) assert.match(file, /^[\w-]+\.mjs(\.map)?$/, 'a file beside the bundle');
    assert.deepEqual(
      files.filter((file) => file.endsWith('.map')),
      files.filter((file) => file.endsWith('.mjs')).map((file) => `${file}.map`),
    );
  });
});
