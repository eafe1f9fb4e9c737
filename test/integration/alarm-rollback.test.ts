import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  GetFunctionConfigurationCommand,
  type GetFunctionConfigurationCommandInput,
  LambdaClient,
  ListVersionsByFunctionCommand,
  type ListVersionsByFunctionCommandInput,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { rollbackOnAlarm } from '../../lib/aws/alarm-rollback/alarm-rollback.js';
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
import { advance, promote, startRollout } from '../../lib/core/rollout/rollout-transitions.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { sentInput } from '../fixtures/sent-input.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'eu-west-1';
const FUNCTION = 'Sluice-ModelirisFunction426CCFF9-AbCdEf123456';
const SHA = 'a'.repeat(64);
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

/** A mocked Lambda whose function's versions serve `model` (per LAMBDA_VERSIONS); every call is journaled. */
function fakeLambda(model: string) {
  const client = new LambdaClient({ region: REGION });
  const mock = mockClient(client);
  const journal: [string, unknown][] = [];
  mock.on(GetFunctionConfigurationCommand).callsFake((input: GetFunctionConfigurationCommandInput) => {
    journal.push(['GetFunctionConfiguration', input]);
    const modelVersion = LAMBDA_VERSIONS[input.Qualifier ?? ''];
    if (input.FunctionName !== FUNCTION || modelVersion === undefined) {
      throw new Error(`ResourceNotFoundException: ${input.FunctionName}:${input.Qualifier}`);
    }
    return {
      FunctionName: FUNCTION,
      Version: input.Qualifier,
      Environment: {
        Variables: { SLUICE_MODEL: model, SLUICE_MODEL_VERSION: modelVersion, SLUICE_MODEL_SHA256: SHA },
      },
    };
  });
  mock.on(ListVersionsByFunctionCommand).callsFake((input: ListVersionsByFunctionCommandInput) => {
    journal.push(['ListVersionsByFunction', sentInput(input)]);
    // Two pages, as Lambda pages long listings: $LATEST and 4, then 5, 6 and 7.
    const versions = ['$LATEST', ...Object.keys(LAMBDA_VERSIONS)].map((version) => ({
      FunctionName: FUNCTION,
      Version: version,
      Environment: {
        Variables: {
          SLUICE_MODEL: model,
          SLUICE_MODEL_VERSION: LAMBDA_VERSIONS[version] ?? '3',
          SLUICE_MODEL_SHA256: SHA,
        },
      },
    }));
    return input.Marker === undefined
      ? { Versions: versions.slice(0, 2), NextMarker: 'page-2' }
      : { Versions: versions.slice(2) };
  });
  mock.on(UpdateAliasCommand).callsFake((input) => {
    journal.push(['UpdateAlias', input]);
    return { Name: input.Name, FunctionVersion: '5' };
  });
  return { client, journal };
}

describe('alarm rollback: an alarm of the candidate sends its weight to 0 and records why, with nobody watching', () => {
  let home: string;
  let store: LocalObjectStore;
  let rollouts: RolloutStore;
  let model = 'iris';
  let serial = 0;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-alarm-rollback-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    rollouts = new RolloutStore({ store: store.objects() });
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

  const lambdaFor = () => fakeLambda(model);

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
      write: rollouts.write.bind(rollouts),
    };
  };

  const event = (alarmName: string, value?: string) =>
    parseAlarmStateChangeEvent(alarmEvent(alarmName, value));

  it('points the alias at the stable version alone and writes the next revision: idle, weight 0, candidate cleared, a rollback by alarm', async () => {
    await rolling();
    const lambda = lambdaFor();
    const alarmName = `sluice-${FUNCTION}-6-p99`;
    const outcome = await rollbackOnAlarm(event(alarmName), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });

    const toStable = { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5', RoutingConfig: {} };
    assert.deepEqual(lambda.journal, [
      ['GetFunctionConfiguration', { FunctionName: FUNCTION, Qualifier: '6' }],
      ['ListVersionsByFunction', { FunctionName: FUNCTION }],
      ['ListVersionsByFunction', { FunctionName: FUNCTION, Marker: 'page-2' }],
      ['UpdateAlias', toStable],
      // Again after the write: a CLI routing its older state in between must not have the last word.
      ['UpdateAlias', toStable],
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
    const lambda = lambdaFor();
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-7-errors`), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });
    assert.equal(outcome.action, 'rolled-back');
    const updates = lambda.journal.filter(([name]) => name === 'UpdateAlias').map(([, input]) => input);
    assert.deepEqual(updates.at(-1), {
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '5',
      RoutingConfig: {},
    });
    assert.equal((await rollouts.current(model))?.stable, 1);
  });

  it('ignores an alarm of a version that is not the current candidate (the stable one): no UpdateAlias, no state written', async () => {
    await rolling();
    const lambda = lambdaFor();
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-5-errors`), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });
    assert.deepEqual(outcome, {
      action: 'ignored',
      reason: `${FUNCTION}:5 serves ${model} v1, which is not the candidate: ${model} is rolling v2 out at 10%`,
    });
    // Only the read that maps the Lambda version to its model version; nothing that changes anything.
    assert.deepEqual(lambda.journal, [
      ['GetFunctionConfiguration', { FunctionName: FUNCTION, Qualifier: '5' }],
    ]);
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
    const lambda = lambdaFor();
    const stableAlarm = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });
    assert.equal(
      stableAlarm.action,
      'ignored',
      'the stable build serves the same model version, but is not the candidate',
    );
    assert.equal(lambda.journal.filter(([name]) => name === 'UpdateAlias').length, 0);
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-4-errors`), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });
    assert.equal(outcome.action, 'rolled-back');
    assert.deepEqual(lambda.journal.filter(([name]) => name === 'UpdateAlias').at(-1)?.[1], {
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '6',
      RoutingConfig: {},
    });
    const state = await rollouts.current(model);
    assert.deepEqual(
      { status: state?.status, stable: state?.stable, stableBuild: state?.stableBuild },
      { status: 'idle', stable: 2, stableBuild: '6' },
    );
  });

  it('ignores alarms of idle models and of models sluice never rolled out', async () => {
    const lambda = lambdaFor();
    const never = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), {
      lambda: lambda.client,
      store: rollouts,
    });
    assert.equal(never.action, 'ignored');
    assert.match(never.action === 'ignored' ? never.reason : '', /has no rollout state/);
    await rolling();
    await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), {
      lambda: lambda.client,
      store: rollouts,
      now: () => NOW,
    });
    const again = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-model-errors`), {
      lambda: lambda.client,
      store: rollouts,
    });
    assert.equal(again.action, 'ignored');
    assert.match(again.action === 'ignored' ? again.reason : '', /is idle on v1/);
    assert.deepEqual(
      lambda.journal.map(([name]) => name),
      [
        'GetFunctionConfiguration',
        'GetFunctionConfiguration',
        'ListVersionsByFunction',
        'ListVersionsByFunction',
        'UpdateAlias',
        'UpdateAlias',
        'GetFunctionConfiguration',
      ],
      'one rollback only',
    );
  });

  it('makes no call at all for other alarms and for state changes other than ALARM', async () => {
    await rolling();
    const lambda = lambdaFor();
    for (const [name, value] of [
      ['billing-over-budget', 'ALARM'],
      [`sluice-${FUNCTION}-6-latency`, 'ALARM'],
      [`sluice-${FUNCTION}-6-p99`, 'OK'],
      [`sluice-${FUNCTION}-6-p99`, 'INSUFFICIENT_DATA'],
    ] as const) {
      const outcome = await rollbackOnAlarm(event(name, value), { lambda: lambda.client, store: rollouts });
      assert.equal(outcome.action, 'ignored', name);
    }
    assert.deepEqual(lambda.journal, []);
    assert.equal((await rollouts.current(model))?.revision, 1);
  });

  it('decides again when a CLI writes the next revision at the same moment, and still rolls back', async () => {
    await rolling('linear');
    const lambda = lambdaFor();
    // The CLI's next step (10% -> 20%) lands between this read and the rollback's write.
    const racing = racingStore((state) => advance(state, { actor: 'cli', now: NOW - 1_000 }));
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-invalid-outputs`), {
      lambda: lambda.client,
      store: racing,
      now: () => NOW,
    });
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
    assert.deepEqual(
      lambda.journal.map(([name]) => name),
      [
        'GetFunctionConfiguration',
        'ListVersionsByFunction',
        'ListVersionsByFunction',
        'UpdateAlias',
        'ListVersionsByFunction',
        'ListVersionsByFunction',
        'UpdateAlias',
        'UpdateAlias',
      ],
      'the routing is set again after re-reading: the CLI may have routed its step in between',
    );
  });

  it('puts the alias back on what the promotion wrote when its own write loses, instead of leaving it on the old stable version', async () => {
    await rolling();
    const lambda = lambdaFor();
    // A CLI promotes v2 (and routes it) between the alarm's read and its write.
    const racing = racingStore((state) => promote(state, { weight: 100, actor: 'cli', now: NOW - 1_000 }));
    const outcome = await rollbackOnAlarm(event(`sluice-${FUNCTION}-6-errors`), {
      lambda: lambda.client,
      store: racing,
      now: () => NOW,
    });
    assert.equal(outcome.action, 'ignored');
    const updates = lambda.journal.filter(([name]) => name === 'UpdateAlias').map(([, input]) => input);
    assert.deepEqual(updates, [
      { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5', RoutingConfig: {} },
      { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '6', RoutingConfig: {} },
    ]);
    assert.equal((await rollouts.current(model))?.stable, 2);
  });
});

describe('functions/alarm-rollback: the Lambda entry, wired from its environment', () => {
  let home: string;
  let store: LocalObjectStore;
  const saved = { ...process.env };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-alarm-rollback-entry-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  });

  after(async () => {
    process.env = saved;
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
    process.env.SLUICE_BUCKET = store.bucket;
    process.env.SLUICE_S3_ENDPOINT = store.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    // Every LambdaClient, also the one the entry creates at import.
    const classMock = mockClient(LambdaClient);
    classMock.on(GetFunctionConfigurationCommand).resolves({
      Environment: {
        Variables: { SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '2', SLUICE_MODEL_SHA256: SHA },
      },
    });
    classMock.on(ListVersionsByFunctionCommand).resolves({
      Versions: [
        {
          Version: '5',
          Environment: {
            Variables: { SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '1', SLUICE_MODEL_SHA256: SHA },
          },
        },
      ],
    });
    classMock.on(UpdateAliasCommand).resolves({ Name: 'live', FunctionVersion: '5' });
    try {
      const { handler } = await import('../../functions/alarm-rollback/index.js');
      const outcome = await handler(alarmEvent(`sluice-${FUNCTION}-6-errors`));
      assert.equal(outcome.action, 'rolled-back');
      assert.deepEqual(
        classMock.commandCalls(GetFunctionConfigurationCommand).map((call) => call.args[0].input),
        [{ FunctionName: FUNCTION, Qualifier: '6' }],
      );
      assert.deepEqual(
        classMock.commandCalls(UpdateAliasCommand).map((call) => call.args[0].input),
        Array(2).fill({ FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5', RoutingConfig: {} }),
      );
      const state = await rollouts.current('iris');
      assert.equal(state?.status, 'idle');
      assert.equal(state?.history.at(-1)?.actor, 'alarm');

      await assert.rejects(handler({ source: 'aws.s3', detail: {} }), InvalidAlarmEventError);
    } finally {
      classMock.restore();
    }
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
