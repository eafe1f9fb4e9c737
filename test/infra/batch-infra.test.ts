import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { configWith, synth } from './stack-fixture.js';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const batched = synth(
  configWith({}, { batch: { maxConcurrency: 5, batchRows: 100, toleratedFailurePercent: 2 } }),
  {
    nag: true,
  },
);
const plain = synth(configWith());

/** The state machine's definition, its CloudFormation tokens written out as their logical ids. */
function definitionOf(): Record<string, unknown> {
  const [machine] = Object.entries(
    batched.template.findResources('AWS::StepFunctions::StateMachine') as Resources,
  )
    .filter(([id]) => id.includes('Batch'))
    .map(([, resource]) => resource);
  const body = machine?.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : JSON.stringify(part).replaceAll('"', "'")))
    .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

/** Each statement's actions and resources of the policies attached to a role whose logical id matches. */
function statementsOf(rolePattern: RegExp): { actions: string[]; resources: string }[] {
  const policies = Object.entries(batched.template.findResources('AWS::IAM::Policy') as Resources).filter(
    ([, policy]) => JSON.stringify(policy.Properties.Roles).match(rolePattern),
  );
  return policies.flatMap(([, policy]) =>
    (
      policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
    ).Statement.map((statement) => ({
      actions: ([] as string[]).concat(statement.Action),
      resources: JSON.stringify(statement.Resource),
    })),
  );
}

describe('batch scoring (model batch): a Step Functions Distributed Map per model, off by default', () => {
  it('no state machine without a batch setting', () => {
    const machines = Object.keys(plain.template.findResources('AWS::StepFunctions::StateMachine'));
    assert.deepEqual(
      machines.filter((id) => id.includes('Batch')),
      [],
    );
  });

  it("reads JSON lines or CSV (header in the first row) with Step Functions' own reader, batches, bounds the concurrency, writes results", () => {
    const definition = definitionOf();
    const states = definition.States as Record<string, Record<string, unknown>>;
    const maps = Object.values(states).filter((state) => state.Type === 'Map');
    assert.equal(maps.length, 2);
    for (const map of maps) {
      assert.deepEqual((map.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig, {
        Mode: 'DISTRIBUTED',
        ExecutionType: 'STANDARD',
      });
      const reader = map.ItemReader as {
        Resource: string;
        ReaderConfig: Record<string, unknown>;
        Parameters: Record<string, unknown>;
      };
      assert.match(reader.Resource, /:states:::s3:getObject/);
      assert.deepEqual(reader.Parameters, { 'Bucket.$': '$.registry.bucket', 'Key.$': '$.run.key' });
      assert.deepEqual(map.ItemBatcher, {
        MaxItemsPerBatch: 100,
        MaxInputBytesPerBatch: 262144,
        BatchInput: { 'sluiceBatch.$': '$.run' },
      });
      assert.deepEqual(map.ItemSelector, { 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value' });
      assert.equal(map.MaxConcurrency, 5);
      assert.equal(map.ToleratedFailurePercentage, 2);
      const writer = map.ResultWriter as { Resource: string; Parameters: Record<string, unknown> };
      assert.match(writer.Resource, /:states:::s3:putObject/);
      assert.deepEqual(writer.Parameters, { 'Bucket.$': '$.registry.bucket', Prefix: 'batch/iris/output/' });
      const score = Object.values(
        (map.ItemProcessor as { States: Record<string, Record<string, unknown>> }).States,
      )[0];
      // The batch is the invocation's payload, the function's answer the batch's outcome: the Lambda version this
      // deploy published, never the live alias, whose invocations are a rollout's evidence.
      assert.match(
        JSON.stringify(score?.Resource),
        /^"\{'Ref':'ModelirisFunctionCurrentVersion[0-9A-Fa-f]+'\}"$/,
      );
      assert.ok(score, 'the batch task');
      assert.deepEqual((score.Retry as { MaxAttempts: number }[])[0]?.MaxAttempts, 2);
    }
    assert.deepEqual(
      maps
        .map((map) => (map.ItemReader as { ReaderConfig: Record<string, unknown> }).ReaderConfig)
        .sort((a, b) => String(a.InputType).localeCompare(String(b.InputType))),
      [{ InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }, { InputType: 'JSONL' }],
    );
  });

  it("scopes IAM to the model's batch prefixes: the state machine reads input/ and writes output/, the function writes output/", () => {
    const machine = statementsOf(/BatchStateMachineRole/);
    const s3 = machine.filter((statement) =>
      statement.actions.some((action) => action.startsWith('s3:') && action !== 's3:ListBucket'),
    );
    assert.ok(s3.length >= 2, JSON.stringify(machine));
    for (const statement of s3) assert.match(statement.resources, /batch\/iris\/(input|output)\/\*/);
    assert.ok(
      machine.some(
        (statement) =>
          statement.actions.includes('s3:GetObject') && /batch\/iris\/input\/\*/.test(statement.resources),
      ),
    );
    const invoke = machine.find((statement) => statement.actions.includes('lambda:InvokeFunction'));
    assert.match(invoke?.resources ?? '', /ModelirisFunctionCurrentVersion/);
    assert.doesNotMatch(invoke?.resources ?? '', /live/);
    assert.equal(JSON.stringify(machine).includes('models/'), false, 'no access to the models');
    const fn = statementsOf(/ModelirisFunctionServiceRole/);
    assert.ok(
      fn.some(
        (statement) =>
          statement.actions.includes('s3:PutObject') && /batch\/iris\/output\/\*/.test(statement.resources),
      ),
    );
  });

  it('passes cdk-nag, its accepted findings written down', () => {
    const errors = Annotations.fromStack(batched.stack)
      .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .map((entry) => `${entry.id}: ${String(entry.entry.data)}`);
    assert.deepEqual(errors, []);
    // As bin/app.ts synthesizes it: no account or region known, so cdk-nag names them as pseudo parameters.
    const agnostic = synth(configWith({}, { batch: {} }), { nag: true, agnostic: true });
    const agnosticErrors = Annotations.fromStack(agnostic.stack)
      .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .map((entry) => `${entry.id}: ${String(entry.entry.data)}`);
    assert.deepEqual(agnosticErrors, []);
  });
});
