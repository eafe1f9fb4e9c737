import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CONTROL_PLANE_MAX_ATTEMPTS } from '../../lib/aws/control-plane-clients.js';
import { driveStackRollouts } from '../../lib/aws/driver/drive-stack-rollouts.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import {
  CDK_ACTOR,
  isReleaseComplete,
  onReleaseEvent,
  type ReleaseDeps,
  type ReleaseResponse,
} from '../../lib/aws/release/release-resource.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import { rolloutPlanOf } from '../../lib/core/config/rollout-plan-of.js';
import { IDLE_TICK_REQUESTS } from '../../lib/core/cost/driver-tick-requests.js';
import { predictEnvironment } from '../../lib/core/environment/predict-environment.js';
import { type ModelManifest, PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { RolloutStatus } from '../../lib/core/rollout/RolloutState.js';
import { ReleaseAction } from '../../lib/core/rollout/release-event.js';
import { WATCH_MS } from '../../lib/core/rollout/rollout-transitions.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { DriverLease } from '../../lib/storage/DriverLease.js';
import type { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';
import { FakeAwsAccount, FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';
import { registryOnNewBucket } from '../fixtures/registry-bucket.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** sluice's code before and after an upgrade (CodeSha256: base64 of a SHA-256). */
const CODE_A = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';
const CODE_B = 'x8dOQpv3Dd2m2X9w0Qe0ozSGy5a9+TwM5a0nN4cTq1o=';
const MINUTE = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE);
const ALARMS = AlarmThresholdsSchema.parse({ evaluationPeriods: 1 });
const CANARY = rolloutPlanOf({ strategy: 'preset', preset: 'canary-10-percent-5-minutes', shadowPercent: 0 });
const MODELS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'] as const;
type Model = (typeof MODELS)[number];
const functionOf = (model: string) => `Sluice-Model${model}Function-AbC123`;

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));

/** The release's properties, as CloudFormation sends them (every value a string). */
function properties(model: Model, lambdaVersion: string, manifest: ModelManifest) {
  return {
    ServiceToken:
      'arn:aws:lambda:eu-west-1:123456789012:function:Sluice-ReleasesProviderframeworkonEvent-XyZ',
    ServiceTimeout: '3600',
    FunctionName: functionOf(model),
    Model: model,
    ModelVersion: String(manifest.version),
    Sha256: manifest.sha256,
    LambdaVersion: lambdaVersion,
    Plan: JSON.stringify(CANARY),
    ProvisionedConcurrency: '0',
  };
}

/** A custom resource request (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html). */
function request(
  model: Model,
  type: 'Create' | 'Update',
  props: ReturnType<typeof properties>,
  old?: ReturnType<typeof properties>,
) {
  return {
    RequestType: type,
    ServiceToken: props.ServiceToken,
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/presigned',
    StackId:
      'arn:aws:cloudformation:eu-west-1:123456789012:stack/Sluice/5b3e0a10-0000-11f0-0000-0a1b2c3d4e5f',
    RequestId: `request-${type}-${model}`,
    ResourceType: 'Custom::SluiceRelease',
    LogicalResourceId: `Model${model}Release`,
    ResourceProperties: props,
    ...(type === 'Create' ? {} : { PhysicalResourceId: `${functionOf(model)}:live` }),
    ...(old ? { OldResourceProperties: old } : {}),
  };
}

describe('one cdk deploy of five models on one account: a failed rollout among them, throttling', () => {
  let home: string;
  let s3: LocalObjectStore;
  let registry: ModelRegistry;
  let store: RolloutStore;
  let account: FakeAwsAccount;
  let fns: Record<Model, FakeAwsControlPlane>;
  let v1: Record<Model, ModelManifest>;
  let now: number;
  let release: ReleaseDeps;
  let bucket = 0;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-aws-stack-'));
    s3 = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  });

  after(async () => {
    await s3.stop();
    await rm(home, { recursive: true, force: true });
  });

  const environmentOf = (model: Model, manifest: ModelManifest) =>
    predictEnvironment({
      bucket: 'registry',
      model,
      version: manifest.version,
      sha256: manifest.sha256,
      alarms: ALARMS,
    });
  const targetOf = () =>
    new LambdaRolloutTarget({
      lambda: account.lambda,
      cloudwatch: account.cloudwatch,
      logs: account.logs,
      registry,
      functionName: functionOf,
      now: () => now,
    });
  /** The models whose state the driver read, one entry per read. */
  let reads: string[] = [];
  const tick = () =>
    driveStackRollouts({
      engine: new RolloutEngine({ store, target: targetOf(), registry, actor: 'scheduler', now: () => now }),
      store: {
        current: (model) => {
          reads.push(model);
          return store.current(model);
        },
      },
      lambda: account.lambda,
      cloudwatch: account.cloudwatch,
      modelFunctions: Object.fromEntries(MODELS.map((model) => [model, functionOf(model)])),
      keepVersions: 2,
    });
  const routings = () => Object.fromEntries(MODELS.map((model) => [model, fns[model].routing()]));

  beforeEach(async () => {
    ({ registry, store } = await registryOnNewBucket(s3, `registry-${++bucket}`));
    now = T0;
    account = new FakeAwsAccount();
    v1 = {} as Record<Model, ModelManifest>;
    fns = {} as Record<Model, FakeAwsControlPlane>;
    for (const model of MODELS) {
      v1[model] = await publishVersion(registry, { name: model, model: iris.modelPath, extras: irisExtras });
      fns[model] = new FakeAwsControlPlane(
        functionOf(model),
        environmentOf(model, v1[model]),
        CODE_A,
        account,
      );
      fns[model].manifests.set(1, v1[model]);
    }
    const target = targetOf();
    release = {
      lambda: account.lambda,
      cloudwatch: account.cloudwatch,
      store,
      target,
      engine: new RolloutEngine({ store, target, registry, actor: CDK_ACTOR, now: () => now }),
      now: () => now,
    };
  });

  /** The stack's first deploy: every function's version 1, every release's Create, all at once. */
  const createAll = () =>
    Promise.all(
      MODELS.map(async (model) => {
        const published = fns[model].publish().Version ?? '';
        return onReleaseEvent(request(model, 'Create', properties(model, published, v1[model])), release);
      }),
    );

  it('an idle tick makes the S3 and CloudWatch calls the cost estimate counts (IDLE_TICK_REQUESTS)', async () => {
    await createAll();
    // The driver's own client on the same bucket, counting every S3 request it sends.
    const sent: string[] = [];
    const client = s3.createClient();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push((context.commandName ?? '').replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize', name: 'countRequests' },
    );
    const objects = new S3ObjectStore({ client, bucket: `registry-${bucket}` });
    const driverStore = new RolloutStore({ store: objects });
    const lease = new DriverLease({
      store: objects,
      name: 'Sluice-RolloutDriver',
      durationMs: 55_000,
      now: () => now,
    });
    const tickOnce = () =>
      driveStackRollouts({
        lease: { lease, holder: `tick-${now}` },
        engine: new RolloutEngine({
          store: driverStore,
          target: targetOf(),
          registry,
          actor: 'scheduler',
          now: () => now,
        }),
        store: driverStore,
        lambda: account.lambda,
        cloudwatch: account.cloudwatch,
        modelFunctions: Object.fromEntries(MODELS.map((model) => [model, functionOf(model)])),
        keepVersions: 2,
      });
    // The first tick of a lease has no generation before it; the second is the steady state.
    await tickOnce();
    now += MINUTE;
    sent.length = 0;
    account.journal.length = 0;
    await tickOnce();
    const count = (...commands: string[]) => sent.filter((command) => commands.includes(command)).length;
    const cloudwatchCalls = account
      .sequence()
      .filter((command) =>
        ['DescribeAlarms', 'GetMetricData', 'PutMetricAlarm', 'DeleteAlarms'].includes(command),
      );
    const expected = (key: keyof typeof IDLE_TICK_REQUESTS.perDriver) =>
      IDLE_TICK_REQUESTS.perDriver[key] + MODELS.length * IDLE_TICK_REQUESTS.perModel[key];
    assert.deepEqual(
      {
        s3Get: count('GetObject'),
        s3ListOrPut: count('ListObjectsV2', 'PutObject'),
        cloudwatch: cloudwatchCalls.length,
      },
      { s3Get: expected('s3Get'), s3ListOrPut: expected('s3ListOrPut'), cloudwatch: expected('cloudwatch') },
      `the tick sent ${sent.join(', ')} and ${account.sequence().join(', ')}`,
    );
  });

  it('a sluice upgrade whose rollout fails on one model rolls all five back to their old build: no reverse canary, no rollout left', async () => {
    await createAll();
    assert.deepEqual(Object.values(routings()), ['1', '1', '1', '1', '1']);

    // Upgrading sluice changes every function's code: CloudFormation updates each and publishes version 2, and each
    // release starts a code-only rollout of v1 in it.
    const forward = new Map<Model, { event: ReturnType<typeof request>; response: ReleaseResponse }>();
    for (const model of MODELS) {
      fns[model].deployFunction(environmentOf(model, v1[model]), CODE_B);
      const build = fns[model].publish().Version ?? '';
      const event = request(
        model,
        'Update',
        properties(model, build, v1[model]),
        properties(model, '1', v1[model]),
      );
      const response = await onReleaseEvent(event, release);
      assert.equal(response.Data.Action, ReleaseAction.ROLLOUT, model);
      forward.set(model, { event, response });
    }
    assert.deepEqual(Object.values(routings()), Array(5).fill('1 + 2@10%'));

    // alpha and bravo have traffic and are promoted by the driver; charlie's candidate fails its errors alarm;
    // delta and echo are quiet and still bake.
    for (const model of ['alpha', 'bravo', 'charlie'] as const) {
      fns[model].traffic.set('2', { perMinute: 5, since: T0 });
    }
    for (const model of MODELS) fns[model].alarmsOk('2');
    fns.charlie.setAlarm('2', 'model-errors', 'ALARM', 'Threshold Crossed: 1 datapoint [4.0] >= 1.0');
    for (const minute of [1, 5, 7, 8]) {
      now = T0 + minute * MINUTE;
      await tick();
    }
    assert.deepEqual(routings(), {
      alpha: '2',
      bravo: '2',
      charlie: '1',
      delta: '1 + 2@10%',
      echo: '1 + 2@10%',
    });
    const complete = (model: Model) => {
      const { event, response } = forward.get(model) as NonNullable<ReturnType<typeof forward.get>>;
      return isReleaseComplete({ ...event, ...response }, release);
    };
    assert.deepEqual(await complete('alpha'), { IsComplete: true });
    await assert.rejects(
      complete('charlie'),
      /charlie: the rollout of v1 \(Lambda version 2\) was rolled back by scheduler/,
    );

    // The stack fails and CloudFormation rolls every release back: an Update from the new properties to the old.
    const rollbackResponses = new Map<Model, ReleaseResponse>();
    for (const model of [...MODELS].reverse()) {
      const back = request(
        model,
        'Update',
        properties(model, '1', v1[model]),
        properties(model, '2', v1[model]),
      );
      const response = await onReleaseEvent(back, release);
      assert.equal(response.Data.Action, ReleaseAction.NONE, `${model}: ${response.Data.Reason}`);
      assert.deepEqual(
        await isReleaseComplete({ ...back, ...response }, release),
        { IsComplete: true },
        model,
      );
      rollbackResponses.set(model, response);
    }
    assert.match(rollbackResponses.get('alpha')?.Data.Reason ?? '', /serves again at once/);
    assert.match(rollbackResponses.get('charlie')?.Data.Reason ?? '', /already serves/);
    assert.match(rollbackResponses.get('delta')?.Data.Reason ?? '', /rolled back; v1 keeps serving/);

    // Every alias routes the old build alone, every state is idle on it, and the forward waiters all end.
    assert.deepEqual(Object.values(routings()), Array(5).fill('1'));
    for (const model of MODELS) {
      const state = await store.current(model);
      assert.deepEqual(
        [state?.status, state?.stable, state?.stableBuild],
        [RolloutStatus.IDLE, 1, '1'],
        model,
      );
    }
    for (const model of ['delta', 'echo'] as const) await assert.rejects(complete(model), /rolled back/);
    // Nothing is left for the driver: its next tick moves no alias, and reads each model's state once.
    account.journal.length = 0;
    reads = [];
    now += MINUTE;
    await tick();
    assert.equal(account.sequence().includes('UpdateAlias'), false);
    assert.deepEqual(reads, [...MODELS]);
  });

  it('throttled control-plane calls during a five-model deploy are retried by the SDK and every release succeeds', async () => {
    // Lambda's control-plane APIs share 15 requests per second per account; CloudWatch throttles PutMetricAlarm.
    account.throttle('PutMetricAlarm', 6);
    account.throttle('UpdateAlias', 3);
    account.throttle('GetFunctionConfiguration', 2);
    const responses = await createAll();
    assert.deepEqual(
      responses.map((response) => response.Data.Action),
      Array(5).fill(ReleaseAction.CREATED),
    );
    assert.deepEqual(Object.values(routings()), Array(5).fill('1'));
    // Each model's five version alarms exist, and the throttled attempts were made again.
    assert.equal([...account.alarms.keys()].filter((name) => name.endsWith('-1-model-errors')).length, 5);
    assert.equal(account.calls('PutMetricAlarm').length, 5 * 5 + 6);
  });

  it('pruning keeps the Lambda version the last cdk deploy replaced: a later stack rollback routes it again', async () => {
    await createAll();
    // A sluice upgrade of alpha: cdk deploy rolls v1 out in Lambda version 2 and it is promoted.
    fns.alpha.deployFunction(environmentOf('alpha', v1.alpha), CODE_B);
    const build = fns.alpha.publish().Version ?? '';
    await onReleaseEvent(
      request('alpha', 'Update', properties('alpha', build, v1.alpha), properties('alpha', '1', v1.alpha)),
      release,
    );
    await release.engine.promote('alpha', { weight: 100 });
    // Four more builds nobody routes (abandoned rollouts of other versions), then the driver tidies up (keep 2).
    for (let index = 0; index < 4; index++) fns.alpha.publish();
    // In the promotion's watch window alpha is still judged, and nothing is pruned: a revert needs version 1.
    now += MINUTE;
    assert.equal((await tick()).pruned.alpha, undefined);
    now += WATCH_MS;
    const { pruned } = await tick();
    assert.deepEqual(pruned.alpha?.deletedVersions, ['3', '4']);
    assert.deepEqual(
      fns.alpha.versions.map((version) => version.Version),
      ['1', '2', '5', '6'],
      'version 1, which the previous template names, stays',
    );
    // The next deploy fails elsewhere and CloudFormation rolls alpha back to Lambda version 1: it is there.
    const back = request(
      'alpha',
      'Update',
      properties('alpha', '1', v1.alpha),
      properties('alpha', build, v1.alpha),
    );
    const response = await onReleaseEvent(back, release);
    assert.match(response.Data.Reason ?? '', /serves again at once/);
    assert.equal(fns.alpha.routing(), '1');
  });

  it('cdk destroy after a deploy and rollouts leaves no version alarm sluice created, of any model', async () => {
    await createAll();
    for (const model of ['alpha', 'bravo'] as const) {
      fns[model].deployFunction(environmentOf(model, v1[model]), CODE_B);
      const build = fns[model].publish().Version ?? '';
      await onReleaseEvent(
        request(model, 'Update', properties(model, build, v1[model]), properties(model, '1', v1[model])),
        release,
      );
    }
    assert.equal(account.alarms.size, 7 * 5, 'five alarms for each of the seven Lambda versions');
    // cdk destroy: CloudFormation deletes every release (then the functions).
    for (const model of MODELS) {
      const response = await onReleaseEvent(
        { ...request(model, 'Update', properties(model, '1', v1[model])), RequestType: 'Delete' },
        release,
      );
      assert.equal(response.Data.Action, ReleaseAction.DELETED);
    }
    assert.deepEqual([...account.alarms.keys()], []);
    assert.deepEqual(Object.values(routings()), Array(5).fill(''), 'no alias left');
  });

  it(`a call still throttled after ${CONTROL_PLANE_MAX_ATTEMPTS} attempts fails the release, naming the throttling`, async () => {
    account.throttle('PutMetricAlarm', CONTROL_PLANE_MAX_ATTEMPTS);
    const published = fns.alpha.publish().Version ?? '';
    await assert.rejects(
      onReleaseEvent(request('alpha', 'Create', properties('alpha', published, v1.alpha)), release),
      (error: Error) => error.name === 'ThrottlingException' && /Rate exceeded/.test(error.message),
    );
    assert.equal(account.calls('PutMetricAlarm').length, CONTROL_PLANE_MAX_ATTEMPTS);
  });
});
