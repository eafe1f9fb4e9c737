import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { InferenceApi } from '../../lib/cdk/inference-api.js';
import { DeployConfigError, parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { configWith, SHA_A, SHA_B, synth } from './stack-fixture.js';

const base = synth(configWith());
const template = base.template;

function resourcesOf(
  type: string,
  from = template,
): Record<string, { Properties: Record<string, unknown>; UpdatePolicy?: unknown }> {
  return from.findResources(type) as Record<
    string,
    { Properties: Record<string, unknown>; UpdatePolicy?: unknown }
  >;
}

function only<T>(record: Record<string, T>): [string, T] {
  const entries = Object.entries(record);
  assert.equal(entries.length, 1, `expected exactly one, got ${entries.map(([id]) => id).join(', ')}`);
  return entries[0] as [string, T];
}

describe('registry bucket: versioned, KMS with a customer managed key, TLS only, private, logged, lifecycle', () => {
  it('encrypts with the stack KMS key and a bucket key, versions objects, blocks public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }),
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'registry/' }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('denies every request without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('predict function: newest Node runtime, config-driven size and architecture, model identity in its environment', () => {
  const predictFunctions = () =>
    Object.values(resourcesOf('AWS::Lambda::Function')).filter((fn) => {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      return variables?.SLUICE_MODEL !== undefined;
    });

  it('runs nodejs24.x on x86_64 with the configured memory and names bucket, model, version and sha256', () => {
    const [fn] = predictFunctions();
    assert.ok(fn);
    assert.equal(fn.Properties.Runtime, 'nodejs24.x');
    assert.deepEqual(fn.Properties.Architectures, ['x86_64']);
    assert.equal(fn.Properties.MemorySize, 1024);
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.equal(variables.SLUICE_MODEL, 'iris');
    assert.equal(variables.SLUICE_MODEL_VERSION, '1');
    assert.equal(variables.SLUICE_MODEL_SHA256, SHA_A);
    assert.ok(variables.SLUICE_BUCKET);
  });

  it('uses arm64 and the memory the config asks for', () => {
    const { template: arm } = synth(configWith({}, { architecture: 'arm64', memoryMb: 2048 }));
    arm.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      MemorySize: 2048,
      Runtime: 'nodejs24.x',
    });
  });

  it('publishes a new Lambda version whenever the model version or sha256 changes (aws/aws-cdk#25997)', () => {
    const versionId = (config: ReturnType<typeof configWith>) =>
      only(resourcesOf('AWS::Lambda::Version', synth(config).template))[0];
    const v1 = versionId(configWith());
    assert.equal(versionId(configWith()), v1, 'the same config yields the same version');
    assert.notEqual(
      versionId(configWith({}, { version: 2 })),
      v1,
      'model version 2 needs a new Lambda version',
    );
    assert.notEqual(
      versionId(configWith({}, { sha256: SHA_B })),
      v1,
      'other bytes need a new Lambda version',
    );
  });
});

describe('IAM: least privilege, no wildcard actions, no hand-built ARNs', () => {
  const statements = () =>
    Object.values(resourcesOf('AWS::IAM::Policy')).flatMap(
      (policy) =>
        (
          policy.Properties.PolicyDocument as {
            Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
          }
        ).Statement,
    );

  it('grants no action with a wildcard', () => {
    for (const statement of statements()) {
      for (const action of [statement.Action].flat())
        assert.ok(!action.includes('*'), `wildcard action ${action}`);
    }
  });

  it('lets the predict function read only models/iris/* and list only that prefix, and decrypt with the registry key', () => {
    const json = JSON.stringify(statements());
    assert.match(json, /"s3:GetObject"/);
    assert.match(json, /\/models\/iris\/\*/);
    assert.match(json, /"s3:prefix":\["models\/iris\/\*"\]/);
    assert.match(json, /"kms:Decrypt"/);
    for (const statement of statements().filter((candidate) =>
      [candidate.Action].flat().includes('s3:PutObject'),
    )) {
      assert.match(
        JSON.stringify(statement.Resource),
        /"\/(rollouts|requests\/iris)\/\*"\]\]\}$/,
        'nothing deployed may write models, only rollout states and its own request objects (tensors by reference)',
      );
    }
  });

  it('writes no literal arn:aws: in the template of an app without account and region (as bin/app.ts synthesizes it)', () => {
    // With a known region CDK writes the partition itself (@aws-cdk/core:enablePartitionLiterals, cdk.json); without
    // one, a literal arn:aws: could only be an ARN built by hand.
    const { template: agnostic } = synth(configWith(), { agnostic: true });
    assert.doesNotMatch(JSON.stringify(agnostic.toJSON()), /arn:aws:/);
  });
});

describe('no CodeDeploy: CloudFormation creates the function and its release, and never moves the alias', () => {
  it('has no CodeDeploy resource, no AWS::Lambda::Alias and no UpdatePolicy anywhere', () => {
    const resources = template.toJSON().Resources as Record<string, { Type: string; UpdatePolicy?: unknown }>;
    for (const [id, resource] of Object.entries(resources)) {
      assert.doesNotMatch(resource.Type, /CodeDeploy/, id);
      assert.equal(resource.UpdatePolicy, undefined, `${id} has an UpdatePolicy`);
    }
    template.resourceCountIs('AWS::Lambda::Alias', 0);
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /codedeploy/i);
  });

  it('gives each model a release (Custom::SluiceRelease) carrying what it serves: version, sha256, the Lambda version, the plan', () => {
    const [, releaseResource] = only(resourcesOf('Custom::SluiceRelease'));
    const [versionId] = only(resourcesOf('AWS::Lambda::Version'));
    const properties = releaseResource.Properties;
    assert.deepEqual(properties.LambdaVersion, { 'Fn::GetAtt': [versionId, 'Version'] });
    assert.equal(properties.Model, 'iris');
    assert.equal(properties.ModelVersion, '1');
    assert.equal(properties.Sha256, SHA_A);
    assert.equal(properties.ProvisionedConcurrency, '0');
    assert.deepEqual(JSON.parse(String(properties.Plan)), {
      strategy: 'canary',
      steps: [10, 100],
      intervalMs: 300_000,
      minRequests: 20,
      shadowPercent: 10,
    });
    assert.equal(properties.ServiceTimeout, '3600', "CloudFormation's longest custom resource wait");
  });

  it('serves the release from the Provider framework: onEvent and isComplete, polled every minute for 55 minutes', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const handlers = Object.values(resourcesOf('AWS::Lambda::Function')).filter((fn) =>
      /^index\.(onEvent|isComplete)$/.test(String(fn.Properties.Handler)),
    );
    assert.deepEqual(handlers.map((fn) => fn.Properties.Handler).sort(), [
      'index.isComplete',
      'index.onEvent',
    ]);
    const [, machine] = only(resourcesOf('AWS::StepFunctions::StateMachine'));
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    assert.match(definition, /IntervalSeconds\\":60/);
    assert.match(definition, /MaxAttempts\\":55/);
  });

  it("maps presets and custom rollouts to the engine's plans, minRequests, the shadow share and the gates included", () => {
    const planOf = (rollout: Record<string, unknown>) =>
      JSON.parse(
        String(
          only(resourcesOf('Custom::SluiceRelease', synth(configWith({}, { rollout })).template))[1]
            .Properties.Plan,
        ),
      );
    assert.deepEqual(
      planOf({ strategy: 'preset', preset: 'linear-10-percent-every-1-minute' }).steps,
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    );
    assert.deepEqual(planOf({ strategy: 'all-at-once', minRequests: 0, shadowPercent: 0 }), {
      strategy: 'all-at-once',
      steps: [100],
      intervalMs: 0,
      minRequests: 0,
    });
    assert.deepEqual(
      planOf({
        strategy: 'canary',
        percentage: 25,
        intervalMinutes: 7,
        minRequests: 50,
        shadowPercent: 20,
        gates: { tolerance: 0.01, alpha: 0.01, replayStandsIn: true, maxShadowMinutes: 30 },
      }),
      {
        strategy: 'canary',
        steps: [25, 100],
        intervalMs: 420_000,
        minRequests: 50,
        shadowPercent: 20,
        gates: { tolerance: 0.01, alpha: 0.01, replayStandsIn: true, maxShadowMs: 1_800_000 },
      },
    );
    assert.throws(
      () => planOf({ strategy: 'canary', percentage: 25, intervalMinutes: 7, gates: { tolerence: 0.01 } }),
      /tolerence/,
    );
  });

  it('refuses at synth a plan that cannot finish within the wait, naming the model and the numbers', () => {
    assert.throws(
      () =>
        synth(
          configWith({}, { rollout: { strategy: 'preset', preset: 'linear-10-percent-every-10-minutes' } }),
        ),
      /Model-iris: the rollout of model "iris" \(linear, steps \[10, .*, 100\]%, 10 min per step\) takes at least 130 minutes on AWS .*and as much again for the shadow phase.*longer than the 50 minutes cdk deploy can wait/,
    );
    assert.doesNotThrow(() =>
      synth(configWith({}, { rollout: { strategy: 'preset', preset: 'canary-10-percent-30-minutes' } })),
    );
  });

  it('points API Gateway at the alias-qualified ARN through one invoke permission per model for the whole stage, created after the release', () => {
    const [releaseId] = only(resourcesOf('Custom::SluiceRelease'));
    const permissions = Object.entries(template.findResources('AWS::Lambda::Permission')).filter(
      ([, permission]) => permission.Properties.Principal === 'apigateway.amazonaws.com',
    );
    assert.equal(permissions.length, 1, 'one permission for the four proxied methods, not one per method');
    for (const [id, permission] of permissions) {
      assert.match(JSON.stringify(permission.Properties.FunctionName), /ModelirisFunction.*:live/, id);
      assert.ok((permission.DependsOn as string[]).includes(releaseId), `${id} waits for the alias`);
      assert.match(
        JSON.stringify(permission.Properties.SourceArn),
        /"\/prod\/\*\/\*"\]\]\}$/,
        `${id} covers every method and path of the stage`,
      );
    }
    const proxied = Object.values(resourcesOf('AWS::ApiGateway::Method')).filter(
      (method) => (method.Properties.Integration as { Type?: string }).Type === 'AWS_PROXY',
    );
    assert.equal(proxied.length, 4);
    for (const method of proxied) {
      const integration = method.Properties.Integration as { IntegrationHttpMethod: string; Uri: unknown };
      assert.equal(integration.IntegrationHttpMethod, 'POST');
      assert.match(
        JSON.stringify(integration.Uri),
        /:lambda:path\/2015-03-31\/functions\/.*ModelirisFunction.*:live\/invocations/,
      );
    }
  });

  it("keeps the Lambda versions CloudFormation replaces: sluice's retention deletes versions, not CloudFormation's cleanup", () => {
    const versions = template.findResources('AWS::Lambda::Version');
    for (const [id, version] of Object.entries(versions)) {
      assert.equal(version.DeletionPolicy, 'Retain', id);
      assert.equal(version.UpdateReplacePolicy, 'Retain', id);
    }
  });

  it('keeps provisioned concurrency off the template: the release sets it on the alias it owns', () => {
    const { template: provisioned } = synth(configWith({}, { provisionedConcurrency: 3 }));
    assert.equal(
      only(resourcesOf('Custom::SluiceRelease', provisioned))[1].Properties.ProvisionedConcurrency,
      '3',
    );
    for (const version of Object.values(resourcesOf('AWS::Lambda::Version', provisioned))) {
      assert.equal(version.Properties.ProvisionedConcurrencyConfig, undefined);
    }
    provisioned.resourceCountIs('AWS::Lambda::Alias', 0);
  });
});

describe('unattended: EventBridge Scheduler invokes the rollout driver every minute', () => {
  it('schedules rate(1 minute) on the driver function, no retries, through a role that may only invoke it', () => {
    const [, schedule] = only(resourcesOf('AWS::Scheduler::Schedule'));
    assert.equal(schedule.Properties.ScheduleExpression, 'rate(1 minute)');
    assert.deepEqual(schedule.Properties.FlexibleTimeWindow, { Mode: 'OFF' });
    const target = schedule.Properties.Target as { Arn: unknown; RoleArn: unknown; RetryPolicy: unknown };
    const [driverId, driver] =
      Object.entries(resourcesOf('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('RolloutDriverFunction'),
      ) ?? [];
    assert.ok(driverId && driver);
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [driverId, 'Arn'] });
    assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 0 });
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = template.findResources('AWS::IAM::Role')[roleId];
    assert.deepEqual(role?.Properties.AssumeRolePolicyDocument.Statement[0].Principal, {
      Service: 'scheduler.amazonaws.com',
    });
    const policies = Object.values(resourcesOf('AWS::IAM::Policy')).filter(
      (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    const actions = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap(
        (statement) => [statement.Action].flat(),
      ),
    );
    assert.deepEqual(
      actions,
      ['lambda:InvokeFunction', 'sqs:SendMessage'],
      'invoke, and dead-letter failed deliveries',
    );
    // One tick at a time is the lease's doing: a new account may have no concurrency to reserve.
    assert.equal(driver.Properties.ReservedConcurrentExecutions, undefined, 'no reserved concurrency');
    assert.equal(
      resourcesOf('AWS::Lambda::Function')
        ? Object.values(resourcesOf('AWS::Lambda::Function')).filter(
            (fn) => fn.Properties.ReservedConcurrentExecutions !== undefined,
          ).length
        : 0,
      0,
      'no function of the stack reserves concurrency',
    );
    const variables = (driver.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.match(JSON.stringify(variables.SLUICE_MODEL_FUNCTIONS), /iris.*ModelirisFunction/);
  });

  it('lets the driver act on its models only: their functions and qualified versions, their alarms, the rollouts prefix', () => {
    const [driverId] =
      Object.entries(resourcesOf('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('RolloutDriverFunction'),
      ) ?? [];
    assert.ok(driverId);
    const driver = resourcesOf('AWS::Lambda::Function')[driverId] ?? assert.fail('no driver function');
    const roleId = (driver.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const statements = Object.values(resourcesOf('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(
        (policy) =>
          (
            policy.Properties.PolicyDocument as {
              Statement: { Action: string | string[]; Resource: unknown }[];
            }
          ).Statement,
      );
    const resourcesFor = (action: string) =>
      JSON.stringify(
        statements
          .filter((statement) => [statement.Action].flat().includes(action))
          .map((statement) => statement.Resource),
      );
    assert.match(
      resourcesFor('lambda:DeleteFunction'),
      /ModelirisFunction[^"]*","Arn"\]\},":\*"/,
      'only qualified versions',
    );
    assert.doesNotMatch(
      resourcesFor('lambda:DeleteFunction'),
      /^\[\{"Fn::GetAtt"/,
      'never the function itself',
    );
    assert.match(resourcesFor('cloudwatch:PutMetricAlarm'), /alarm:sluice-/);
    assert.equal(resourcesFor('cloudwatch:GetMetricData'), '["*"]');
  });
});

describe('failure paths: what EventBridge and the scheduler invoke fails into a queue with an alarm', () => {
  it('sends failed invocations of the alarm rollback and the rollout driver, and undeliverable events, to one encrypted queue whose alarm notifies the topic', () => {
    const [queueId, queue] = only(resourcesOf('AWS::SQS::Queue'));
    assert.equal(queue.Properties.SqsManagedSseEnabled, true);
    const configs = Object.values(resourcesOf('AWS::Lambda::EventInvokeConfig'));
    assert.equal(configs.length, 2);
    for (const config of configs) {
      assert.deepEqual(config.Properties.DestinationConfig, {
        OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      });
    }
    const [, schedule] = only(resourcesOf('AWS::Scheduler::Schedule'));
    assert.deepEqual((schedule.Properties.Target as { DeadLetterConfig: unknown }).DeadLetterConfig, {
      Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
    const [topicId] = only(resourcesOf('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
  });
});

describe('alarms: the control plane creates every version alarm; the stack gives it the topic', () => {
  it('has no version alarm in the template and names the alarm topic in the predict function environment', () => {
    // The release queue's dead letters, and the model's drift alarm (a notice, not a version alarm).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Sluice',
      MetricName: 'DriftPsi',
      Statistic: 'Maximum',
      Period: 900,
      Threshold: 0.25,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      // CDK sorts an alarm's dimensions by name.
      Dimensions: [
        { Name: 'Model', Value: 'iris' },
        { Name: 'service', Value: 'sluice' },
      ],
    });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const [topicId] = only(resourcesOf('AWS::SNS::Topic'));
    const predict =
      Object.entries(resourcesOf('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('ModelirisFunction'),
      )?.[1] ?? assert.fail('no predict function');
    const variables = (predict.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(variables.SLUICE_ALARM_TOPIC_ARN, { Ref: topicId });
  });

  it('lets CloudWatch publish to the encrypted topic: a customer managed key CloudWatch may use, and a publish allow', () => {
    const [topicId, topic] = Object.entries(resourcesOf('AWS::SNS::Topic'))[0] ?? [];
    assert.ok(topicId && topic);
    const keyRef = (topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    assert.ok(
      keyRef,
      `the topic key is one of the stack's keys, not aws/sns: ${JSON.stringify(topic.Properties)}`,
    );
    const key = resourcesOf('AWS::KMS::Key')[keyRef[0]];
    assert.ok(key, 'the topic key is defined in the stack');
    assert.equal(key.Properties.EnableKeyRotation, true);
    const keyStatements = (key.Properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    assert.ok(
      keyStatements.some(
        (statement) =>
          JSON.stringify(statement.Principal) === '{"Service":"cloudwatch.amazonaws.com"}' &&
          JSON.stringify(statement.Action) === '["kms:Decrypt","kms:GenerateDataKey"]',
      ),
      'the key policy lets CloudWatch encrypt messages for the topic',
    );
    const topicPolicies = Object.values(resourcesOf('AWS::SNS::TopicPolicy'));
    const topicStatements = topicPolicies.flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    assert.ok(
      topicStatements.some(
        (statement) =>
          statement.Effect === 'Allow' &&
          statement.Action === 'sns:Publish' &&
          JSON.stringify(statement.Principal) === '{"Service":"cloudwatch.amazonaws.com"}',
      ),
      'CloudWatch may publish',
    );
    assert.ok(
      topicStatements.some((statement) => statement.Effect === 'Deny'),
      'and the topic still refuses anything but TLS',
    );
  });

  it("outputs each model's predict function name, which the rollout commands take as --function", () => {
    const outputs = template.findOutputs('*');
    const name = Object.keys(outputs).find(
      (output) => output.includes('iris') && output.includes('FunctionName'),
    );
    assert.ok(name, Object.keys(outputs).join(', '));
    assert.deepEqual(Object.keys(outputs[name]?.Value ?? {}), ['Ref']);
  });
});

describe('API Gateway: the HTTP contract, routed per model to its alias, throttled, logged, authenticated', () => {
  it('proxies /v2/models/iris/{proxy+} and /models/iris/{proxy+} to the live alias', () => {
    const paths = Object.values(resourcesOf('AWS::ApiGateway::Resource')).map(
      (resource) => resource.Properties.PathPart,
    );
    for (const part of ['v2', 'models', 'iris', '{proxy+}', 'health', 'live', 'ready'])
      assert.ok(paths.includes(part), `missing ${part}`);
    const permissions = Object.values(resourcesOf('AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'apigateway.amazonaws.com',
    );
    assert.ok(permissions.length > 0);
    for (const permission of permissions) {
      assert.match(
        JSON.stringify(permission.Properties.FunctionName),
        /:live/,
        'invoke permission is on the alias-qualified ARN',
      );
    }
  });

  it('throttles each method of the stage (the default method settings, /* and *) and writes JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ],
    });
    const { template: tuned } = synth(configWith({ api: { methodRateLimit: 40, methodBurstLimit: 80 } }));
    tuned.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [
        Match.objectLike({
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: 40,
          ThrottlingBurstLimit: 80,
        }),
      ],
    });
  });

  it('requires IAM (SigV4) on model routes by default, with no usage plan or key, and outputs the URL, the invoke ARN and the bucket', () => {
    const proxied = Object.values(resourcesOf('AWS::ApiGateway::Method')).filter(
      (method) => (method.Properties.Integration as { Type?: string }).Type === 'AWS_PROXY',
    );
    assert.equal(proxied.length, 4);
    for (const method of proxied) {
      assert.equal(method.Properties.AuthorizationType, 'AWS_IAM');
      assert.notEqual(method.Properties.ApiKeyRequired, true);
    }
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    const outputs = template.findOutputs('*');
    const names = Object.keys(outputs);
    assert.ok(names.some((name) => name.includes('Url')));
    assert.ok(names.some((name) => name.includes('BucketName')));
    assert.ok(!names.some((name) => name.includes('ApiKeyId')));
    const invoke = names.find((name) => name.includes('InvokeArn')) ?? assert.fail(names.join(', '));
    assert.match(JSON.stringify(outputs[invoke]?.Value), /:execute-api:.*"\/prod\/\*\/\*"\]\]\}$/);
  });

  it('lets grantInvoke give a caller execute-api:Invoke on every method of the stage', () => {
    const { template: granted } = synth(configWith(), {
      extend: (stack) =>
        stack.api.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() })),
    });
    const statements = Object.values(resourcesOf('AWS::IAM::Policy', granted)).flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
          .Statement,
    );
    const invoke = statements.filter((statement) => statement.Action === 'execute-api:Invoke');
    assert.equal(invoke.length, 1);
    assert.match(JSON.stringify(invoke[0]?.Resource), /:execute-api:.*"\/prod\/\*\/\*"\]\]\}$/);
  });

  it('with api-key auth requires the key on model routes, under a usage plan with the configured quota and throttle', () => {
    const { template: keyed } = synth(
      configWith({ api: { auth: 'api-key', quota: { limit: 50_000, period: 'DAY' } } }),
    );
    const proxied = Object.values(resourcesOf('AWS::ApiGateway::Method', keyed)).filter(
      (method) => (method.Properties.Integration as { Type?: string }).Type === 'AWS_PROXY',
    );
    assert.equal(proxied.length, 4);
    for (const method of proxied) {
      assert.equal(method.Properties.ApiKeyRequired, true);
      assert.equal(method.Properties.AuthorizationType, 'NONE');
    }
    keyed.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    keyed.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    keyed.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Quota: { Limit: 50_000, Period: 'DAY' },
      Throttle: { RateLimit: 100, BurstLimit: 200 },
    });
    assert.ok(Object.keys(keyed.findOutputs('*')).some((name) => name.includes('ApiKeyId')));
  });

  it('refuses api-key auth without a quota at synth too, naming the construct', () => {
    assert.throws(
      () =>
        synth(configWith(), {
          extend: (stack) => new InferenceApi(stack, 'Keyed', { auth: 'api-key' }),
        }),
      /Test\/Keyed: api-key auth needs a usage plan quota/,
    );
  });

  it('answers API Gateway\'s own errors as JSON {"error": ...}', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error"') },
    });
  });
});

describe("dashboard: per model, every version's traffic, latency percentiles, errors and load time", () => {
  it('has SEARCH widgets over Lambda and sluice metrics for iris', () => {
    const [, dashboard] = only(resourcesOf('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const needle of ['Invocations', 'Latency', 'p99', 'Errors', 'ModelLoadTime', 'iris'])
      assert.ok(body.includes(needle), needle);
    // A document has one dimension set: each graph searches the routed one (with FunctionVersion) and the other.
    assert.ok(body.includes('{Sluice,FunctionVersion,Model,Version,service} MetricName='));
    assert.ok(body.includes('{Sluice,Model,Version,service} MetricName='));
  });
});

describe('cdk-nag AwsSolutions: zero unacknowledged findings, every acknowledgement with a reason', () => {
  for (const [label, config] of [
    ['iam auth (the default)', configWith()],
    [
      'api-key auth with a quota, arm64, provisioned concurrency, custom canary',
      configWith(
        { api: { auth: 'api-key', quota: { limit: 1_000_000, period: 'MONTH' } } },
        {
          architecture: 'arm64',
          provisionedConcurrency: 2,
          rollout: { strategy: 'canary', percentage: 20, intervalMinutes: 4 },
        },
      ),
    ],
    ['no auth', configWith({ api: { auth: 'none' } })],
  ] as const) {
    it(`synthesizes with the AwsSolutions checks and ${label}`, () => {
      const { stack } = synth(config, { nag: true });
      assert.doesNotThrow(() => (stack.node.root as App).synth());
    });
  }

  it('fails synthesis on a finding nobody acknowledged (the checks really run)', () => {
    assert.throws(
      () => synth(configWith(), { nag: true, extend: (stack) => new s3.Bucket(stack, 'Unencrypted') }),
      /AwsSolutions-S1|Validation failed/,
    );
  });

  it('gives every acknowledgement a written reason', () => {
    const { stack } = synth(configWith(), { nag: true });
    const acknowledged = stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .filter(([id]) => id.startsWith('AwsSolutions::'));
    assert.ok(acknowledged.length > 5);
    for (const [id, reason] of acknowledged) assert.ok(reason.length > 30, `${id} needs a reason`);
  });
});

describe('deployment config: a bad value fails synth naming the field and the value', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a bad sha256',
      { models: [{ name: 'iris', version: 1, sha256: 'abc' }] },
      /models\[0\]\.sha256: .*got "abc"/,
    ],
    [
      'a model name with capitals',
      { models: [{ name: 'Iris', version: 1, sha256: SHA_A }] },
      /models\[0\]\.name: .*got "Iris"/,
    ],
    [
      "memory below Lambda's minimum",
      { models: [{ name: 'iris', version: 1, sha256: SHA_A, memoryMb: 64 }] },
      /memoryMb: .*got 64/,
    ],
    [
      'an unknown strategy',
      { models: [{ name: 'iris', version: 1, sha256: SHA_A, rollout: { strategy: 'blue-green' } }] },
      /rollout\.strategy: .*got "blue-green"/,
    ],
    ['an unknown auth mode', { api: { auth: 'cognito' } }, /api\.auth: .*got "cognito"/],
    [
      'the stage-sounding throttle of an earlier release, naming its per-method replacement',
      { api: { throttleRateLimit: 100 } },
      /api\.throttleRateLimit: limits each method of the stage, not the stage, and is renamed methodRateLimit/,
    ],
    [
      'api-key auth without a usage plan quota',
      { api: { auth: 'api-key' } },
      /api\.quota: api-key auth needs its usage plan quota, e\.g\. \{"limit": 100000, "period": "DAY"\}.*got nothing/,
    ],
    [
      'a quota without an API key',
      { api: { auth: 'iam', quota: { limit: 10, period: 'DAY' } } },
      /api\.quota: is the API key's usage plan quota, and auth "iam" has no key/,
    ],
    [
      'a quota period API Gateway does not know',
      { api: { auth: 'api-key', quota: { limit: 10, period: 'HOUR' } } },
      /api\.quota\.period: .*got "HOUR"/,
    ],
    [
      'a quota of 0 requests (CDK would write no quota at all)',
      { api: { auth: 'api-key', quota: { limit: 0, period: 'DAY' } } },
      /api\.quota\.limit: .*got 0/,
    ],
    [
      'a model group name that cannot name a nested stack',
      { models: [{ name: 'iris', version: 1, sha256: SHA_A, group: 'Vision Models' }] },
      /models\[0\]\.group: group names are 1-20 characters.*got "Vision Models"/,
    ],
    [
      'an error count of an earlier release, naming its replacement',
      { models: [{ name: 'iris', version: 1, sha256: SHA_A, alarms: { errors: 1 } }] },
      /models\[0\]\.alarms\.errors: was a count per minute and is replaced by errorRatePercent/,
    ],
    ['an unknown field', { modles: [] }, /modles|unrecognized/i],
    [
      'a model listed twice',
      {
        models: [
          { name: 'iris', version: 1, sha256: SHA_A },
          { name: 'iris', version: 2, sha256: SHA_B },
        ],
      },
      /"iris" is listed twice/,
    ],
  ];
  for (const [label, raw, message] of cases) {
    it(`refuses ${label}`, () => {
      assert.throws(
        () => parseDeployConfig(raw, 'sluice.config.json'),
        (error: unknown) => {
          assert.ok(error instanceof DeployConfigError);
          assert.match(error.message, message);
          assert.match(error.message, /sluice\.config\.json/);
          return true;
        },
      );
    });
  }

  it('fills every optional field with its default', () => {
    const config = parseDeployConfig({ models: [{ name: 'iris', version: 1, sha256: SHA_A }] }, 'x');
    const [model] = config.models;
    assert.equal(model?.memoryMb, 1024);
    assert.equal(model?.architecture, 'x86_64');
    assert.deepEqual(model?.rollout, { strategy: 'preset', preset: 'canary-10-percent-5-minutes' });
    assert.equal(config.api.auth, 'iam');
    assert.equal(config.api.quota, undefined);
  });
});

describe('binary tensors on API Gateway: bodies reach the function unaltered, GET /v2 lists the extensions', () => {
  it('declares */* as a binary media type, so tritonclient bodies (no Content-Type) arrive base64, not mangled', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
  });

  it('answers GET /v2 from API Gateway with the extensions the function serves, converting the mock request to text', () => {
    const mocks = Object.values(resourcesOf('AWS::ApiGateway::Method')).filter((method) =>
      JSON.stringify(method).includes('"Type":"MOCK"'),
    );
    assert.ok(mocks.length >= 3, 'the /v2 and health mocks');
    for (const mock of mocks) assert.match(JSON.stringify(mock), /"ContentHandling":"CONVERT_TO_TEXT"/);
    const v2 = mocks.find((mock) => JSON.stringify(mock).includes('extensions'));
    assert.match(
      JSON.stringify(v2),
      /\\"extensions\\":\[\\"binary_tensor_data\\",\\"statistics\\",\\"sluice_object\\"\]/,
    );
  });
});
