/**
 * `sluice batch` on AWS, end to end against the shared fake account: the state machine the CDK app synthesizes (its
 * definition, tokens resolved to this test's bucket and function version) run by the fake Step Functions, whose map
 * reads the input from the embedded S3 server and invokes the real predict handler with each batch; the CLI uploads,
 * starts, follows and collects through real SDK clients.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionArnOf } from '../../lib/aws/stepfunctions/batch-execution.js';
import { runCli } from '../../lib/cli/run-cli.js';
import { BatchResultSchema, BatchSummarySchema } from '../../lib/core/batch/batch-results.js';
import { PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { firstDeploy } from '../../lib/core/rollout/rollout-transitions.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { EmfServingMetrics } from '../../lib/serving/metrics/EmfServingMetrics.js';
import { predictEntry } from '../../lib/serving/predict-entry.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import type { FakeStepFunctions } from '../fixtures/fake-step-functions.js';
import { resolveDefinition } from '../fixtures/fake-step-functions.js';
import { type IrisCanaryOnAws, irisCanaryOnAws } from '../fixtures/iris-canary-on-aws.js';
import { silentLogger } from '../fixtures/local-stack.js';
import { configWith, synth } from '../infra/stack-fixture.js';

const FUNCTION = 'iris-predict';
const REGION = 'eu-west-1';
/** The Lambda version the state machine invokes: the fake's version 6, serving iris v2. */
const LAMBDA_VERSION = '6';

let canary: IrisCanaryOnAws;
let sfn: FakeStepFunctions;
let machineArn: string;
const handlers = new Map<string, PredictHandler>();

before(async () => {
  canary = await irisCanaryOnAws(FUNCTION);
  const { store, aws } = canary;
  // Each Lambda version runs the real predict handler with its own environment, against the embedded S3 store.
  aws.run = async (configuration, event) => {
    const version = configuration.Version ?? '';
    let handler = handlers.get(version);
    if (!handler) {
      const env = {
        ...configuration.Environment?.Variables,
        SLUICE_BUCKET: store.bucket,
        SLUICE_S3_ENDPOINT: store.endpoint,
        AWS_REGION: REGION,
        AWS_LAMBDA_FUNCTION_VERSION: version,
      };
      // Its metric lines go to the fake account's CloudWatch, as Lambda's log ingestion takes them.
      handler = createPredictHandler(readFunctionConfig(env), {
        logger: silentLogger(),
        metrics: new EmfServingMetrics((line) => aws.ingestLog(line, Date.now()), version, Date.now),
      });
      handlers.set(version, handler);
    }
    // The function's own entry: a batch of the map, or an HTTP request.
    return predictEntry(handler)(event as never) as never;
  };
  const { template } = synth(
    configWith({}, { batch: { maxConcurrency: 2, batchRows: 100, toleratedFailurePercent: 0 } }),
  );
  const [machine] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))
    .filter(([id]) => id.includes('Batch'))
    .map(
      ([, resource]) => resource as { Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } },
    );
  assert.ok(machine, 'the template has the batch state machine');
  const definition = resolveDefinition(machine.Properties.DefinitionString, {
    RegistryBucket: store.bucket,
    ModelirisFunctionCurrentVersion: `arn:aws:lambda:${REGION}:123456789012:function:${FUNCTION}:${LAMBDA_VERSION}`,
    'AWS::Partition': 'aws',
  });
  sfn = aws.account.stepFunctions(store.createClient());
  machineArn = sfn.createStateMachine('IrisBatch', definition);
});

after(async () => {
  for (const handler of handlers.values()) await handler.engine.close();
  await canary.stop();
});

/** `sluice ARGS` on "AWS": the embedded store as the registry bucket, the fake account's Step Functions. */
async function sluiceOnAws(
  args: readonly string[],
  options: { readonly sleep?: (ms: number) => Promise<void>; readonly env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    [...args, '--bucket', canary.store.bucket, '--endpoint', canary.store.endpoint, '--region', REGION],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      interactive: false,
      // Time passing is the run moving on: each wait of the follower is one round of the map.
      sleep: options.sleep ?? (() => sfn.advance()),
      now: () => Date.now(),
      stepFunctions: sfn.client,
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...options.env },
    },
  );
  return { code, stdout, stderr };
}

/** `sluice batch iris --input INPUT --output OUTPUT` on "AWS", the run named `runId`, with `extra` arguments. */
function batchOnAws(input: string, output: string, runId: string, ...extra: string[]) {
  return sluiceOnAws([
    'batch',
    'iris',
    '--input',
    input,
    '--output',
    output,
    '--state-machine',
    machineArn,
    '--run-id',
    runId,
    ...extra,
  ]);
}

/** JSON lines of `count` iris rows, with line 7 too short for the model and line 12 no row at all. */
function rows(count: number): string {
  const lines: string[] = [];
  for (let line = 1; line <= count; line++) {
    if (line === 7) lines.push(JSON.stringify({ id: 'short', row: [1, 2] }));
    else if (line === 12) lines.push(JSON.stringify('not a row'));
    else lines.push(JSON.stringify({ id: `r${line}`, row: [5.1, 3.5, 1.4, 0.2 + (line % 5) / 10] }));
  }
  return `${lines.join('\n')}\n`;
}

async function resultsIn(path: string) {
  const text = await readFile(join(path, 'results.jsonl'), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((line) => BatchResultSchema.parse(JSON.parse(line)));
}

describe('sluice batch on AWS: a Distributed Map run started, followed and collected by the CLI', () => {
  it('uploads the input, starts the execution named by the run, follows its counters, and writes every row once', async () => {
    const work = join(canary.home, 'run-1');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'rows.jsonl'), rows(600));
    // No rollout state: the run scores what the Lambda version it invokes serves.
    const objects = canary.store.objects();
    for await (const key of objects.list('rollouts/iris/')) await objects.delete(key);
    sfn.journal.length = 0;
    const run = await batchOnAws(
      join(work, 'rows.jsonl'),
      join(work, 'out'),
      'run-1',
      '--tolerate-failures',
      '1',
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);

    // One execution, named by the run, its input the uploaded object under the model's input prefix.
    const started = sfn.journal.filter(([command]) => command === 'StartExecution').map(([, input]) => input);
    assert.deepEqual(started, [
      {
        stateMachineArn: machineArn,
        name: 'run-1',
        input: JSON.stringify({
          run: { runId: 'run-1', key: 'batch/iris/input/run-1/rows.jsonl', format: 'jsonl' },
        }),
      },
    ]);
    const uploaded = await canary.store.objects().get('batch/iris/input/run-1/rows.jsonl');
    assert.equal(new TextDecoder().decode(uploaded), rows(600));

    // 6 batches of 100, 2 at a time: the follower saw the rows done grow by rounds, from its counters.
    const progress = run.stderr.match(/^\d+ of 600 rows/gm) ?? [];
    assert.deepEqual(progress, ['0 of 600 rows', '200 of 600 rows', '400 of 600 rows', '600 of 600 rows']);
    const executionArn = executionArnOf(machineArn, 'run-1');
    assert.equal(sfn.attempts(executionArn), 6, 'each batch invoked once');

    const results = await resultsIn(join(work, 'out'));
    assert.deepEqual(
      results.map((result) => result.line),
      Array.from({ length: 600 }, (_, index) => index + 1),
      'every line once, in order',
    );
    const failed = results.filter((result) => 'error' in result);
    assert.deepEqual(
      failed.map((result) => [result.line, result.id]),
      [
        [7, 'short'],
        [12, undefined],
      ],
    );
    const scored = results.find((result) => result.line === 1);
    assert.ok(scored && 'prediction' in scored);
    assert.equal(scored.version, 2, 'the version the invoked Lambda version serves');
    assert.equal(scored.source, 'batch/iris/input/run-1/rows.jsonl');
    const summary = BatchSummarySchema.parse(
      JSON.parse(await readFile(join(work, 'out', 'summary.json'), 'utf8')),
    );
    assert.deepEqual(
      { rows: summary.rows, succeeded: summary.succeeded, failed: summary.failed, batches: summary.batches },
      { rows: 600, succeeded: 598, failed: 2, batches: 6 },
    );
    assert.match(run.stdout, /iris: 598 of 600 rows scored \(v2: 598\), 2 failed, in 6 batches/);

    // The same run id again: the execution has ended, its name is used (StartExecution: ExecutionAlreadyExists).
    const again = await batchOnAws(join(work, 'rows.jsonl'), join(work, 'again'), 'run-1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /batch run run-1 has already run/);
  });

  it('--no-wait prints the run; `sluice batch status` reads it, and once it has ended writes its results to S3', async () => {
    const work = join(canary.home, 'run-2');
    await mkdir(work, { recursive: true });
    const csv = ['id,sepal_length,sepal_width,petal_length,petal_width'];
    for (let line = 0; line < 250; line++) csv.push(`c${line},6.7,3.0,5.2,2.3`);
    await writeFile(join(work, 'rows.csv'), `${csv.join('\n')}\n`);
    // A rollout state whose stable version is v1: without --version, the run scores what the alias serves as
    // stable, not the version of the deploy that published the Lambda version it invokes (v2).
    await new RolloutStore({ store: canary.store.objects() }).write(
      firstDeploy({ model: 'iris', version: 1, actor: 'cli', now: Date.parse('2026-12-01T00:00:00Z') }),
    );
    const started = await batchOnAws(
      join(work, 'rows.csv'),
      `s3://${canary.store.bucket}/batch/iris/output/`,
      'run-2',
      '--no-wait',
      '--json',
    );
    assert.equal(started.code, 0, started.stderr);
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    assert.match(executionArn, /:execution:IrisBatch:run-2$/);

    const running = await sluiceOnAws(['batch', 'status', 'run-2', '--state-machine', machineArn]);
    assert.equal(running.code, 0, running.stderr);
    assert.match(
      running.stdout,
      /^run-2 \(iris, batch\/iris\/input\/run-2\/rows\.csv\): RUNNING, reading its input/,
    );

    await sfn.runToEnd();
    const ended = await sluiceOnAws([
      'batch',
      'status',
      executionArn,
      '--output',
      `s3://${canary.store.bucket}/batch/iris/output/`,
      '--json',
    ]);
    assert.equal(ended.code, 0, ended.stderr);
    const summary = BatchSummarySchema.parse(JSON.parse(ended.stdout));
    assert.deepEqual(
      { rows: summary.rows, failed: summary.failed, batches: summary.batches },
      { rows: 250, failed: 0, batches: 3 },
    );
    const text = new TextDecoder().decode(
      await canary.store.objects().get('batch/iris/output/run-2/results.jsonl'),
    );
    const results = text
      .trimEnd()
      .split('\n')
      .map((line) => BatchResultSchema.parse(JSON.parse(line)));
    // A CSV record's line counts the header: the first record is line 2; its id column is the row's id.
    assert.deepEqual([results[0]?.line, results[0]?.id, results.at(-1)?.line], [2, 'c0', 251]);
    assert.deepEqual(summary.versions, { '1': 250 }, 'scored by the stable version');
  });

  it('a version that cannot be loaded: each batch tried three times, the run fails past its tolerance, and every row is listed (failed, or never run)', async () => {
    const work = join(canary.home, 'run-3');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'rows.jsonl'), rows(450));
    // A new version whose bytes are then corrupted: its checksum no longer matches, so no function can load it (a
    // fault, a 5xx, not the rows' doing).
    const iris = SAMPLE_MODELS[0];
    const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
    const objects = canary.store.objects();
    const v3 = await publishVersion(new ModelRegistry({ store: objects }), {
      name: 'iris',
      model: iris.modelPath,
      extras,
    });
    await objects.delete(`models/iris/${v3.version}/model.onnx`);
    await objects.putIfAbsent(`models/iris/${v3.version}/model.onnx`, new Uint8Array(v3.size).fill(7));
    const run = await batchOnAws(
      join(work, 'rows.jsonl'),
      join(work, 'out'),
      'run-3',
      '--version',
      String(v3.version),
    );
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /run run-3 FAILED: States\.ExceedToleratedFailureThreshold/);
    // Five batches, two at a time: the first two fail every attempt, and with 200 of 450 rows failed (none tolerated)
    // the map run fails; the three batches not started never run.
    const executionArn = executionArnOf(machineArn, 'run-3');
    assert.equal(sfn.attempts(executionArn), 6, 'two batches, three attempts each (the Retry of the task)');
    const results = await resultsIn(join(work, 'out'));
    assert.deepEqual(
      results.map((result) => result.line),
      Array.from({ length: 450 }, (_, index) => index + 1),
      'every row of the input once',
    );
    const reasons = results.map((result) => ('error' in result ? result.error : 'scored'));
    assert.equal(reasons.filter((reason) => /^the batch failed every attempt: /.test(reason)).length, 200);
    assert.match(reasons[0] ?? '', /checksum|sha256/i, "the function's own error message");
    assert.equal(
      reasons.filter((reason) =>
        /^not scored: the run ended FAILED \(States\.ExceedToleratedFailureThreshold\) before this row's batch ran$/.test(
          reason,
        ),
      ).length,
      250,
    );
  });

  it('--timeout stops following (exit 3) and the run goes on; the refusals say what to give instead', async () => {
    const work = join(canary.home, 'run-4');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'rows.jsonl'), rows(20));
    const base = ['batch', 'iris', '--input', join(work, 'rows.jsonl'), '--output', join(work, 'out')];
    // The follower's waits pass no rounds here: the run does not move, and the deadline comes.
    const timedOut = await sluiceOnAws(
      [...base, '--state-machine', machineArn, '--run-id', 'run-4', '--timeout', '12s'],
      {
        sleep: async () => undefined,
      },
    );
    assert.equal(timedOut.code, 3, timedOut.stderr);
    assert.match(timedOut.stderr, /stopped following after 12s \(--timeout\): run run-4 goes on/);
    await sfn.runToEnd();

    const startedBefore = sfn.journal.filter(([command]) => command === 'StartExecution').length;
    const noMachine = await sluiceOnAws(base);
    assert.equal(noMachine.code, 2);
    assert.match(noMachine.stderr, /--state-machine ARN \(or set SLUICE_BATCH_STATE_MACHINE\)/);
    const outside = await sluiceOnAws(
      ['batch', 'iris', '--input', 's3://elsewhere/rows.jsonl', '--output', join(work, 'out')],
      { env: { SLUICE_BATCH_STATE_MACHINE: machineArn } },
    );
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /reads s3:\/\/.+\/batch\/iris\/input\/\.\.\. only/);
    const bareBucket = await sluiceOnAws(
      ['batch', 'iris', '--input', join(work, 'rows.jsonl'), '--output', `s3://${canary.store.bucket}`],
      { env: { SLUICE_BATCH_STATE_MACHINE: machineArn } },
    );
    assert.equal(bareBucket.code, 2, 'an s3:// output is never taken for a folder');
    assert.match(bareBucket.stderr, /results are written beside its parts/);
    const folder = await sluiceOnAws(['batch', 'iris', '--input', work, '--output', join(work, 'out')], {
      env: { SLUICE_BATCH_STATE_MACHINE: machineArn },
    });
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /on AWS a run reads one object/);
    const noVersion = await sluiceOnAws([...base, '--version', '9'], {
      env: { SLUICE_BATCH_STATE_MACHINE: machineArn },
    });
    assert.equal(noVersion.code, 2);
    assert.match(noVersion.stderr, /iris has no version 9/);
    assert.equal(
      sfn.journal.filter(([command]) => command === 'StartExecution').length,
      startedBefore,
      'nothing was started by a refused command',
    );
    await rm(join(work, 'out'), { recursive: true, force: true });
  });
});

describe("the fake's StartExecution: the rules of AWS's page, and what sluice batch says of a run id taken", () => {
  it('refuses a bad name, answers the same execution for the same name and input while open, and ExecutionAlreadyExists otherwise', async () => {
    const start = (name: string, input: string) =>
      sfn.client.send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input }));
    await assert.rejects(start('has space', '{}'), (error: Error) => error.name === 'InvalidName');
    await assert.rejects(start('a'.repeat(81), '{}'), (error: Error) => error.name === 'InvalidName');
    await assert.rejects(
      start('bad-input', '{not json'),
      (error: Error) => error.name === 'InvalidExecutionInput',
    );
    const input = JSON.stringify({
      run: { runId: 'twice', key: 'batch/iris/input/none.jsonl', format: 'jsonl' },
    });
    const first = await start('twice', input);
    assert.equal(
      (await start('twice', input)).executionArn,
      first.executionArn,
      'same name, same input, open',
    );
    await assert.rejects(start('twice', '{}'), (error: Error) => error.name === 'ExecutionAlreadyExists');

    // The CLI says which: a run going on with another input (another stable version, another file).
    const work = join(canary.home, 'twice');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'none.jsonl'), rows(3));
    const again = await batchOnAws(join(work, 'none.jsonl'), join(work, 'out'), 'twice');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /batch run twice is running with another input than this command's/);
    await sfn.runToEnd();
  });

  it('the same run started again: the same file is its input, another of the same name and size is refused', async () => {
    const work = join(canary.home, 'again');
    await mkdir(join(work, 'other'), { recursive: true });
    await writeFile(join(work, 'rows.jsonl'), rows(20));
    const first = await batchOnAws(join(work, 'rows.jsonl'), join(work, 'out'), 'again', '--no-wait');
    assert.equal(first.code, 0, first.stderr);
    const key = 'batch/iris/input/again/rows.jsonl';
    const uploaded = await canary.store.objects().get(key);
    assert.equal(new TextDecoder().decode(uploaded), rows(20));
    // The same file: the object in place is its input (compared by sha256, streamed), and the run open with that input.
    const same = await batchOnAws(join(work, 'rows.jsonl'), join(work, 'out'), 'again', '--no-wait');
    assert.equal(same.code, 0, same.stderr);
    // Another file of the same name and size: refused, naming the object, which is left as it was.
    await writeFile(join(work, 'other', 'rows.jsonl'), rows(20).replace('r1"', 'x1"'));
    const other = await batchOnAws(
      join(work, 'other', 'rows.jsonl'),
      join(work, 'out'),
      'again',
      '--no-wait',
    );
    assert.notEqual(other.code, 0);
    assert.match(
      other.stderr,
      /run again already has another input at s3:\/\/[^/]+\/batch\/iris\/input\/again\/rows\.jsonl; give another --run-id/,
    );
    assert.deepEqual(await canary.store.objects().get(key), uploaded);
    await sfn.runToEnd();
  });
});
