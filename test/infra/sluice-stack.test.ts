import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DeployConfigError, parseDeployConfig } from '../../lib/config/deploy-config.js';
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
        /"\/rollouts\/\*"\]\]\}$/,
        'nothing deployed may write models, only rollout states',
      );
    }
  });

  it('writes no literal arn:aws: anywhere in the template', () => {
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /arn:aws:/);
  });
});

describe('alias and CodeDeploy: live alias shifted by a deployment group with alarms, hook and auto-rollback', () => {
  it('routes the live alias to the version with a CodeDeploy update policy and the pre-traffic hook', () => {
    const [, alias] = only(resourcesOf('AWS::Lambda::Alias'));
    assert.equal(alias.Properties.Name, 'live');
    const policy = alias.UpdatePolicy as { CodeDeployLambdaAliasUpdate: { BeforeAllowTrafficHook: unknown } };
    assert.ok(
      policy.CodeDeployLambdaAliasUpdate.BeforeAllowTrafficHook,
      'the hook runs before traffic shifts',
    );
  });

  it('uses the canary preset by default and rolls back on failure, stop and alarm', () => {
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: Match.arrayWith([
          'DEPLOYMENT_FAILURE',
          'DEPLOYMENT_STOP_ON_REQUEST',
          'DEPLOYMENT_STOP_ON_ALARM',
        ]),
      },
      AlarmConfiguration: { Enabled: true, Alarms: Match.anyValue() },
    });
    const [, group] = only(resourcesOf('AWS::CodeDeploy::DeploymentGroup'));
    assert.equal(
      (group.Properties.AlarmConfiguration as { Alarms: unknown[] }).Alarms.length,
      5,
      'every version alarm gates the deployment',
    );
  });

  it('maps linear and all-at-once presets and builds custom canary and linear configs', () => {
    synth(
      configWith({}, { rollout: { strategy: 'preset', preset: 'linear-10-percent-every-1-minute' } }),
    ).template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
    });
    synth(configWith({}, { rollout: { strategy: 'all-at-once' } })).template.hasResourceProperties(
      'AWS::CodeDeploy::DeploymentGroup',
      {
        DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      },
    );
    synth(
      configWith({}, { rollout: { strategy: 'canary', percentage: 25, intervalMinutes: 7 } }),
    ).template.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      ComputePlatform: 'Lambda',
      TrafficRoutingConfig: {
        Type: 'TimeBasedCanary',
        TimeBasedCanary: { CanaryPercentage: 25, CanaryInterval: 7 },
      },
    });
    synth(
      configWith({}, { rollout: { strategy: 'linear', percentage: 20, intervalMinutes: 3 } }),
    ).template.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      TrafficRoutingConfig: {
        Type: 'TimeBasedLinear',
        TimeBasedLinear: { LinearPercentage: 20, LinearInterval: 3 },
      },
    });
  });

  it('puts provisioned concurrency on the alias, never on a version, so weighted shifting keeps working', () => {
    const { template: provisioned } = synth(configWith({}, { provisionedConcurrency: 3 }));
    provisioned.hasResourceProperties('AWS::Lambda::Alias', {
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 3 },
    });
    for (const version of Object.values(resourcesOf('AWS::Lambda::Version', provisioned))) {
      assert.equal(version.Properties.ProvisionedConcurrencyConfig, undefined);
    }
    assert.equal(
      only(resourcesOf('AWS::Lambda::Alias'))[1].Properties.ProvisionedConcurrencyConfig,
      undefined,
    );
  });
});

describe('alarms: scoped to the new version, missing data neither blocks nor rolls back', () => {
  const alarms = () => Object.values(resourcesOf('AWS::CloudWatch::Alarm'));

  it('watches Lambda Errors and p99 Duration with FunctionName, Resource=function:live and ExecutedVersion (aws/aws-cdk#14248)', () => {
    for (const metricName of ['Errors', 'Duration']) {
      const alarm = alarms().find(
        (candidate) =>
          candidate.Properties.Namespace === 'AWS/Lambda' && candidate.Properties.MetricName === metricName,
      );
      assert.ok(alarm, `no ${metricName} alarm`);
      const names = (alarm.Properties.Dimensions as { Name: string }[])
        .map((dimension) => dimension.Name)
        .sort();
      assert.deepEqual(names, ['ExecutedVersion', 'FunctionName', 'Resource']);
      const executed = (alarm.Properties.Dimensions as { Name: string; Value: unknown }[]).find(
        (d) => d.Name === 'ExecutedVersion',
      );
      assert.match(JSON.stringify(executed?.Value), /Fn::GetAtt.*Version/);
    }
    const duration = alarms().find((candidate) => candidate.Properties.MetricName === 'Duration');
    assert.equal(duration?.Properties.ExtendedStatistic, 'p99');
    assert.equal(duration?.Properties.Threshold, 1000);
  });

  it("watches the function's own metrics of the new Lambda version: errors, invalid outputs, rejected inputs", () => {
    for (const metricName of ['Errors', 'InvalidOutputs', 'RejectedInputs']) {
      const alarm = alarms().find(
        (candidate) =>
          candidate.Properties.Namespace === 'Sluice' && candidate.Properties.MetricName === metricName,
      );
      assert.ok(alarm, `no Sluice ${metricName} alarm`);
      const dimensions = [...(alarm.Properties.Dimensions as { Name: string; Value: unknown }[])].sort(
        (a, b) => a.Name.localeCompare(b.Name),
      );
      const functionVersion = dimensions.find((dimension) => dimension.Name === 'FunctionVersion');
      const [versionId, attribute] =
        (functionVersion?.Value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [];
      assert.match(
        versionId ?? '',
        /^ModelirisFunctionCurrentVersion/,
        'the Lambda version CloudFormation publishes',
      );
      assert.equal(attribute, 'Version');
      assert.deepEqual(
        dimensions.filter((dimension) => dimension !== functionVersion),
        [
          { Name: 'Model', Value: 'iris' },
          { Name: 'service', Value: 'sluice' },
          { Name: 'Version', Value: '1' },
        ],
      );
    }
  });

  it('treats missing data as not breaching and notifies the alarm topic', () => {
    for (const alarm of alarms()) {
      assert.equal(alarm.Properties.TreatMissingData, 'notBreaching');
      assert.ok(Array.isArray(alarm.Properties.AlarmActions) && alarm.Properties.AlarmActions.length === 1);
    }
    template.resourceCountIs('AWS::SNS::Topic', 1);
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
        /Live/,
        'invoke permission is on the alias-qualified ARN',
      );
    }
  });

  it('throttles the stage and writes JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
    });
  });

  it('requires an API key on model routes by default, with a usage plan and outputs for the URL and key', () => {
    const methods = Object.values(resourcesOf('AWS::ApiGateway::Method'));
    const proxied = methods.filter(
      (method) => (method.Properties.Integration as { Type?: string }).Type === 'AWS_PROXY',
    );
    assert.ok(proxied.length >= 4);
    for (const method of proxied) assert.equal(method.Properties.ApiKeyRequired, true);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    const outputs = Object.keys(template.findOutputs('*'));
    assert.ok(outputs.some((name) => name.includes('Url')));
    assert.ok(outputs.some((name) => name.includes('ApiKeyId')));
    assert.ok(outputs.some((name) => name.includes('BucketName')));
  });

  it('uses IAM authorization when the config says iam', () => {
    const { template: iam } = synth(configWith({ api: { auth: 'iam' } }));
    const proxied = Object.values(resourcesOf('AWS::ApiGateway::Method', iam)).filter(
      (method) => (method.Properties.Integration as { Type?: string }).Type === 'AWS_PROXY',
    );
    for (const method of proxied) assert.equal(method.Properties.AuthorizationType, 'AWS_IAM');
    iam.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
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
  });
});

describe('cdk-nag AwsSolutions: zero unacknowledged findings, every acknowledgement with a reason', () => {
  for (const [label, config] of [
    ['api-key auth', configWith()],
    [
      'iam auth, arm64, provisioned concurrency, custom canary',
      configWith(
        { api: { auth: 'iam' } },
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
    assert.equal(config.api.auth, 'api-key');
  });
});
