import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { driveStackRollouts } from '../../lib/aws/driver/drive-stack-rollouts.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import {
  CDK_ACTOR,
  isReleaseComplete,
  onReleaseEvent,
  type ReleaseDeps,
} from '../../lib/aws/release/release-resource.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import { rolloutPlanOf } from '../../lib/core/config/rollout-plan-of.js';
import { predictEnvironment } from '../../lib/core/environment/predict-environment.js';
import { type ModelManifest, PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { RolloutStatus } from '../../lib/core/rollout/RolloutState.js';
import { ReleaseAction, type ReleaseData } from '../../lib/core/rollout/release-event.js';
import { ROLLOUT_WAIT_MS } from '../../lib/core/rollout/rollout-wait.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import type { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import type { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';
import { registryOnNewBucket } from '../fixtures/registry-bucket.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const FUNCTION = 'Sluice-ModelirisFunction426CCFF9-AbCdEf123456';
/** CodeSha256 of two deployment packages (base64 of a SHA-256, as FunctionConfiguration carries it). */
const CODE_A = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';
const CODE_B = 'x8dOQpv3Dd2m2X9w0Qe0ozSGy5a9+TwM5a0nN4cTq1o=';
const MINUTE = 60_000;
/** A minute boundary, so the steps below read as whole minutes. */
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE);
const ALARMS = AlarmThresholdsSchema.parse({ evaluationPeriods: 1 });
/**
 * canary-10-percent-5-minutes, 20 requests per step, without the shadow phase: these tests follow the release and
 * the driver through the steps; aws-shadow.test.ts runs a shadow phase on AWS with the function's real code.
 */
const CANARY = rolloutPlanOf({ strategy: 'preset', preset: 'canary-10-percent-5-minutes', shadowPercent: 0 });

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));

/**
 * A custom resource request as CloudFormation sends it (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html):
 * the Provider framework hands `onEvent` the same fields. ResourceProperties carry every value as a string, and
 * the ServiceToken and ServiceTimeout given to the resource.
 */
function request(
  type: 'Create' | 'Update' | 'Delete',
  props: { modelVersion: number; sha256: string; lambdaVersion: string; plan?: string },
  old?: { modelVersion: number; sha256: string; lambdaVersion: string; plan?: string },
) {
  const properties = (p: NonNullable<typeof old>) => ({
    ServiceToken:
      'arn:aws:lambda:eu-west-1:123456789012:function:Sluice-ReleasesProviderframeworkonEvent-XyZ',
    ServiceTimeout: '3600',
    FunctionName: FUNCTION,
    Model: 'iris',
    ModelVersion: String(p.modelVersion),
    Sha256: p.sha256,
    LambdaVersion: p.lambdaVersion,
    Plan: p.plan ?? JSON.stringify(CANARY),
    ProvisionedConcurrency: '0',
  });
  return {
    RequestType: type,
    ServiceToken:
      'arn:aws:lambda:eu-west-1:123456789012:function:Sluice-ReleasesProviderframeworkonEvent-XyZ',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/presigned',
    StackId:
      'arn:aws:cloudformation:eu-west-1:123456789012:stack/Sluice/5b3e0a10-0000-11f0-0000-0a1b2c3d4e5f',
    RequestId: `request-${type}`,
    ResourceType: 'Custom::SluiceRelease',
    LogicalResourceId: 'ModelirisRelease1D5B27D3',
    ResourceProperties: properties(props),
    ...(type === 'Create' ? {} : { PhysicalResourceId: `${FUNCTION}:live` }),
    ...(old ? { OldResourceProperties: properties(old) } : {}),
  };
}

/** What the Provider framework passes `isComplete`: the request with `onEvent`'s answer merged in. */
function completeEvent(
  requestEvent: ReturnType<typeof request>,
  response: { PhysicalResourceId: string; Data: ReleaseData },
) {
  return { ...requestEvent, ...response };
}

describe('cdk deploy and the scheduler on AWS: the release custom resource and the rollout driver, step by step', () => {
  let home: string;
  let s3: LocalObjectStore;
  let registry: ModelRegistry;
  let store: RolloutStore;
  let v1: ModelManifest;
  let v2: ModelManifest;
  let v3: ModelManifest;
  let aws: FakeAwsControlPlane;
  let now: number;
  let release: ReleaseDeps;
  let cli: RolloutEngine;
  let bucket = 0;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-aws-unattended-'));
    s3 = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  });

  after(async () => {
    await s3.stop();
    await rm(home, { recursive: true, force: true });
  });

  const environmentOf = (manifest: { version: number; sha256: string }) =>
    predictEnvironment({
      bucket: 'registry',
      model: 'iris',
      version: manifest.version,
      sha256: manifest.sha256,
      alarms: ALARMS,
    });
  const props = (manifest: ModelManifest, lambdaVersion: string, plan?: string) => ({
    modelVersion: manifest.version,
    sha256: manifest.sha256,
    lambdaVersion,
    ...(plan ? { plan } : {}),
  });
  const targetOf = () =>
    new LambdaRolloutTarget({
      lambda: aws.lambda,
      cloudwatch: aws.cloudwatch,
      logs: aws.logs,
      registry,
      functionName: () => FUNCTION,
      now: () => now,
    });
  /** One scheduler invocation of the rollout-driver function. */
  const tick = () => {
    const target = targetOf();
    return driveStackRollouts({
      engine: new RolloutEngine({ store, target, registry, actor: 'scheduler', now: () => now }),
      store,
      lambda: aws.lambda,
      cloudwatch: aws.cloudwatch,
      modelFunctions: { iris: FUNCTION },
      keepVersions: 2,
    });
  };
  /** What CloudFormation does on a deploy that changes the function: update `$LATEST`, publish its Version. */
  const cloudFormationPublishes = (manifest: ModelManifest, code = CODE_A) => {
    aws.deployFunction(environmentOf(manifest), code);
    return aws.publish().Version ?? '';
  };

  beforeEach(async () => {
    // A fresh bucket per test: each starts from a stack as CloudFormation just created it.
    ({ registry, store } = await registryOnNewBucket(s3, `registry-${++bucket}`));
    v1 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    v2 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    v3 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    now = T0;
    aws = new FakeAwsControlPlane(FUNCTION, environmentOf(v1), CODE_A);
    for (const manifest of [v1, v2, v3]) aws.manifests.set(manifest.version, manifest);
    const target = targetOf();
    release = {
      lambda: aws.lambda,
      cloudwatch: aws.cloudwatch,
      store,
      target,
      engine: new RolloutEngine({ store, target, registry, actor: CDK_ACTOR, now: () => now }),
      now: () => now,
    };
    cli = new RolloutEngine({ store, target: targetOf(), registry, actor: 'cli', now: () => now });
    // The stack's first deploy: CloudFormation publishes version 1 and the release creates the alias on it.
    const created = await onReleaseEvent(request('Create', props(v1, aws.publish().Version ?? '')), release);
    assert.equal(created.Data.Action, ReleaseAction.CREATED);
    aws.journal.length = 0;
  });

  describe('Create: the first deploy has nothing to shift from', () => {
    it('creates the live alias on the version CloudFormation published, with its alarms, and starts no rollout', async () => {
      const fresh = new FakeAwsControlPlane(FUNCTION, environmentOf(v1), CODE_A);
      const published = fresh.publish().Version ?? '';
      const { store: empty, registry: emptyRegistry } = await registryOnNewBucket(s3, 'empty-registry');
      const target = new LambdaRolloutTarget({
        lambda: fresh.lambda,
        cloudwatch: fresh.cloudwatch,
        logs: fresh.logs,
        registry: emptyRegistry,
        functionName: () => FUNCTION,
      });
      const response = await onReleaseEvent(request('Create', props(v1, published)), {
        lambda: fresh.lambda,
        cloudwatch: fresh.cloudwatch,
        store: empty,
        target,
        engine: new RolloutEngine({ store: empty, target, registry: emptyRegistry, actor: CDK_ACTOR }),
      });
      assert.deepEqual(response, {
        PhysicalResourceId: `${FUNCTION}:live`,
        Data: {
          Action: 'created',
          Reason: 'the live alias serves v1 (Lambda version 1); nothing to roll out from',
        },
      });
      assert.deepEqual(fresh.sequence(), [
        'GetFunctionConfiguration',
        'DescribeAlarms',
        ...Array(5).fill('PutMetricAlarm'),
        // The engine routes the state the release wrote; the alias does not exist yet, so routing creates it.
        'UpdateAlias',
        'CreateAlias',
        'DeleteProvisionedConcurrencyConfig',
      ]);
      assert.equal(fresh.routing(), '1');
      assert.equal(fresh.alarms.size, 5, "the version's five alarms");
      // The model's first state, on this function: idle, its version stable in the published build (the registry
      // may still be empty: the state needs no published version).
      const state = await empty.current('iris');
      assert.deepEqual(
        [state?.status, state?.stable, state?.stableBuild, state?.history.at(-1)?.actor],
        ['idle', 1, published, 'cdk'],
      );
      assert.match(
        state?.history.at(-1)?.reason ?? '',
        new RegExp(
          `^the live alias of ${FUNCTION} was created on its Lambda version ${published}, serving v1$`,
        ),
      );
      assert.deepEqual(
        await isReleaseComplete(completeEvent(request('Create', props(v1, published)), response), {
          lambda: fresh.lambda,
          cloudwatch: fresh.cloudwatch,
          store: empty,
          target,
          engine: new RolloutEngine({ store: empty, target, registry: emptyRegistry, actor: CDK_ACTOR }),
        }),
        { IsComplete: true },
      );
    });
  });

  describe('Update: a deploy that changes what the model serves rolls it out through the engine and waits', () => {
    it('a new model version: rollout started (actor cdk), isComplete false while the driver bakes and steps, true once promoted', async () => {
      const build = cloudFormationPublishes(v2);
      const event = request('Update', props(v2, build), props(v1, '1'));
      const response = await onReleaseEvent(event, release);
      assert.deepEqual(response.Data, {
        Action: 'rollout',
        Candidate: '2',
        Build: '2',
        StartedAt: String(T0),
        Reason: 'rolling v2 out in Lambda version 2',
      });
      const started = await store.current('iris');
      assert.equal(started?.status, RolloutStatus.ROLLING);
      assert.deepEqual(
        {
          stable: started?.stable,
          stableBuild: started?.stableBuild,
          candidate: started?.candidate,
          candidateBuild: started?.candidateBuild,
          weight: started?.weight,
        },
        { stable: 1, stableBuild: '1', candidate: 2, candidateBuild: '2', weight: 10 },
      );
      assert.equal(started?.history.at(-1)?.actor, 'cdk');
      assert.equal(aws.routing(), '1 + 2@10%');
      const complete = () => isReleaseComplete(completeEvent(event, response), release);
      assert.deepEqual(await complete(), { IsComplete: false });

      // The candidate serves 5 requests a minute through the alias and its alarms are OK.
      aws.traffic.set('2', { perMinute: 5, since: T0 });
      aws.alarmsOk('2');
      const decisions: string[] = [];
      for (const minute of [1, 5, 7, 8]) {
        now = T0 + minute * MINUTE;
        const [outcome] = (await tick()).outcomes;
        assert.equal(outcome?.kind, 'stepped', `minute ${minute}`);
        if (outcome?.kind === 'stepped') {
          const decision = outcome.decision;
          decisions.push(
            `${minute}: ${decision.kind}${decision.kind === 'wait' ? ` (${decision.why})` : ''} -> ${aws.routing()}`,
          );
        }
        if (minute < 8) assert.deepEqual(await complete(), { IsComplete: false }, `minute ${minute}`);
      }
      assert.deepEqual(decisions, [
        '1: wait (baking) -> 1 + 2@10%',
        '5: wait (settling) -> 1 + 2@10%',
        '7: wait (settling) -> 1 + 2@10%',
        '8: promote -> 2',
      ]);
      const promoted = await store.current('iris');
      assert.deepEqual(
        {
          status: promoted?.status,
          stable: promoted?.stable,
          stableBuild: promoted?.stableBuild,
          actor: promoted?.history.at(-1)?.actor,
        },
        { status: 'idle', stable: 2, stableBuild: '2', actor: 'scheduler' },
      );
      assert.deepEqual(await complete(), { IsComplete: true });
    });

    it('no evidence, no promotion: a candidate without traffic has its bake extended, and cdk deploy rolls it back at the deadline and fails', async () => {
      const build = cloudFormationPublishes(v2);
      const event = request('Update', props(v2, build), props(v1, '1'));
      const response = await onReleaseEvent(event, release);
      aws.alarmsOk('2');
      for (const minute of [8, 20, 40]) {
        now = T0 + minute * MINUTE;
        const [outcome] = (await tick()).outcomes;
        assert.ok(
          outcome?.kind === 'stepped' &&
            outcome.decision.kind === 'wait' &&
            outcome.decision.why === 'evidence',
          `minute ${minute}`,
        );
        assert.equal(aws.routing(), '1 + 2@10%');
      }
      assert.deepEqual(await isReleaseComplete(completeEvent(event, response), release), {
        IsComplete: false,
      });
      now = T0 + ROLLOUT_WAIT_MS;
      await assert.rejects(
        isReleaseComplete(completeEvent(event, response), release),
        /iris: cdk deploy waited 50 minutes for the rollout of v2 \(Lambda version 2\) and it had not finished .*rolled back and v1 keeps serving/,
      );
      assert.equal(aws.routing(), '1');
      const state = await store.current('iris');
      assert.equal(state?.status, RolloutStatus.IDLE);
      assert.equal(state?.history.at(-1)?.action, 'rollback');
    });

    it("rolled back by the candidate's alarm: isComplete throws naming who and why, and CloudFormation's rollback update moves nothing", async () => {
      const build = cloudFormationPublishes(v2);
      const event = request('Update', props(v2, build), props(v1, '1'));
      const response = await onReleaseEvent(event, release);
      aws.traffic.set('2', { perMinute: 5, since: T0 });
      aws.alarmsOk('2');
      aws.setAlarm(
        '2',
        'model-errors',
        'ALARM',
        'Threshold Crossed: 1 datapoint [3.0] was greater than or equal to the threshold (1.0).',
      );
      now = T0 + 2 * MINUTE;
      const [outcome] = (await tick()).outcomes;
      assert.ok(outcome?.kind === 'stepped' && outcome.decision.kind === 'rollback');
      assert.equal(aws.routing(), '1');
      await assert.rejects(
        isReleaseComplete(completeEvent(event, response), release),
        /iris: the rollout of v2 \(Lambda version 2\) was rolled back by scheduler at .*model-errors is ALARM: Threshold Crossed.*; v1 keeps serving/,
      );
      // CloudFormation rolls the stack back: an Update from the failed properties to the old ones.
      aws.journal.length = 0;
      const rollbackUpdate = await onReleaseEvent(
        request('Update', props(v1, '1'), props(v2, build)),
        release,
      );
      assert.deepEqual(rollbackUpdate.Data, {
        Action: 'none',
        Reason: 'v1 in Lambda version 1 already serves',
      });
      assert.equal(aws.sequence().includes('UpdateAlias'), false);
    });

    it('a deploy that changes nothing the model serves (only the plan) moves no traffic', async () => {
      const response = await onReleaseEvent(
        request(
          'Update',
          props(v1, '1', JSON.stringify(planRollout({ strategy: 'linear' }))),
          props(v1, '1'),
        ),
        release,
      );
      assert.deepEqual(response.Data, { Action: 'none', Reason: 'nothing the model serves changed' });
      assert.deepEqual(aws.sequence(), []);
      const state = await store.current('iris');
      assert.deepEqual(
        [state?.status, state?.history.map((event) => event.action)],
        ['idle', ['deploy']],
        'only the state the Create wrote',
      );
    });

    it("CloudFormation's rollback Update during cdk deploy's own rollout ends it: no traffic moves, the stack can roll back, and the waiting isComplete ends", async () => {
      const build = cloudFormationPublishes(v2);
      const forward = request('Update', props(v2, build), props(v1, '1'));
      const started = await onReleaseEvent(forward, release);
      assert.equal(started.Data.Action, ReleaseAction.ROLLOUT);
      assert.equal(aws.routing(), `1 + ${build}@10%`);
      // Another resource failed: CloudFormation sends this release the previous properties back.
      const rollbackUpdate = request('Update', props(v1, '1'), props(v2, build));
      const response = await onReleaseEvent(rollbackUpdate, release);
      assert.equal(response.Data.Action, ReleaseAction.NONE);
      assert.match(response.Data.Reason ?? '', /the rollout of v2 was rolled back; v1 keeps serving/);
      assert.equal(aws.routing(), '1', 'v1 alone, at once');
      const state = await store.current('iris');
      assert.deepEqual(
        [state?.status, state?.history.at(-1)?.action, state?.history.at(-1)?.actor],
        ['idle', 'rollback', 'cdk'],
      );
      // The forward Update's waiter, still polling, ends: its candidate is gone.
      await assert.rejects(isReleaseComplete(completeEvent(forward, started), release), /rolled back/);
    });

    it('a rollback Update of a model cdk deploy already promoted (a sibling failed) puts the previous version back at once, no canary', async () => {
      const build = cloudFormationPublishes(v2);
      const forward = request('Update', props(v2, build), props(v1, '1'));
      await onReleaseEvent(forward, release);
      await release.engine.promote('iris', { weight: 100 });
      assert.equal(aws.routing(), build);
      const rollbackUpdate = request('Update', props(v1, '1'), props(v2, build));
      const response = await onReleaseEvent(rollbackUpdate, release);
      assert.equal(response.Data.Action, ReleaseAction.NONE);
      assert.match(response.Data.Reason ?? '', /stable before the last cdk deploy, serves again at once/);
      assert.equal(aws.routing(), '1', 'v1 alone, with no bake to wait out');
      const state = await store.current('iris');
      assert.deepEqual([state?.status, state?.stable, state?.stableBuild], ['idle', 1, '1']);
      assert.deepEqual(
        state?.history.slice(-2).map((event) => [event.action, event.actor, event.candidate]),
        [
          ['deploy', 'cdk', 1],
          ['promote', 'cdk', 1],
        ],
      );
      assert.deepEqual(await isReleaseComplete(completeEvent(rollbackUpdate, response), release), {
        IsComplete: true,
      });
    });

    it('refuses while a sluice rollout is in progress, naming it; the deploy fails and the alias stays as sluice set it', async () => {
      await cli.deploy('iris', { version: 3, plan: CANARY });
      const routed = aws.routing();
      const build = cloudFormationPublishes(v2);
      await assert.rejects(
        onReleaseEvent(request('Update', props(v2, build), props(v1, '1')), release),
        /rollout of iris .*in progress/,
      );
      assert.equal(aws.routing(), routed);
      // A code-only deploy is refused the same way, before anything is published.
      aws.journal.length = 0;
      const codeOnly = cloudFormationPublishes(v1, CODE_B);
      await assert.rejects(
        onReleaseEvent(request('Update', props(v1, codeOnly), props(v1, '1')), release),
        /a rollout of iris \(v1 -> v3 at 10%, started by cli\) is in progress; cdk deploy changes iris only once it is promoted or rolled back/,
      );
      assert.deepEqual(aws.journal, [], 'no call at all: nothing published, nothing routed');
    });
  });

  describe('a version sluice deploy promoted that sluice.config.json does not name', () => {
    const promoteV3 = async () => {
      await cli.deploy('iris', { version: 3, plan: planRollout({ strategy: 'manual' }) });
      await cli.promote('iris', { weight: 100 });
      const state = await store.current('iris');
      assert.deepEqual(
        { stable: state?.stable, stableBuild: state?.stableBuild },
        { stable: 3, stableBuild: '2' },
      );
    };

    it("a code-only deploy rolls sluice's new code out with v3, the version serving now, never the config's older v1", async () => {
      await promoteV3();
      // sluice's code changed; the config still names v1: CloudFormation publishes v1 in the new code.
      const build = cloudFormationPublishes(v1, CODE_B);
      const response = await onReleaseEvent(request('Update', props(v1, build), props(v1, '1')), release);
      assert.deepEqual(response.Data, {
        Action: 'rollout',
        Candidate: '3',
        Build: '4',
        StartedAt: String(T0),
        Reason: "rolling sluice's new code out with v3, the version sluice promoted (the config names v1)",
      });
      const published = aws.versions.find((version) => version.Version === '4');
      assert.equal(published?.CodeSha256, CODE_B, 'the new code');
      assert.equal(
        published?.Environment?.Variables?.SLUICE_MODEL_VERSION,
        '3',
        'with the promoted model version',
      );
      assert.equal(aws.routing(), '2 + 4@10%');
    });

    it('a deploy whose config now names v3 in the same code moves nothing: CloudFormation published an identical build', async () => {
      await promoteV3();
      const build = cloudFormationPublishes(v3);
      const response = await onReleaseEvent(request('Update', props(v3, build), props(v1, '1')), release);
      assert.equal(response.Data.Action, ReleaseAction.NONE);
      assert.match(
        response.Data.Reason ?? '',
        /Lambda version 3 serves exactly what Lambda version 2 \(v3\) serves/,
      );
      assert.equal(aws.routing(), '2');
    });

    it('a deploy whose config names another version (v2) rolls that version out as asked, from v3', async () => {
      await promoteV3();
      const build = cloudFormationPublishes(v2);
      const response = await onReleaseEvent(request('Update', props(v2, build), props(v1, '1')), release);
      assert.equal(response.Data.Candidate, '2');
      const state = await store.current('iris');
      assert.deepEqual({ stable: state?.stable, candidate: state?.candidate }, { stable: 3, candidate: 2 });
    });
  });

  describe('Delete and retention', () => {
    it("Delete removes the alias and every version alarm of the function, not another function's; a second Delete finds none and succeeds", async () => {
      for (const manifest of [v2, v3]) {
        aws.deployFunction(environmentOf(manifest), CODE_A);
        await targetOf().ensureVersionAlarms('iris', manifest.version, aws.publish());
      }
      // A function whose name starts like this one's: its alarms share the prefix, and are not this function's.
      const other = `sluice-${FUNCTION}-B-1-errors`;
      aws.alarms.set(other, { AlarmName: other, StateValue: 'OK' });
      assert.equal(aws.alarms.size, 16);
      const event = request('Delete', props(v1, '1'));
      assert.equal((await onReleaseEvent(event, release)).Data.Action, ReleaseAction.DELETED);
      assert.equal(aws.alias, undefined);
      assert.deepEqual([...aws.alarms.keys()], [other], 'no alarm of the function is left behind');
      assert.equal((await onReleaseEvent(event, release)).Data.Action, ReleaseAction.DELETED);
    });

    it('a Delete whose properties an older sluice wrote (another schema) still deletes: it needs only the physical id', async () => {
      const event = request('Delete', props(v1, '1'));
      const older = {
        ...event,
        ResourceProperties: { ServiceToken: event.ServiceToken, ModelName: 'iris', Weights: '10,100' },
      };
      const response = await onReleaseEvent(older, release);
      assert.equal(response.Data.Action, ReleaseAction.DELETED);
      assert.equal(aws.alias, undefined);
      assert.deepEqual(
        await isReleaseComplete(
          { ...older, PhysicalResourceId: response.PhysicalResourceId, Data: response.Data },
          release,
        ),
        { IsComplete: true },
      );
    });

    it('a model removed and added again (a new function) starts clean: its old state names a function that is gone', async () => {
      // A rollout in progress when the model leaves the config.
      await cli.deploy('iris', { version: 3, plan: CANARY });
      await onReleaseEvent(request('Delete', props(v1, '1')), release);
      const NEW_FUNCTION = 'Sluice-ModelirisFunction426CCFF9-NeWfUnCtIoN1';
      const fresh = new FakeAwsControlPlane(NEW_FUNCTION, environmentOf(v2), CODE_A);
      for (const manifest of [v1, v2, v3]) fresh.manifests.set(manifest.version, manifest);
      const target = new LambdaRolloutTarget({
        lambda: fresh.lambda,
        cloudwatch: fresh.cloudwatch,
        logs: fresh.logs,
        registry,
        functionName: () => NEW_FUNCTION,
        now: () => now,
      });
      const created = request('Create', props(v2, fresh.publish().Version ?? ''));
      created.ResourceProperties.FunctionName = NEW_FUNCTION;
      await onReleaseEvent(created, {
        lambda: fresh.lambda,
        cloudwatch: fresh.cloudwatch,
        store,
        target,
        engine: new RolloutEngine({ store, target, registry, actor: CDK_ACTOR, now: () => now }),
        now: () => now,
      });
      const state = await store.current('iris');
      assert.deepEqual(
        [state?.status, state?.stable, state?.stableBuild, state?.candidate, state?.weight],
        ['idle', 2, '1', undefined, 0],
      );
      assert.match(
        state?.history.at(-1)?.reason ?? '',
        /belong to an earlier function of iris \(its rollout to v3 ended with it\)$/,
      );
      // A rollout from here routes the new function's versions only.
      const engine = new RolloutEngine({ store, target, registry, actor: 'cli', now: () => now });
      await engine.deploy('iris', { version: 3, plan: CANARY });
      assert.equal(fresh.routing(), '1 + 2@10%');
    });

    it('the driver deletes old Lambda versions of an idle model and their alarms, keeping the routed one and the newest two others', async () => {
      for (const manifest of [v2, v3, v2, v3]) {
        aws.deployFunction(environmentOf(manifest), CODE_A);
        const published = aws.publish();
        await targetOf().ensureVersionAlarms('iris', manifest.version, published);
      }
      assert.deepEqual(
        aws.versions.map((version) => version.Version),
        ['1', '2', '3', '4', '5'],
      );
      assert.equal(aws.alarms.size, 25);
      const { pruned } = await tick();
      assert.deepEqual(pruned.iris?.deletedVersions, ['2', '3']);
      assert.deepEqual(
        aws.versions.map((version) => version.Version),
        ['1', '4', '5'],
        'routed 1, newest 4 and 5',
      );
      assert.deepEqual(
        [...aws.alarms.keys()]
          .map((name) => name.replace(`sluice-${FUNCTION}-`, ''))
          .filter((name) => name.endsWith('-errors') && !name.includes('model')),
        ['1-errors', '4-errors', '5-errors'],
      );
      assert.deepEqual((await tick()).pruned.iris?.deletedVersions, [], 'nothing more to delete');
    });

    it("deletes the alarms of versions that no longer exist (deleted outside sluice), and keeps every existing version's", async () => {
      const published = aws.publish();
      await targetOf().ensureVersionAlarms('iris', 1, published);
      assert.equal(aws.alarms.size, 10);
      aws.versions.splice(aws.versions.indexOf(published), 1);
      const { pruned } = await tick();
      assert.deepEqual(pruned.iris?.deletedVersions, []);
      assert.equal(pruned.iris?.deletedAlarms.length, 5);
      assert.deepEqual([...aws.alarms.keys()].map((name) => name.replace(`sluice-${FUNCTION}-`, '')).sort(), [
        '1-errors',
        '1-invalid-outputs',
        '1-model-errors',
        '1-p99',
        '1-rejected-inputs',
      ]);
    });

    it('the driver deletes nothing of a model with a rollout in progress', async () => {
      for (let count = 0; count < 4; count++) aws.publish();
      const build = cloudFormationPublishes(v2);
      await onReleaseEvent(request('Update', props(v2, build), props(v1, '1')), release);
      const { pruned } = await tick();
      assert.equal(pruned.iris, undefined);
      assert.equal(aws.sequence().includes('DeleteFunction'), false);
    });
  });
});
