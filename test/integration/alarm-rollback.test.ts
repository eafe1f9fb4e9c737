import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateAliasCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ALARM_ACTOR, rollbackOnAlarm } from '../../lib/aws/alarm-rollback/alarm-rollback.js';
import { createAlarmRollbackHandler } from '../../lib/aws/alarm-rollback/alarm-rollback-handler.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { ConfigError } from '../../lib/core/environment/ConfigError.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import {
  type AlarmStateChangeEvent,
  InvalidAlarmEventError,
  parseAlarmStateChangeEvent,
} from '../../lib/core/gates/alarm-state-change-event.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import { rolloutKey } from '../../lib/core/rollout/rollout-layout.js';
import { advance, promote, startRollout, WATCH_MS } from '../../lib/core/rollout/rollout-transitions.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'eu-west-1';
const FUNCTION = 'Sluice-ModelirisFunction426CCFF9-AbCdEf123456';
const SHA = 'a'.repeat(64);
const CODE = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';
const CODE_B = 'QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=';
const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const STARTED = NOW - 120_000;
const REASON =
  'Threshold Crossed: 1 datapoint [1834.2 (01/06/25 11:59:00)] was greater than or equal to the threshold (1000.0).';

/** Lambda version -> the model version its environment pins: 5 is the stable v1, 6 the candidate v2; 4 serves v2 too, in other code. */
const LAMBDA_VERSIONS: Record<string, string> = { '4': '2', '5': '1', '6': '2', '7': '3' };

/** A "CloudWatch Alarm State Change" event as EventBridge delivers it. */
function alarmEvent(alarmName: string, value = 'ALARM', reason = REASON): unknown {
  return {
    version: '0',
    id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2025-06-01T12:00:00Z',
    region: REGION,
    resources: [],
    detail: {
      alarmName,
      state: { value, reason, timestamp: '2025-06-01T12:00:00.000+0000' },
      previousState: {
        value: 'OK',
        reason: 'Threshold Crossed: no datapoints',
        timestamp: '2025-06-01T11:50:00.000+0000',
      },
      configuration: {
        description: 'sluice iris version 2: p99 duration >= 1000 ms; rolls the version back',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: 'AWS/Lambda',
                name: 'Duration',
                dimensions: { FunctionName: FUNCTION, Resource: `${FUNCTION}:live`, ExecutedVersion: '6' },
              },
              period: 60,
              stat: 'p99',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}

/** The predict function's environment serving `version` of `model`. */
function environmentOf(model: string, version: string): Record<string, string> {
  return {
    SLUICE_BUCKET: 'registry',
    SLUICE_MODEL: model,
    SLUICE_MODEL_VERSION: version,
    SLUICE_MODEL_SHA256: SHA,
  };
}

/**
 * The shared fake control plane for one model's function, its Lambda versions serving the model versions of
 * LAMBDA_VERSIONS (1 to 3 serve v3, in older code), and the `live` alias on 5 (v1) with v2 (Lambda version 6) at
 * 10 %, as a rollout routed it.
 */
async function controlPlane(
  model: string,
  candidate: { lambdaVersion: string; weight: number } = { lambdaVersion: '6', weight: 0.1 },
) {
  const aws = new FakeAwsControlPlane(FUNCTION, environmentOf(model, '3'), CODE);
  for (const lambdaVersion of ['1', '2', '3', ...Object.keys(LAMBDA_VERSIONS)]) {
    aws.deployFunction(
      environmentOf(model, LAMBDA_VERSIONS[lambdaVersion] ?? '3'),
      lambdaVersion === '4' ? CODE_B : CODE,
    );
    aws.publish();
  }
  await aws.lambda.send(
    new CreateAliasCommand({ FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5' }),
  );
  await aws.lambda.send(
    new UpdateAliasCommand({
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '5',
      RoutingConfig: { AdditionalVersionWeights: { [candidate.lambdaVersion]: candidate.weight } },
    }),
  );
  aws.journal.length = 0;
  return aws;
}

describe('alarm rollback: an alarm of the candidate sends its weight to 0 through the engine and records why, with nobody watching', () => {
  let home: string;
  let store: LocalObjectStore;
  let rollouts: RolloutStore;
  let registry: ModelRegistry;
  let model = 'iris';
  let serial = 0;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-alarm-rollback-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    rollouts = new RolloutStore({ store: store.objects() });
    registry = new ModelRegistry({ store: store.objects() });
  });

  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  // Each test gets its own model, so states never leak between tests.
  beforeEach(() => {
    model = `iris-${++serial}`;
  });

  /** Stores revision 1: v2 rolling out over v1 at 10%. */
  const rolling = (strategy: 'canary' | 'linear' = 'canary') =>
    rollouts.write(
      startRollout(undefined, {
        model,
        candidate: 2,
        stable: 1,
        plan: planRollout({ strategy, weight: 10 }),
        actor: 'cli',
        now: STARTED,
      }),
    );

  /** The function's dependencies as its entry wires them: the engine (actor `alarm`) over the Lambda target. */
  const depsOf = (aws: FakeAwsControlPlane, states: Pick<RolloutStore, 'current'> = rollouts) => ({
    lambda: aws.lambda,
    store: states,
    engineFor: (functionName: string) =>
      new RolloutEngine({
        store: rollouts,
        registry,
        actor: ALARM_ACTOR,
        now: () => NOW,
        target: new LambdaRolloutTarget({
          lambda: aws.lambda,
          cloudwatch: aws.cloudwatch,
          logs: aws.logs,
          registry,
          functionName: () => functionName,
          now: () => NOW,
        }),
      }),
  });

  /** The rollout store, but a CLI writes `next(state)` right after the first read: the write race. */
  const racingStore = (next: (state: RolloutState) => RolloutState) => {
    let raced = false;
    return {
      current: async (name: string) => {
        const state = await rollouts.current(name);
        if (!raced && state) {
          raced = true;
          await rollouts.write(next(state));
        }
        return state;
      },
    };
  };

  const event = (alarmName: string, value?: string) =>
    parseAlarmStateChangeEvent(alarmEvent(alarmName, value));

  it('routes the alias to the stable version alone and writes the next revision: idle, weight 0, candidate cleared, a rollback by alarm', async () => {
    await rolling();
    const aws = await controlPlane(model);
    const alarmName = `sluice-${FUNCTION}-6-p99`;
    const outcome = await rollbackOnAlarm(event(alarmName), depsOf(aws));

    assert.equal(aws.routing(), '5', 'the stable version alone');
    // The engine is the one writer: the state first, then the alias, and nothing but reads besides.
    assert.deepEqual([...new Set(aws.sequence())].sort(), [
      'GetFunctionConfiguration',
      'ListVersionsByFunction',
      'UpdateAlias',
    ]);
    assert.equal(outcome.action, 'rolled-back');

    const state = await rollouts.current(model);
    assert.ok(state);
    assert.equal(state.revision, 2);
    assert.equal(state.status, 'idle');
    assert.equal(state.stable, 1);
    assert.equal(state.weight, 0);
    assert.equal(state.candidate, undefined);
    assert.equal(state.plan, undefined);
    assert.deepEqual(state.history.at(-1), {
      at: new Date(NOW).toISOString(),
      action: 'rollback',
      actor: 'alarm',
      stable: 1,
      candidate: 2,
      weight: 0,
      reason: `${alarmName} in ALARM: ${REASON}`,
    });
    assert.deepEqual(outcome, { action: 'rolled-back', model, candidate: 2, state });

    // The revision is an object of its own in the bucket, next to the one it follows.
    const client = store.createClient();
    const stored = await client.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: rolloutKey(model, 2) }),
    );
    assert.equal(JSON.parse((await stored.Body?.transformToString()) ?? '').status, 'idle');
  });

  it('takes the alias back from a candidate at 100 % (all-at-once, or a step to 100 not yet promoted): the stable version becomes the primary again', async () => {
    await rollouts.write(
      startRollout(undefined, {
        model,
        candidate: 3,
        stable: 1,
        plan: planRollout({ strategy: 'all-at-once', intervalMs: 10 * 60_000 }),
        actor: 'cli',
        now: STARTED,
      }),
    );
    const aws = await controlPlane(model, { lambdaVersion: '7', weight: 0 });
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-7-errors`), depsOf(aws));
    assert.equal(outcome.action, 'rolled-back');
    assert.equal(aws.routing(), '5');
    assert.equal((await rollouts.current(model))?.stable, 1);
  });

  it('ignores an alarm of a version that is not the current candidate (the stable one): no UpdateAlias, no state written', async () => {
    await rolling();
    const aws = await controlPlane(model);
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-5-errors`), depsOf(aws));
    assert.deepEqual(outcome, {
      action: 'ignored',
      reason: `${FUNCTION}:5 serves ${model} v1, which is not the candidate: ${model} is rolling v2 out at 10%`,
    });
    // Only the read that maps the Lambda version to its model version; nothing that changes anything.
    assert.deepEqual(aws.sequence(), ['GetFunctionConfiguration']);
    assert.equal(aws.routing(), '5 + 6@10%');
    assert.equal((await rollouts.current(model))?.revision, 1);
  });

  it("in a code-only rollout (v2 in Lambda version 6 -> v2 in 4), rolls back on the candidate build's alarm only", async () => {
    await rollouts.write(
      startRollout(undefined, {
        model,
        candidate: 2,
        candidateBuild: '4',
        stable: 2,
        stableBuild: '6',
        plan: planRollout({ strategy: 'canary', weight: 10 }),
        actor: 'cdk',
        now: STARTED,
      }),
    );
    const aws = await controlPlane(model, { lambdaVersion: '4', weight: 0.1 });
    const stableAlarm = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), depsOf(aws));
    assert.equal(
      stableAlarm.action,
      'ignored',
      'the stable build serves the same model version, but is not the candidate',
    );
    assert.equal(aws.sequence().includes('UpdateAlias'), false);
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-4-errors`), depsOf(aws));
    assert.equal(outcome.action, 'rolled-back');
    assert.equal(aws.routing(), '6', 'the stable build alone');
    const state = await rollouts.current(model);
    assert.deepEqual(
      { status: state?.status, stable: state?.stable, stableBuild: state?.stableBuild },
      { status: 'idle', stable: 2, stableBuild: '6' },
    );
  });

  it('ignores alarms of idle models and of models sluice never rolled out', async () => {
    const aws = await controlPlane(model);
    const never = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), depsOf(aws));
    assert.equal(never.action, 'ignored');
    assert.match(never.action === 'ignored' ? never.reason : '', /has no rollout state/);
    await rolling();
    await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), depsOf(aws));
    const revision = (await rollouts.current(model))?.revision;
    aws.journal.length = 0;
    const again = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-model-errors`), depsOf(aws));
    assert.equal(again.action, 'ignored');
    assert.match(again.action === 'ignored' ? again.reason : '', /is idle on v1/);
    assert.deepEqual(aws.sequence(), ['GetFunctionConfiguration'], 'one rollback only');
    assert.equal((await rollouts.current(model))?.revision, revision);
  });

  it('makes no call at all for other alarms and for state changes other than ALARM', async () => {
    await rolling();
    const aws = await controlPlane(model);
    for (const [name, value] of [
      ['billing-over-budget', 'ALARM'],
      [`sluice-${FUNCTION}-6-latency`, 'ALARM'],
      [`sluice-${FUNCTION}-6-p99`, 'OK'],
      [`sluice-${FUNCTION}-6-p99`, 'INSUFFICIENT_DATA'],
    ] as const) {
      const outcome = await rollbackOnAlarm(event(name, value), depsOf(aws));
      assert.equal(outcome.action, 'ignored', name);
    }
    assert.deepEqual(aws.journal, []);
    assert.equal((await rollouts.current(model))?.revision, 1);
  });

  it('decides again when a CLI writes the next revision at the same moment, and still rolls back', async () => {
    await rolling('linear');
    const aws = await controlPlane(model);
    // The CLI's next step (10% -> 20%) lands between this read and the rollback's write.
    const racing = racingStore((state) => advance(state, { actor: 'cli', now: NOW - 1_000 }));
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-invalid-outputs`), depsOf(aws, racing));
    assert.equal(outcome.action, 'rolled-back');
    const state = await rollouts.current(model);
    assert.equal(state?.revision, 3, "revision 2 was the CLI's step, 3 the rollback");
    assert.deepEqual(
      state?.history.slice(-2).map((entry) => [entry.action, entry.actor, entry.weight]),
      [
        ['step', 'cli', 20],
        ['rollback', 'alarm', 0],
      ],
    );
    assert.equal(aws.routing(), '5', 'the alias ends on the newest state: the rollback');
  });

  it('leaves the alias on what a promotion wrote when it lands first, instead of on the old stable version', async () => {
    await rolling();
    const aws = await controlPlane(model);
    // A CLI promotes v2 between the alarm's read and its rollback.
    const racing = racingStore((state) => promote(state, { weight: 100, actor: 'cli', now: NOW - 1_000 }));
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), depsOf(aws, racing));
    assert.equal(outcome.action, 'ignored');
    assert.equal(aws.routing(), '6', "the engine routed the promotion's state: v2 alone");
    assert.equal((await rollouts.current(model))?.stable, 2);
  });

  it('after a promotion, an alarm of the new stable version in the watch window reverts the promotion; after it, not', async () => {
    await rolling();
    const current = await rollouts.current(model);
    assert.ok(current);
    await rollouts.write(promote(current, { weight: 100, actor: 'scheduler', now: NOW - 60_000 }));
    const aws = await controlPlane(model);
    const alarm = event(`sluice-${FUNCTION}-6-model-errors`);
    const late = await rollbackOnAlarm(alarm, { ...depsOf(aws), now: () => NOW - 60_000 + WATCH_MS });
    assert.equal(late.action, 'ignored', 'past the watch window the stable version is not judged');
    const outcome = await rollbackOnAlarm(alarm, { ...depsOf(aws), now: () => NOW });
    assert.equal(outcome.action, 'rolled-back');
    const state = await rollouts.current(model);
    assert.deepEqual([state?.status, state?.stable], ['idle', 1]);
    assert.match(
      state?.history.at(-1)?.reason ?? '',
      /^reverted the promotion of v2 .*model-errors in ALARM/,
    );
    assert.equal(aws.routing(), '5', 'the version the promotion replaced, alone');
  });
});

describe('functions/alarm-rollback: the Lambda entry, wired from its environment', () => {
  let home: string;
  let store: LocalObjectStore;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-alarm-rollback-entry-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  });

  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('reads SLUICE_BUCKET and SLUICE_S3_ENDPOINT at cold start and rolls back the candidate in the registry bucket', async () => {
    const rollouts = new RolloutStore({ store: store.objects() });
    await rollouts.write(
      startRollout(undefined, {
        model: 'iris',
        candidate: 2,
        stable: 1,
        plan: planRollout({ strategy: 'canary' }),
        actor: 'cli',
        now: STARTED,
      }),
    );
    const aws = await controlPlane('iris');
    const handler = createAlarmRollbackHandler(
      {
        SLUICE_BUCKET: store.bucket,
        SLUICE_S3_ENDPOINT: store.endpoint,
        AWS_REGION: REGION,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
      { lambda: aws.lambda, cloudwatch: aws.cloudwatch, logs: aws.logs },
    );
    const outcome = await handler(alarmEvent(`sluice-${FUNCTION}-6-errors`));
    assert.equal(outcome.action, 'rolled-back');
    assert.deepEqual(aws.calls('GetFunctionConfiguration').at(0), { FunctionName: FUNCTION, Qualifier: '6' });
    // Through the engine: the alias back on the stable version alone.
    assert.deepEqual(aws.calls('UpdateAlias').at(-1), {
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '5',
      RoutingConfig: {},
    });
    assert.equal(aws.routing(), '5');
    const state = await rollouts.current('iris');
    assert.equal(state?.status, 'idle');
    assert.equal(state?.history.at(-1)?.actor, 'alarm');

    await assert.rejects(handler({ source: 'aws.s3', detail: {} }), InvalidAlarmEventError);
  });

  it('fails fast at cold start naming the variable and the value', () => {
    assert.throws(
      () => readControlPlaneConfig({ AWS_REGION: REGION }),
      new ConfigError('SLUICE_BUCKET is required; got null'),
    );
    assert.throws(
      () =>
        readControlPlaneConfig({
          SLUICE_BUCKET: 'models',
          AWS_REGION: REGION,
          SLUICE_S3_ENDPOINT: 'not a url',
        }),
      /SLUICE_S3_ENDPOINT .*; got "not a url"/,
    );
    assert.throws(
      () => readControlPlaneConfig({ SLUICE_BUCKET: 'models' }),
      /AWS_REGION is required \(Lambda sets it\); got null/,
    );
  });

  it('parses only CloudWatch alarm state changes', () => {
    const parsed: AlarmStateChangeEvent = parseAlarmStateChangeEvent(alarmEvent('sluice-fn-1-p99'));
    assert.equal(parsed.detail.state.value, 'ALARM');
    assert.throws(
      () => parseAlarmStateChangeEvent({ ...(alarmEvent('x') as object), source: 'aws.s3' }),
      /not a CloudWatch alarm state change event: source/,
    );
  });
});
