import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { MAX_MODELS_PER_STACK } from '../../lib/cdk/model-group.js';
import { FUNCTIONS_PER_GRANT_POLICY } from '../../lib/cdk/release-provider.js';
import { SluiceStack } from '../../lib/cdk/sluice-stack.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { CDK_CONTEXT, SHA_A, synth } from './stack-fixture.js';

/** CloudFormation's limit on resources per stack (nested stacks count apart). */
const CLOUDFORMATION_MAX_RESOURCES = 500;
/** CloudFormation's limit on a template body in S3 (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html). */
const CLOUDFORMATION_MAX_TEMPLATE_BYTES = 1_000_000;
/** CloudFormation's limits on outputs and parameters per template (same page). */
const CLOUDFORMATION_MAX_OUTPUTS = 200;
const CLOUDFORMATION_MAX_PARAMETERS = 200;
/** EventBridge's default limit on an event pattern, in characters (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). */
const EVENTBRIDGE_MAX_PATTERN_CHARS = 2048;
/** IAM's limit on a managed policy, in characters (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). */
const MANAGED_POLICY_MAX_CHARS = 6144;
/** Lambda's limit on a function's environment variables, in bytes. */
const LAMBDA_MAX_ENVIRONMENT_BYTES = 4096;
/** Longest name CloudFormation generates for a function (Lambda's limit). */
const MAX_FUNCTION_NAME = 64;

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** The longest model names there are (48 characters), so every size below is a worst case. */
function modelName(index: number): string {
  return `model-${String(index).padStart(2, '0')}-`.padEnd(48, 'x');
}

/** 50 models with the longest names: 20 in the main stack, 20 in group "b", 10 in group "c". */
function fiftyModels(extra: Record<string, unknown> = {}) {
  return parseDeployConfig(
    {
      ...extra,
      models: Array.from({ length: 50 }, (_, i) => ({
        name: modelName(i),
        version: 1,
        sha256: SHA_A,
        ...(i >= 20 ? { group: i >= 40 ? 'c' : 'b' } : {}),
      })),
    },
    'fifty models',
  );
}

/** Longest values of the pseudo parameters an ARN is built from. */
const PSEUDO_PARAMETERS: Record<string, number> = {
  'AWS::Partition': 'aws-iso-b'.length,
  'AWS::Region': 'ap-southeast-5'.length,
  'AWS::AccountId': 12,
};
/** Longest ARN of a function, queue or topic: prefix with partition, region, account, plus a 64-character name. */
const MAX_ARN = 'arn:aws-iso-b:lambda:ap-southeast-5:123456789012:function:'.length + MAX_FUNCTION_NAME;

/**
 * A token-free upper bound of what CloudFormation resolves: a pseudo parameter at its longest, any other `Ref` (a
 * name, or a nested stack's parameter) as a 64-character name or an ARN, an `Fn::GetAtt` as the longest ARN.
 */
function worstCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(worstCase);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (typeof record.Ref === 'string') {
    const pseudo = PSEUDO_PARAMETERS[record.Ref];
    if (pseudo !== undefined) return 'x'.repeat(pseudo);
    return 'x'.repeat(/Arn/.test(record.Ref) ? MAX_ARN : MAX_FUNCTION_NAME);
  }
  if ('Fn::GetAtt' in record) return 'x'.repeat(MAX_ARN);
  const join = record['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(worstCase).join(join[0]);
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, worstCase(inner)]));
}

const fifty = synth(fiftyModels(), { nag: true });
const stacks: Stack[] = [fifty.stack, ...fifty.stack.groups];
const templates = new Map(stacks.map((stack) => [stack, Template.fromStack(stack)]));
const resourcesOf = (stack: Stack) =>
  (templates.get(stack) ?? assert.fail(`no template for ${stack.node.path}`)).toJSON().Resources as Record<
    string,
    Resource
  >;

describe('50 models per app: every stack, nested ones included, stays under CloudFormation limits', () => {
  it('synthesizes 50 models with the AwsSolutions checks, in a main stack and two nested model groups', () => {
    assert.doesNotThrow(() => (fifty.stack.node.root as App).synth());
    assert.deepEqual(
      fifty.stack.groups.map((group) => [group.node.id, group.endpoints.length]),
      [
        ['Models-b', 20],
        ['Models-c', 10],
      ],
    );
    assert.equal(fifty.stack.endpoints.length, 50);
  });

  it('keeps every stack under 500 resources', () => {
    for (const stack of stacks) {
      const count = Object.keys(resourcesOf(stack)).length;
      assert.ok(count < CLOUDFORMATION_MAX_RESOURCES, `${stack.node.path} has ${count} resources`);
    }
    templates.get(fifty.stack)?.resourceCountIs('AWS::CloudFormation::Stack', 2);
  });

  it('bundles the predict code once for all 50 models, offline: every function of an architecture shares one asset', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-fifty-'));
    try {
      const app = new App({ outdir, context: CDK_CONTEXT });
      const bundled = new SluiceStack(app, 'Fifty', {
        config: fiftyModels(),
        env: { account: '123456789012', region: 'eu-west-1' },
      });
      // How long this takes is a benchmark row (`npm run bench`: 50 models against 1), not an assertion here.
      const assembly = app.synth();
      const keys = new Set<string>();
      let predictFunctions = 0;
      for (const stack of [bundled, ...bundled.groups]) {
        const file = join(assembly.directory, stack.templateFile);
        const template = JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, Resource> };
        for (const resource of Object.values(template.Resources)) {
          if (resource.Type !== 'AWS::Lambda::Function') continue;
          const variables = (resource.Properties.Environment as { Variables?: Record<string, unknown> })
            ?.Variables;
          if (variables?.SLUICE_MODEL === undefined) continue;
          predictFunctions++;
          keys.add(JSON.stringify((resource.Properties.Code as { S3Key: unknown }).S3Key));
        }
      }
      assert.equal(predictFunctions, 50);
      assert.equal(keys.size, 1, `one predict asset, got ${[...keys].join(', ')}`);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("keeps every template under CloudFormation's 1 MB for a template uploaded to S3, as CDK writes it", () => {
    for (const stack of stacks) {
      const bytes = Buffer.byteLength(JSON.stringify(templates.get(stack)?.toJSON(), undefined, 1));
      assert.ok(bytes < CLOUDFORMATION_MAX_TEMPLATE_BYTES, `${stack.node.path}: ${bytes} bytes`);
    }
  });

  it("keeps every template's outputs and parameters under CloudFormation's 200 each (grouped models are referenced across stacks)", () => {
    for (const stack of stacks) {
      const json = templates.get(stack)?.toJSON() as { Outputs?: object; Parameters?: object };
      const outputs = Object.keys(json.Outputs ?? {}).length;
      const parameters = Object.keys(json.Parameters ?? {}).length;
      assert.ok(outputs < CLOUDFORMATION_MAX_OUTPUTS, `${stack.node.path}: ${outputs} outputs`);
      assert.ok(parameters < CLOUDFORMATION_MAX_PARAMETERS, `${stack.node.path}: ${parameters} parameters`);
    }
  });

  it('costs one invoke permission per model, not one per method', () => {
    for (const stack of stacks) {
      const permissions = Object.values(resourcesOf(stack)).filter(
        (resource) =>
          resource.Type === 'AWS::Lambda::Permission' &&
          resource.Properties.Principal === 'apigateway.amazonaws.com',
      );
      const releases = Object.values(resourcesOf(stack)).filter(
        (resource) => resource.Type === 'Custom::SluiceRelease',
      );
      assert.equal(permissions.length, releases.length, stack.node.path);
    }
  });

  it("gives each group its own alarm-rollback rule and rollout driver, listing only the group's functions, within EventBridge's and Lambda's limits", () => {
    for (const stack of stacks) {
      const resources = Object.values(resourcesOf(stack));
      const releases = resources.filter((resource) => resource.Type === 'Custom::SluiceRelease').length;
      const rules = resources.filter((resource) => resource.Type === 'AWS::Events::Rule');
      assert.equal(rules.length, 1, stack.node.path);
      const pattern = (rules[0] ?? assert.fail()).Properties.EventPattern as {
        detail: { alarmName: unknown[] };
      };
      assert.equal(pattern.detail.alarmName.length, releases, stack.node.path);
      const patternChars = JSON.stringify(worstCase(pattern)).length;
      assert.ok(
        patternChars <= EVENTBRIDGE_MAX_PATTERN_CHARS,
        `${stack.node.path}: the rule's pattern may resolve to ${patternChars} characters`,
      );
      const driver = resources.find(
        (resource) =>
          resource.Type === 'AWS::Lambda::Function' &&
          JSON.stringify(resource.Properties.Environment).includes('SLUICE_MODEL_FUNCTIONS'),
      );
      const variables = (
        (driver ?? assert.fail('no driver')).Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      const bytes = Object.entries(worstCase(variables) as Record<string, string>).reduce(
        (sum, [name, value]) => sum + name.length + value.length,
        0,
      );
      assert.ok(
        bytes < LAMBDA_MAX_ENVIRONMENT_BYTES,
        `${stack.node.path}: driver environment up to ${bytes} bytes`,
      );
    }
  });

  it("grants the release handlers a grouped model's function from a policy in the group's stack, and the release waits for it", () => {
    const group = fifty.stack.groups[0] ?? assert.fail('no group');
    const resources = resourcesOf(group);
    const [policyId, policy] =
      Object.entries(resources).find(([id]) => id.startsWith('ReleaseGrants1')) ?? assert.fail('no grants');
    assert.equal(policy.Type, 'AWS::IAM::ManagedPolicy', 'managed: inline policies share one quota per role');
    assert.equal((policy.Properties.Roles as unknown[]).length, 2, 'the onEvent and isComplete roles');
    const grants = Object.entries(resources).filter(([id]) => id.startsWith('ReleaseGrants'));
    assert.equal(
      grants.length,
      Math.ceil(20 / FUNCTIONS_PER_GRANT_POLICY),
      `20 functions, ${FUNCTIONS_PER_GRANT_POLICY} per managed policy`,
    );
    for (const [id, grant] of grants) {
      const chars = JSON.stringify(worstCase(grant.Properties.PolicyDocument)).length;
      assert.ok(chars <= MANAGED_POLICY_MAX_CHARS, `${id} may resolve to ${chars} characters`);
    }
    const releases = Object.values(resources).filter((resource) => resource.Type === 'Custom::SluiceRelease');
    assert.ok(releases.some((release) => release.DependsOn?.includes(policyId)));
    for (const release of releases)
      assert.ok(release.DependsOn?.some((id) => grants.some(([grantId]) => grantId === id)));
  });

  it("redeploys the API stage when a grouped model's routes change: the deployment waits for the groups and its id follows their routes", () => {
    const deploymentOf = (config: ReturnType<typeof fiftyModels>) => {
      const { stack } = synth(config);
      const entries = Object.entries(
        Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment') as Record<string, Resource>,
      );
      assert.equal(entries.length, 1);
      return entries[0] ?? assert.fail();
    };
    const [id, deployment] = deploymentOf(fiftyModels());
    const nestedIds = Object.keys(
      templates.get(fifty.stack)?.findResources('AWS::CloudFormation::Stack') ?? {},
    );
    for (const nested of nestedIds) assert.ok(deployment.DependsOn?.includes(nested), `waits for ${nested}`);
    const fewer = fiftyModels();
    const [otherId] = deploymentOf({ ...fewer, models: fewer.models.slice(0, 49) });
    assert.notEqual(otherId, id, 'a grouped model removed is a new deployment');
  });

  it("outputs every grouped model's function name from the main stack, where the CLI reads it", () => {
    const outputs = Object.keys(templates.get(fifty.stack)?.findOutputs('*') ?? {});
    for (const name of [modelName(20), modelName(49)])
      assert.ok(
        outputs.some(
          (output) => output.includes(name.replaceAll('-', '')) && output.includes('FunctionName'),
        ),
        `${name}: ${outputs.join(', ')}`,
      );
  });

  it(`refuses more than ${MAX_MODELS_PER_STACK} models in one stack, naming the stack and what to do`, () => {
    const crowded = parseDeployConfig(
      {
        models: Array.from({ length: MAX_MODELS_PER_STACK + 1 }, (_, i) => ({
          name: `m${i}`,
          version: 1,
          sha256: SHA_A,
        })),
      },
      'crowded',
    );
    assert.throws(
      () => synth(crowded),
      /^Error: Test: holds 21 models \(m0, .*, m20\), more than MAX_MODELS_PER_STACK \(20\); give some of them a "group"/,
    );
  });

  it('keeps the construct ids of the main stack models (no group): the same logical ids as before groups', () => {
    const { template } = synth(
      parseDeployConfig({ models: [{ name: 'iris', version: 1, sha256: SHA_A }] }, 'one'),
    );
    const ids = Object.keys(template.toJSON().Resources as object);
    for (const prefix of [
      'ModelirisFunction',
      'ModelirisRelease',
      'AlarmRollbackRule',
      'RolloutDriverSchedule',
    ])
      assert.ok(
        ids.some((id) => id.startsWith(prefix)),
        `${prefix}: ${ids.join(', ')}`,
      );
    assert.ok(
      ['Apiv2modelsirisANYAF4EB67E', 'Apiv2modelsirisproxyANY94F62A8B'].every((id) => ids.includes(id)),
      'the routes keep their logical ids (the ones they had before model groups)',
    );
    template.resourceCountIs('AWS::CloudFormation::Stack', 0);
  });

  it('deploys a config whose models are all in groups: the main stack keeps only what they share', () => {
    const { stack } = synth(
      parseDeployConfig(
        { models: [{ name: 'iris', version: 1, sha256: SHA_A, group: 'tabular' }] },
        'grouped only',
      ),
      { nag: true },
    );
    assert.doesNotThrow(() => (stack.node.root as App).synth());
    assert.equal(stack.alarmRollback, undefined);
    assert.equal(stack.rolloutDriver, undefined);
    assert.deepEqual(
      stack.groups.map((group) => group.endpoints.map((endpoint) => endpoint.modelName)),
      [['iris']],
    );
    const main = Template.fromStack(stack);
    main.resourceCountIs('Custom::SluiceRelease', 0);
    main.resourceCountIs('AWS::Events::Rule', 0);
    main.resourceCountIs('AWS::SQS::Queue', 1);
    Template.fromStack(stack.groups[0] ?? assert.fail()).resourceCountIs('Custom::SluiceRelease', 1);
  });

  it('gives every acknowledged cdk-nag finding in the groups a reason', () => {
    const acknowledged = fifty.stack.groups
      .flatMap((group) => group.node.findAll())
      .flatMap((construct) =>
        construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    assert.ok(acknowledged.length > 20);
    for (const [id, reason] of acknowledged) assert.ok(reason.length > 30, `${id} needs a reason`);
  });
});

describe('Synth refuses an app past the account quotas a deploy would run into, saying what to change', () => {
  it("counts the API resources and the release roles' managed policies of the whole app (50 models pass the defaults)", () => {
    const resources = fifty.stack.node.findAll().filter((c) => c instanceof apigateway.CfnResource).length;
    assert.ok(resources > 200 && resources <= 300, `50 models need ${resources} API resources`);
    const policies = fifty.stack.releases.managedPoliciesPerRole();
    assert.ok(policies >= 4 && policies <= 10, `the release roles carry ${policies} managed policies`);
  });

  it('refuses more API Gateway resources than the quota, and takes a raised quota from the config', () => {
    const models = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ name: `m${i}`, version: 1, sha256: SHA_A }));
    assert.throws(
      () => synth(parseDeployConfig({ models: models(5), quotas: { apiResourcesPerApi: 20 } }, 'five')),
      /the API needs \d+ API Gateway resources for 5 models .*allows 20 per REST API .*set quotas\.apiResourcesPerApi/,
    );
    assert.doesNotThrow(() =>
      synth(parseDeployConfig({ models: models(5), quotas: { apiResourcesPerApi: 40 } }, 'five')),
    );
  });

  it("refuses more managed policies on the release handlers' roles than the quota", () => {
    const grouped = Array.from({ length: 20 }, (_, i) => ({
      name: `m${i}`,
      version: 1,
      sha256: SHA_A,
      group: i < 10 ? 'a' : 'b',
    }));
    assert.throws(
      () => synth(parseDeployConfig({ models: grouped, quotas: { managedPoliciesPerRole: 3 } }, 'grouped')),
      /the release handlers' roles would carry \d+ managed policies .*IAM allows 3 per role .*set quotas\.managedPoliciesPerRole/,
    );
  });
});
