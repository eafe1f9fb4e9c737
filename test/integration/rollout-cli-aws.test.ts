import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { z } from 'zod';
import { runCli } from '../../lib/cli/run-cli.js';
import { versionAlarmName } from '../../lib/core/gates/version-alarm-name.js';
import { PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { firstDeploy, startRollout } from '../../lib/core/rollout/rollout-transitions.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const FUNCTION = 'Sluice-Modeliris-Function-AbC123';
const REGION = 'eu-west-1';
const T0 = Date.parse('2026-11-30T10:00:00.000Z');

/** What `sluice status --json` prints, as far as this test reads it. */
const StatusSchema = z.object({
  status: z.string(),
  stable: z.number(),
  candidate: z.number().optional(),
  weight: z.number(),
  health: z.object({ verdict: z.string(), reasons: z.array(z.string()) }),
  requests: z.record(z.string(), z.number()),
  requestsWindowMs: z.number(),
  decision: z.object({ kind: z.string() }),
});

/** Lambda versions 5 and 6 of the predict function serve iris v1 and v2. */
function versionServing(lambdaVersion: string, modelVersion: number, sha256: string): FunctionConfiguration {
  return {
    FunctionName: FUNCTION,
    Version: lambdaVersion,
    Environment: {
      Variables: {
        SLUICE_MODEL: 'iris',
        SLUICE_MODEL_VERSION: String(modelVersion),
        SLUICE_MODEL_SHA256: sha256,
      },
    },
  };
}

let home: string;
let store: LocalObjectStore;
let rollouts: RolloutStore;
let versions: FunctionConfiguration[];

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-cli-aws-'));
  store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  const iris = SAMPLE_MODELS[0];
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  const registry = new ModelRegistry({ store: store.objects() });
  const v1 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras });
  const v2 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras });
  versions = [versionServing('5', 1, v1.sha256), versionServing('6', 2, v2.sha256)];
  rollouts = new RolloutStore({ store: store.objects() });
  const stable = await rollouts.write(firstDeploy({ model: 'iris', version: 1, actor: 'cli', now: T0 }));
  await rollouts.write(
    startRollout(stable, {
      model: 'iris',
      candidate: 2,
      plan: planRollout({ strategy: 'manual', weight: 10 }),
      actor: 'cli',
      now: T0,
    }),
  );
});

after(async () => {
  await store.stop();
  await rm(home, { recursive: true, force: true });
});

/** Runs `sluice ARGS` in this process against the embedded S3 store, on "AWS" (the control plane mocked). */
async function sluiceOnAws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    [...args, '--bucket', store.bucket, '--endpoint', store.endpoint, '--region', REGION],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      interactive: false,
      env: {
        SLUICE_FUNCTION: FUNCTION,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    },
  );
  return { code, stdout, stderr };
}

describe('sluice status and rollback on AWS: the CLI wires the registry bucket, Lambda and CloudWatch', () => {
  const lambda = mockClient(LambdaClient);
  const cloudwatch = mockClient(CloudWatchClient);

  after(() => {
    lambda.restore();
    cloudwatch.restore();
  });

  it('status: only reads: the alarms, the evidence and the observed split; the alias is not touched', async () => {
    lambda
      .on(GetAliasCommand)
      .resolves({ FunctionVersion: '5', RoutingConfig: { AdditionalVersionWeights: { '6': 0.1 } } });
    lambda
      .on(GetFunctionConfigurationCommand)
      .callsFake((input) => versions.find((v) => v.Version === input.Qualifier));
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: versions });
    lambda.on(UpdateAliasCommand).resolves({});
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => ({
      MetricAlarms: (input.AlarmNames ?? []).map((AlarmName: string) => ({ AlarmName, StateValue: 'OK' })),
    }));
    cloudwatch.on(GetMetricDataCommand).callsFake((input) => ({
      MetricDataResults: (input.MetricDataQueries ?? []).map((query: { Id: string }) => ({
        Id: query.Id,
        Values: query.Id === 'v0' ? [900] : [100],
      })),
    }));

    const run = await sluiceOnAws('status', 'iris', '--json');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const status = StatusSchema.parse(JSON.parse(run.stdout));
    assert.deepEqual(
      { status: status.status, stable: status.stable, candidate: status.candidate, weight: status.weight },
      { status: 'rolling', stable: 1, candidate: 2, weight: 10 },
    );
    assert.equal(status.health.verdict, 'healthy');
    assert.equal(status.health.reasons.length, 5);
    assert.deepEqual(status.requests, { '1': 900, '2': 100 });
    assert.equal(status.requestsWindowMs, 15 * 60_000);
    assert.equal(status.decision.kind, 'wait');

    assert.deepEqual(lambda.commandCalls(UpdateAliasCommand), [], 'status only reads');
    assert.deepEqual(
      cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames),
      [
        ['errors', 'p99', 'model-errors', 'invalid-outputs', 'rejected-inputs'].map((kind) =>
          versionAlarmName(FUNCTION, '6', kind as Parameters<typeof versionAlarmName>[2]),
        ),
      ],
    );
    assert.deepEqual(
      cloudwatch
        .commandCalls(GetMetricDataCommand)
        .map((call) => call.args[0].input.MetricDataQueries?.map((query) => query.Id)),
      [['candidate'], ['v0', 'v1']],
      "the candidate's requests since its step began (evidence), then the split (neither version has a drift baseline)",
    );
  });

  it('rollback: v1 takes the alias alone and the rollback is recorded in the registry bucket', async () => {
    lambda.resetHistory();
    const run = await sluiceOnAws('rollback', 'iris', '--reason', 'labels look wrong');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /rolled back iris v2: v1 takes all traffic/);
    assert.deepEqual(lambda.commandCalls(UpdateAliasCommand).at(-1)?.args[0].input, {
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '5',
      RoutingConfig: {},
    });
    const state = await rollouts.current('iris');
    assert.equal(state?.status, 'idle');
    assert.deepEqual(
      [state?.history.at(-1)?.action, state?.history.at(-1)?.actor, state?.history.at(-1)?.reason],
      ['rollback', 'cli', 'labels look wrong'],
    );
  });
});
