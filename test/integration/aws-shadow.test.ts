import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { findPublishedVersion } from '../../lib/aws/lambda/published-version.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { ConfigError } from '../../lib/core/environment/ConfigError.js';
import { predictEnvironment } from '../../lib/core/environment/predict-environment.js';
import {
  type ModelManifest,
  PublishExtrasSchema,
  type ReferenceItem,
} from '../../lib/core/manifest/ModelManifest.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { EmfServingMetrics } from '../../lib/serving/metrics/EmfServingMetrics.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';
import { IRIS_LABELS } from '../../lib/tools/train-iris.js';
import { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';
import { silentLogger, TestClock } from '../fixtures/local-stack.js';
import { equivalentIrisModel, irisClassifier, rotatedIrisModel } from '../fixtures/models.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const FUNCTION = 'Sluice-ModelirisFunction426CCFF9-AbCdEf123456';
const CODE = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';
const MINUTE = 60_000;
/** Client requests per minute through the alias. */
const REQUESTS_PER_MINUTE = 40;
/** How long the test's CloudWatch takes to have a minute's metrics complete. */
const SETTLE_MS = MINUTE;

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
const { rows, classes } = irisClassifier();

/** A shadowed canary: 25 % of requests to the shadow build, then 10 %, then 100 %. */
const PLAN = planRollout({
  strategy: 'canary',
  weight: 10,
  intervalMs: 5 * MINUTE,
  minRequests: 20,
  shadowPercent: 25,
});

/**
 * A canary without a shadow phase: the class shares at the end of each step judge it. 30 %, so that a 5-minute step
 * at 40 requests a minute gives the candidate some 60 answers, enough for every cell of the test.
 */
const CANARY_PLAN = planRollout({
  strategy: 'canary',
  weight: 30,
  intervalMs: 5 * MINUTE,
  minRequests: 10,
  shadowPercent: 0,
});

/** A client's V2 request through API Gateway's catch-all resource, as Lambda receives it. */
function clientEvent(row: readonly number[], n: number, at: number): APIGatewayProxyEvent {
  return buildProxyEvent({
    method: 'POST',
    path: '/v2/models/iris/infer',
    resource: '/{proxy+}',
    pathParameters: { proxy: 'v2/models/iris/infer' },
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [row] }] }),
    requestId: `client-${n}`,
    requestTimeEpoch: at,
  });
}

/**
 * The function's metrics with every request's latency the same: this file is about what versions answer, and the
 * wall-clock timings of real runs on a loaded machine would trip the latency gate first (seen once under load: a
 * candidate's p99 of 132 ms against the stable's 21 ms rolled it back on latency, not on its classes).
 */
class SteadyLatencyMetrics extends EmfServingMetrics {
  override recordInference(record: Parameters<EmfServingMetrics['recordInference']>[0]): void {
    super.recordInference({ ...record, latencyMs: 5 });
  }
}

describe('The shadow phase on AWS: a shadow build routed the shadow share answers with the stable version', () => {
  let home: string;
  let s3: LocalObjectStore;
  let registry: ModelRegistry;
  let store: RolloutStore;
  let aws: FakeAwsControlPlane;
  let engine: RolloutEngine;
  let v1: ModelManifest;
  const clock = new TestClock();
  const handlers = new Map<string, PredictHandler>();
  const random = seededRandom(17);
  let sent = 0;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-aws-shadow-'));
    s3 = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ store: s3.objects() });
    store = new RolloutStore({ store: s3.objects() });
    v1 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    const environment = {
      ...predictEnvironment({
        bucket: s3.bucket,
        model: 'iris',
        version: v1.version,
        sha256: v1.sha256,
        alarms: AlarmThresholdsSchema.parse({}),
      }),
      SLUICE_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: 'eu-west-1',
    };
    aws = new FakeAwsControlPlane(FUNCTION, environment, CODE);
    // Each published Lambda version runs the real predict handler with its own environment; its EMF documents
    // are the metrics CloudWatch gets.
    aws.run = async (configuration, event) => {
      const version = configuration.Version ?? '';
      let handler = handlers.get(version);
      if (!handler) {
        const env = { ...configuration.Environment?.Variables, AWS_LAMBDA_FUNCTION_VERSION: version };
        handler = createPredictHandler(readFunctionConfig(env), {
          logger: silentLogger(),
          metrics: new SteadyLatencyMetrics((line) => aws.ingestLog(line, clock.now()), version, clock.now),
        });
        handlers.set(version, handler);
      }
      return handler.handler(event);
    };
    const first = aws.publish().Version ?? '';
    await aws.lambda.send(
      new CreateAliasCommand({ FunctionName: FUNCTION, Name: 'live', FunctionVersion: first }),
    );
    const target = new LambdaRolloutTarget({
      lambda: aws.lambda,
      cloudwatch: aws.cloudwatch,
      logs: aws.logs,
      registry,
      functionName: () => FUNCTION,
      now: clock.now,
      sleep: async () => {},
      metricsSettleMs: SETTLE_MS,
    });
    engine = new RolloutEngine({ store, target, registry, actor: 'cli', now: clock.now });
    await engine.deploy('iris', { version: v1.version, plan: planRollout({ strategy: 'all-at-once' }) });
  });

  after(async () => {
    await Promise.all([...handlers.values()].map((handler) => handler.engine.close()));
    await s3.stop();
    await rm(home, { recursive: true, force: true });
  });

  /**
   * A minute of client traffic through the alias, then the scheduler's tick: until the rollout leaves `phase`
   * or ends. Returns the state, and which Lambda versions answered and with what model version.
   */
  async function trafficUntilDecided(maxMinutes: number) {
    const answers: { executed: string; modelVersion: string; status: number }[] = [];
    for (let minute = 0; minute < maxMinutes; minute++) {
      for (let n = 0; n < REQUESTS_PER_MINUTE; n++) {
        const row = rows[Math.floor(random() * rows.length)] as number[];
        const { executed, result } = await aws.invokeAlias(
          clientEvent(row, ++sent, clock.now()),
          random(),
          clock.now(),
        );
        answers.push({
          executed,
          modelVersion: String(JSON.parse(result.body).model_version),
          status: result.statusCode,
        });
        clock.advance(MINUTE / REQUESTS_PER_MINUTE);
      }
      const { state } = await engine.step('iris');
      if (state.status === 'idle' || state.phase !== 'shadow') return { state, answers };
    }
    throw new Error(`the shadow phase was still undecided after ${maxMinutes} minutes`);
  }

  it('a candidate whose every answer is wrong is rolled back from its shadow phase; clients only ever got v1', async () => {
    const wrong = await publishVersion(registry, { name: 'iris', model: rotatedIrisModel() });
    const started = await engine.deploy('iris', { version: wrong.version, plan: PLAN });
    assert.deepEqual([started.phase, started.weight], ['shadow', 0]);
    const shadowBuild = started.shadowBuild ?? '';
    const shadowed = aws.versions.find((version) => version.Version === shadowBuild);
    assert.deepEqual(
      [
        shadowed?.Environment?.Variables?.SLUICE_MODEL_VERSION,
        shadowed?.Environment?.Variables?.SLUICE_SHADOW_VERSION,
        shadowed?.Description,
      ],
      ['1', String(wrong.version), `sluice iris shadow v1 v${wrong.version}`],
    );
    assert.equal(
      aws.routing(),
      `1 + ${shadowBuild}@25%`,
      'the alias routes the shadow share to the shadow build',
    );
    // The shadow build is never taken for the build of the version it answers with.
    assert.equal(findPublishedVersion(aws.versions, 'iris', 1)?.Version, '1');

    const { state, answers } = await trafficUntilDecided(10);
    assert.equal(state.status, 'idle');
    assert.equal(state.stable, 1);
    assert.match(
      state.history.at(-1)?.reason ?? '',
      new RegExp(
        `^shadow: v${wrong.version} disagreed with v1 on (\\d+) of \\d+ compared requests .*more than tolerated`,
      ),
    );
    // Which output: both, on every compared request (counted from the shadow build's log lines, at the rollback).
    const disagreed = /disagreed with v1 on (\d+) of/.exec(state.history.at(-1)?.reason ?? '')?.[1];
    assert.match(
      state.history.at(-1)?.reason ?? '',
      new RegExp(
        `; by output, the compared requests each disagreed on: label ${disagreed}, probabilities ${disagreed}(;|$)`,
      ),
    );
    assert.equal(aws.routing(), '1', 'the alias is back on v1 alone');
    assert.ok(
      answers.some((answer) => answer.executed === shadowBuild),
      'the shadow build served clients',
    );
    assert.deepEqual(
      new Set(answers.map((answer) => `${answer.status} v${answer.modelVersion}`)),
      new Set(['200 v1']),
      "every client got v1's answer",
    );
  });

  it('an equivalent candidate passes its shadow phase on the compared answers and takes the first step', async () => {
    const twin = await publishVersion(registry, { name: 'iris', model: equivalentIrisModel() });
    const started = await engine.deploy('iris', { version: twin.version, plan: PLAN });
    const { state } = await trafficUntilDecided(30);
    assert.deepEqual([state.status, state.phase, state.weight], ['rolling', undefined, 10]);
    assert.equal(state.shadowBuild, undefined);
    assert.match(
      state.history.at(-1)?.reason ?? '',
      new RegExp(
        `^shadow: v${twin.version} disagreed with v1 on 0 of \\d+ compared requests .*: within tolerance`,
      ),
    );
    // The class scores' relative differences over the phase, from the shadow build's ShadowDifference p50 / p99.
    const differences = /\(tolerance 0\.001\): probabilities (\S+) \/ (\S+);/.exec(
      state.history.at(-1)?.reason ?? '',
    );
    assert.ok(differences, state.history.at(-1)?.reason);
    assert.ok(
      Number(differences[1]) <= Number(differences[2]) && Number(differences[2]) < 1e-5,
      differences[0],
    );
    assert.equal(
      aws.routing(),
      `1 + ${state.candidateBuild}@10%`,
      'the candidate build, not the shadow build',
    );
    assert.notEqual(state.candidateBuild, started.shadowBuild);
    await engine.rollback('iris', 'test over');
  });

  it('a wrong canary without a shadow phase is rolled back at the end of its step on the classes Logs Insights counted', async () => {
    const wrong = await publishVersion(registry, { name: 'iris', model: rotatedIrisModel() });
    const started = await engine.deploy('iris', { version: wrong.version, plan: CANARY_PLAN });
    assert.deepEqual([started.phase, started.weight], [undefined, 30]);
    const candidateBuild = started.candidateBuild ?? '';
    // Healthy by every alarm: it answers quickly and validly, only wrongly.
    aws.alarmsOk(candidateBuild);
    aws.insights.started.length = 0;
    let state = started;
    for (let minute = 0; minute < 20 && state.status === 'rolling'; minute++) {
      for (let n = 0; n < REQUESTS_PER_MINUTE; n++) {
        // Clients who mostly ask about setosa (the first 50 rows): the rotated classes show in the shares.
        const index = random() < 0.8 ? Math.floor(random() * 50) : Math.floor(random() * rows.length);
        await aws.invokeAlias(
          clientEvent(rows[index] as number[], ++sent, clock.now()),
          random(),
          clock.now(),
        );
        clock.advance(MINUTE / REQUESTS_PER_MINUTE);
      }
      ({ state } = await engine.step('iris'));
    }
    assert.equal(state.status, 'idle');
    assert.equal(state.stable, 1);
    assert.match(
      state.history.at(-1)?.reason ?? '',
      new RegExp(`^class shares: v${wrong.version} answers other classes than v1 over the step .*chi-square`),
    );
    assert.equal(aws.routing(), '1', 'the alias is back on v1 alone');
    // The classes were counted once the bake was over and the step was otherwise due, by one query over the step, in
    // the function's log group, for the two builds the alias routed.
    const [first] = aws.insights.started;
    assert.ok(first, 'a Logs Insights query ran');
    assert.equal(
      aws.insights.started.length,
      1,
      'one query: only when the step would otherwise have been taken',
    );
    assert.equal(first.logGroupName, `/aws/lambda/${FUNCTION}`);
    assert.equal(
      first.queryString,
      `filter Model = "iris" and ispresent(AnsweredClass) and FunctionVersion in ["${started.stableBuild}", "${candidateBuild}"] | stats count(*) as requests by FunctionVersion, AnsweredClass`,
    );
    assert.equal(
      (first.endTime ?? 0) * 1000,
      Date.parse(started.stepStartedAt ?? '') + CANARY_PLAN.intervalMs,
      "once the metrics are settled up to the bake's end, and not before",
    );
    assert.equal(first.startTime, Date.parse(started.stepStartedAt ?? '') / 1000, 'over the step');
  });

  it('replays the reference sets through the builds with Invoke, before any traffic', async () => {
    const reference: ReferenceItem[] = rows.map((row, index) => ({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [row] }],
      expected: IRIS_LABELS[classes[index] as number] as string,
    }));
    const wrong = await publishVersion(registry, {
      name: 'iris',
      model: rotatedIrisModel(),
      reference: { items: reference },
    });
    aws.journal.length = 0;
    let refused: unknown;
    try {
      await engine.deploy('iris', { version: wrong.version, plan: PLAN });
    } catch (error) {
      refused = error;
    }
    assert.match(
      String(refused),
      /answers the reference sets otherwise than v1 and gets no traffic: \d+ of \d+ reference items disagreed/,
    );
    const invoked = new Set(
      aws.journal
        .filter(([name]) => name === 'Invoke')
        .map(([, input]) => (input as { Qualifier: string }).Qualifier),
    );
    const state = (await store.current('iris')) as RolloutState;
    assert.ok(invoked.has(state.stableBuild ?? ''), 'the stable build answered the items');
    assert.equal(invoked.size, 2, 'and the candidate build, nothing else');
    assert.deepEqual([state.status, state.history.at(-1)?.action], ['idle', 'replay-failed']);
    assert.equal(aws.routing(), '1');
  });

  it('a shadow build environment names all of its candidate or none', () => {
    const base = { SLUICE_BUCKET: 'bucket', SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '1' };
    assert.equal(readFunctionConfig(base).shadow, undefined);
    assert.throws(
      () => readFunctionConfig({ ...base, SLUICE_SHADOW_VERSION: '2' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /names a shadow candidate without all of SLUICE_SHADOW_VERSION, SLUICE_SHADOW_SHA256 and SLUICE_SHADOW_NUMERIC_TOLERANCE/.test(
          error.message,
        ),
    );
    const shadow = readFunctionConfig({
      ...base,
      SLUICE_SHADOW_VERSION: '2',
      SLUICE_SHADOW_SHA256: 'a'.repeat(64),
      SLUICE_SHADOW_NUMERIC_TOLERANCE: '0.001',
    }).shadow;
    assert.deepEqual(shadow, { version: 2, sha256: 'a'.repeat(64), numericTolerance: 0.001 });
  });
});
