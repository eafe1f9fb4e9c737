import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { runCli } from '../../lib/cli/run-cli.js';
import { versionAlarmName } from '../../lib/core/gates/version-alarm-name.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { firstDeploy, startRollout } from '../../lib/core/rollout/rollout-transitions.js';
import type { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import type { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';
import { lambdaLogStream } from '../fixtures/fake-logs-insights.js';
import { type IrisCanaryOnAws, irisCanaryOnAws } from '../fixtures/iris-canary-on-aws.js';

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

let canary: IrisCanaryOnAws;
let store: LocalObjectStore;
let rollouts: RolloutStore;
let aws: FakeAwsControlPlane;

before(async () => {
  canary = await irisCanaryOnAws(FUNCTION);
  ({ store, aws } = canary);
  // The requests of the last minutes through the alias: 900 on version 5, 100 on the candidate.
  const recent = Date.now() - 5 * 60_000;
  aws.recordInvocations('5', recent, 900);
  aws.recordInvocations('6', recent, 100);
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

after(() => canary.stop());

/**
 * Runs `sluice ARGS` in this process against the embedded S3 store, on "AWS" (the shared fake account), with
 * SLUICE_FUNCTION naming the predict function unless `functionEnv` is false.
 */
async function sluiceOnAws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return sluiceOnAwsWith({ functionEnv: true }, ...args);
}

async function sluiceOnAwsWith(
  options: {
    readonly functionEnv: boolean;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly signal?: AbortSignal;
  },
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
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
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      awsClients: { lambda: aws.lambda, cloudwatch: aws.cloudwatch, logs: aws.logs },
      env: {
        ...(options.functionEnv ? { SLUICE_FUNCTION: FUNCTION } : {}),
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    },
  );
  return { code, stdout, stderr };
}

describe('sluice status and rollback on AWS: the CLI wires the registry bucket, Lambda and CloudWatch', () => {
  it('status: only reads: the alarms, the evidence and the observed split; the alias is not touched', async () => {
    aws.journal.length = 0;
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

    assert.equal(aws.sequence().includes('UpdateAlias'), false, 'status only reads');
    assert.deepEqual(
      aws.account.calls('DescribeAlarms').map((input) => (input as { AlarmNames?: string[] }).AlarmNames),
      [
        ['errors', 'p99', 'model-errors', 'invalid-outputs', 'rejected-inputs'].map((kind) =>
          versionAlarmName(FUNCTION, '6', kind as Parameters<typeof versionAlarmName>[2]),
        ),
      ],
    );
    assert.deepEqual(
      aws.account
        .calls('GetMetricData')
        .map((input) =>
          (input as { MetricDataQueries?: { Id?: string }[] }).MetricDataQueries?.map((query) => query.Id),
        ),
      [['candidate'], ['v0', 'v1']],
      "the candidate's requests since its step began (evidence), then the split (neither version has a drift baseline)",
    );
  });

  it('models: reads the rollout states in the bucket, and judges a rolling model on the function its state names', async () => {
    const current = await rollouts.current('iris');
    assert.ok(current);
    await rollouts.write({ ...current, revision: current.revision + 1, functionName: FUNCTION });
    aws.journal.length = 0;
    const run = await sluiceOnAwsWith({ functionEnv: false }, 'models', '--json');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const { models } = z
      .object({
        models: z.array(
          z.object({
            model: z.string(),
            newest: z.number(),
            status: z.string(),
            stable: z.number(),
            candidate: z.number(),
            weight: z.number(),
            health: z.object({ verdict: z.string(), candidateRequests: z.number().optional() }),
            lastEvent: z.object({ action: z.string(), actor: z.string() }),
          }),
        ),
      })
      .parse(JSON.parse(run.stdout));
    assert.deepEqual(
      models.map(({ model, newest, status, stable, candidate, weight }) => ({
        model,
        newest,
        status,
        stable,
        candidate,
        weight,
      })),
      [{ model: 'iris', newest: 2, status: 'rolling', stable: 1, candidate: 2, weight: 10 }],
    );
    assert.equal(models[0]?.health.verdict, 'healthy');
    assert.deepEqual([models[0]?.lastEvent.action, models[0]?.lastEvent.actor], ['deploy', 'cli']);
    assert.equal(aws.sequence().includes('UpdateAlias'), false, 'models only reads');
    assert.ok(
      aws.account.calls('DescribeAlarms').length > 0,
      "the candidate's alarms were read on the function the state names",
    );
  });

  it('rollback: v1 takes the alias alone and the rollback is recorded in the registry bucket', async () => {
    aws.journal.length = 0;
    const run = await sluiceOnAws('rollback', 'iris', '--reason', 'labels look wrong');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /rolled back iris v2: v1 takes all traffic/);
    assert.equal(aws.routing(), '5');
    assert.deepEqual(aws.account.calls('UpdateAlias').at(-1), {
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

  it('retire: refuses the stable version; retires the rolled-back one, which deploy then refuses on AWS', async () => {
    const stable = await sluiceOnAws('retire', 'iris', '1');
    assert.equal(stable.code, 1, stable.stderr);
    assert.match(stable.stderr, /iris v1 is the stable version: it takes 100% of the traffic/);
    const retired = await sluiceOnAws('retire', 'iris', '2', '--reason', 'rolled back for wrong labels');
    assert.equal(retired.code, 0, retired.stderr + retired.stdout);
    assert.match(retired.stdout, /^retired iris v2 on s3:\/\//);
    aws.journal.length = 0;
    const deploy = await sluiceOnAws('deploy', 'iris', '--version', '2', '--no-wait');
    assert.equal(deploy.code, 1, deploy.stderr + deploy.stdout);
    assert.match(deploy.stderr, /iris v2 is retired \(by cli at \S+: rolled back for wrong labels\)/);
    assert.equal(aws.routing(), '5', 'the alias still routes v1 alone');
    assert.equal((await rollouts.current('iris'))?.candidate, undefined);
  });
});

/** What `sluice logs --json` prints per line. */
const LogLineSchema = z.object({
  at: z.string(),
  version: z.number().optional(),
  build: z.string().optional(),
  message: z.string(),
});

describe("sluice logs on AWS: the function's CloudWatch log group, filtered by version", () => {
  const group = `/aws/lambda/${FUNCTION}`;
  const at = Date.now() - 60_000;

  before(() => {
    // Two execution environments, one of Lambda version 5 (iris v1) and one of 6 (iris v2), and an old line.
    aws.insights.ingest(group, 'START RequestId: a Version: 5\n', at, lambdaLogStream('5', at));
    aws.insights.ingest(
      group,
      '{"level":"INFO","message":"request served","model":"iris"}\n',
      at + 1,
      lambdaLogStream('5', at),
    );
    aws.insights.ingest(
      group,
      '{"level":"INFO","message":"request refused","model":"iris"}\n',
      at + 2,
      lambdaLogStream('6', at),
    );
    aws.insights.ingest(group, 'END RequestId: b\n', at + 3, lambdaLogStream('6', at));
    aws.insights.ingest(group, '{"message":"an hour ago"}', at - 3_600_000, lambdaLogStream('6', at));
  });

  it('prints the lines of the Lambda versions serving --version, every FilterLogEvents page followed', async () => {
    aws.insights.filtered.length = 0;
    const run = await sluiceOnAws('logs', 'iris', '--version', '2', '--json');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => LogLineSchema.parse(JSON.parse(line)));
    assert.deepEqual(
      lines.map(({ version, build, message }) => ({ version, build, message })),
      [
        { version: 2, build: '6', message: '{"level":"INFO","message":"request refused","model":"iris"}' },
        { version: 2, build: '6', message: 'END RequestId: b' },
      ],
    );
    // The fake's first page is empty with a token, as a real page may be: the paginator went on.
    assert.ok(aws.insights.filtered.length >= 2);
    assert.equal(aws.insights.filtered[0]?.logGroupName, group);
    assert.ok(
      (aws.insights.filtered[0]?.startTime ?? 0) > at - 3_600_000,
      'from --since (10m), not from the start',
    );
  });

  it('prints every version without --version, for people: time, version, Lambda version, message', async () => {
    const run = await sluiceOnAws('logs', 'iris');
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /^\S+Z {2}v1 \(λ5\) {2}START RequestId: a Version: 5$/);
    assert.match(lines[2] ?? '', /^\S+Z {2}v2 \(λ6\) {2}\{"level":"INFO","message":"request refused"/);
  });

  it('--follow prints what arrives later once, until stopped', async () => {
    const stop = new AbortController();
    let sleeps = 0;
    const run = await sluiceOnAwsWith(
      {
        functionEnv: true,
        sleep: async () => {
          sleeps++;
          if (sleeps === 1) {
            aws.insights.ingest(group, '{"message":"later"}', at + 3, lambdaLogStream('6', at));
            aws.insights.ingest(group, '{"message":"later still"}', at + 10, lambdaLogStream('6', at));
          }
          if (sleeps === 3) stop.abort();
        },
        signal: stop.signal,
      },
      'logs',
      'iris',
      '--version',
      '2',
      '--follow',
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const messages = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\S+ {2}v2 \(λ6\) {2}/, ''));
    assert.deepEqual(messages, [
      '{"level":"INFO","message":"request refused","model":"iris"}',
      'END RequestId: b',
      '{"message":"later"}',
      '{"message":"later still"}',
    ]);
  });

  it('exits 1 for a version no Lambda version serves, and 2 without a function to read', async () => {
    const [missing, noFunction] = await Promise.all([
      sluiceOnAws('logs', 'iris', '--version', '7'),
      sluiceOnAwsWith({ functionEnv: false }, 'logs', 'nobody'),
    ]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /no Lambda version of .* serves iris v7/);
    assert.equal(noFunction.code, 2, noFunction.stderr);
    assert.match(noFunction.stderr, /pass --function NAME \(or set SLUICE_FUNCTION\)/);
  });
});
