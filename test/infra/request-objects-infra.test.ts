import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { REQUEST_OBJECT_EXPIRY_DAYS } from '../../lib/core/contract/tensor-objects.js';
import { SHA_A, SHA_B, synth } from './stack-fixture.js';

/** An IAM statement as the template writes it. */
interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

const twoModels = parseDeployConfig(
  {
    models: [
      { name: 'iris', version: 1, sha256: SHA_A },
      { name: 'digits', version: 1, sha256: SHA_B },
    ],
  },
  'two models',
);
const { stack, template } = synth(twoModels);

/** The statements of the policies attached to the role of the function that serves `model`. */
function statementsOf(model: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function') as Record<
    string,
    {
      Properties: {
        Role: { 'Fn::GetAtt': [string, string] };
        Environment?: { Variables?: Record<string, unknown> };
      };
    }
  >;
  const fn = Object.values(functions).find(
    (candidate) => candidate.Properties.Environment?.Variables?.SLUICE_MODEL === model,
  );
  assert.ok(fn, `no function serves ${model}`);
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.values(policies)
    .filter((policy) => policy.Properties.Roles.some((attached) => attached.Ref === role))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

describe('request objects (tensors by reference): a lifecycle on requests/, and each function scoped to its own model', () => {
  it(`expires requests/ after ${REQUEST_OBJECT_EXPIRY_DAYS} day, noncurrent versions (what a delete leaves) and unfinished uploads as soon`, () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          // The bucket-wide rule stays: models' noncurrent versions keep their 30 days.
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
          {
            Id: 'RequestObjects',
            Prefix: 'requests/',
            Status: 'Enabled',
            ExpirationInDays: REQUEST_OBJECT_EXPIRY_DAYS,
            NoncurrentVersionExpiration: { NoncurrentDays: REQUEST_OBJECT_EXPIRY_DAYS },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: REQUEST_OBJECT_EXPIRY_DAYS },
          },
        ]),
      },
    });
  });

  it("lets a model's function get, put, delete and abort uploads of requests/<model>/* only, and list that prefix only", () => {
    for (const [model, other] of [
      ['iris', 'digits'],
      ['digits', 'iris'],
    ] as const) {
      const statements = statementsOf(model);
      const objects = statements.filter((statement) =>
        JSON.stringify(statement.Resource).includes('/requests/'),
      );
      assert.equal(objects.length, 1, JSON.stringify(objects));
      const [scoped] = objects;
      assert.deepEqual(actionsOf(scoped as Statement).sort(), [
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:PutObject',
      ]);
      assert.match(JSON.stringify(scoped?.Resource), new RegExp(`"/requests/${model}/\\*"\\]\\]\\}$`));
      const listing = statements.find(
        (statement) =>
          actionsOf(statement).includes('s3:ListBucket') &&
          JSON.stringify(statement.Condition).includes('requests/'),
      );
      assert.deepEqual(listing?.Condition, { StringLike: { 's3:prefix': [`requests/${model}/*`] } });
      assert.doesNotMatch(JSON.stringify(statements), new RegExp(`requests/${other}/`));
      // Nothing else it holds writes or deletes: models/ stays read-only.
      for (const statement of statements.filter((candidate) =>
        actionsOf(candidate).some((action) => action === 's3:PutObject' || action === 's3:DeleteObject'),
      )) {
        assert.equal(statement, scoped);
      }
      // SSE-KMS: an upload takes kms:GenerateDataKey, a download kms:Decrypt.
      const kms = statements.flatMap(actionsOf).filter((action) => action.startsWith('kms:'));
      assert.ok(kms.includes('kms:GenerateDataKey') && kms.includes('kms:Decrypt'), kms.join(', '));
    }
  });

  it('passes cdk-nag with the request prefix wildcard accepted for its reason', () => {
    const { stack: checked } = synth(twoModels, { nag: true });
    assert.doesNotThrow(() => (checked.node.root as App).synth());
    assert.ok(stack);
  });
});
