import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { VersionNotFoundError } from '../../lib/core/errors/model-errors.js';
import type { GoldenCheckResult } from '../../lib/core/golden/run-golden-check.js';
import { WaitReason } from '../../lib/core/rollout/decide.js';
import { DEFAULT_MIN_REQUESTS, planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { RolloutConflictError } from '../../lib/core/rollout/RolloutConflictError.js';
import { RolloutError } from '../../lib/core/rollout/RolloutError.js';
import type { RolloutPlan } from '../../lib/core/rollout/RolloutPlan.js';
import { RolloutAction, type RolloutState, RolloutStatus } from '../../lib/core/rollout/RolloutState.js';
import type {
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  RolloutTarget,
  Routing,
} from '../../lib/core/rollout/RolloutTarget.js';
import { rolloutKey } from '../../lib/core/rollout/rollout-layout.js';
import {
  initialState,
  rollback as rollbackState,
  startRollout,
  WATCH_MS,
} from '../../lib/core/rollout/rollout-transitions.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { driveRollouts } from '../../lib/rollout/drive-rollouts.js';
import { followRollout } from '../../lib/rollout/follow-rollout.js';
import { EngineRolloutControl } from '../../lib/rollout/RolloutControl.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { KEPT_REVISIONS, RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';
import { identityModel } from '../fixtures/models.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;

/** One call the engine made on the target. */
type TargetCall =
  | { method: 'health'; model: string; candidate: number; query: HealthQuery }
  | { method: 'prepare' | 'checkGolden'; model: string; version: number; build?: string | undefined }
  | { method: 'route'; model: string; routing: Routing };

/**
 * A {@link RolloutTarget} that records what the engine asks of it: the alias it would set, and health and
 * golden results set by the test. Our own interface, so a fake is the honest double.
 */
class RecordingTarget implements RolloutTarget {
  readonly calls: TargetCall[] = [];
  /** The routing last applied per model, as the alias would hold it. */
  readonly routing = new Map<string, Routing>();
  reportedHealth: HealthReport = {
    verdict: 'healthy',
    reasons: ['error rate 0.0%'],
    candidateRequests: DEFAULT_MIN_REQUESTS,
  };
  /** The build `prepare` answers with (AWS: a Lambda version); none by default, as locally. */
  build: string | undefined;
  golden: GoldenCheckResult = { passed: true, examples: 1, failures: [] };
  /** When set, the next route to this candidate fails as if the process died before it. */
  crashBeforeRoutingTo: number | undefined;
  /** When set, routes wait until this many are waiting: racing commands then act on the same state. */
  routeBarrier: number | undefined;
  /** When set, runs once inside the next route to this candidate, before it lands: another writer mid-route. */
  duringRouteTo: { readonly candidate: number; readonly run: () => Promise<void> } | undefined;
  readonly #waitingRoutes: Array<() => void> = [];

  async prepare(model: string, version: number): Promise<PreparedVersion> {
    this.calls.push({ method: 'prepare', model, version });
    return this.build === undefined ? { version } : { version, build: this.build };
  }

  async checkGolden(model: string, version: number, build?: string): Promise<GoldenCheckResult> {
    this.calls.push({ method: 'checkGolden', model, version, ...(build === undefined ? {} : { build }) });
    return this.golden;
  }

  async route(model: string, routing: Routing): Promise<void> {
    if (this.routeBarrier !== undefined) {
      const barrier = this.routeBarrier;
      await new Promise<void>((resolve) => {
        this.#waitingRoutes.push(resolve);
        if (this.#waitingRoutes.length >= barrier) {
          this.routeBarrier = undefined;
          for (const release of this.#waitingRoutes.splice(0)) release();
        }
      });
    }
    const during = this.duringRouteTo;
    if (during && routing.candidate === during.candidate) {
      this.duringRouteTo = undefined;
      await during.run();
    }
    if (routing.candidate !== undefined && routing.candidate === this.crashBeforeRoutingTo) {
      this.crashBeforeRoutingTo = undefined;
      throw new Error('killed before routing');
    }
    this.calls.push({ method: 'route', model, routing });
    this.routing.set(model, routing);
  }

  async health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport> {
    this.calls.push({ method: 'health', model, candidate, query });
    return this.reportedHealth;
  }

  /** Writes the engine made: routes. */
  routes(model: string): number {
    return this.calls.filter((call) => call.method === 'route' && call.model === model).length;
  }

  /** The engine never asks for the observed split (only `sluice status` does): a call fails the test. */
  async traffic(model: string): Promise<ObservedTraffic> {
    throw new Error(`the engine asked for the traffic of ${model}`);
  }

  /** Every weight the candidate was routed, in order, dropping repeats (reconcile re-routes the same). */
  weights(model: string): number[] {
    const weights = this.calls.flatMap((call) =>
      call.method === 'route' && call.model === model ? [call.routing.weight] : [],
    );
    return weights.filter((weight, index) => index === 0 || weight !== weights[index - 1]);
  }
}

/** A clock that only moves when the test (or a follower's sleep) moves it. */
class FakeClock {
  nowMs = T0;
  readonly now = (): number => this.nowMs;
  readonly sleep = async (ms: number): Promise<void> => {
    this.nowMs += ms;
  };
}

describe('Rollouts against the embedded S3 store', () => {
  let directory: string;
  let objectStore: LocalObjectStore;
  let client: S3Client;
  let registry: ModelRegistry;
  let store: RolloutStore;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'sluice-rollout-'));
    objectStore = await LocalObjectStore.start({ directory, port: 0 });
    client = objectStore.createClient();
    registry = new ModelRegistry({
      store: new S3ObjectStore({ client, bucket: objectStore.bucket }),
    });
    store = new RolloutStore({ store: new S3ObjectStore({ client, bucket: objectStore.bucket }) });
  });

  after(async () => {
    await objectStore.stop();
    await rm(directory, { recursive: true, force: true });
  });

  /** Publishes `count` more versions of a model. */
  async function publishVersions(model: string, count: number): Promise<void> {
    for (let published = 0; published < count; published++) {
      await publishVersion(registry, { name: model, model: identityModel('FP32') });
    }
  }

  /** An engine as one process (a CLI, a driver) would build it. */
  function engineFor(target: RolloutTarget, clock: FakeClock, actor = 'cli'): RolloutEngine {
    return new RolloutEngine({ store, target, registry, actor, now: clock.now });
  }

  /** One driver tick at the clock's time, as the local stack's timer or the scheduler runs it. */
  async function tick(target: RolloutTarget, clock: FakeClock, model: string) {
    const [outcome] = await driveRollouts({
      engine: engineFor(target, clock, 'driver'),
      store,
      models: [model],
    });
    return outcome;
  }

  /** A model with v1 deployed as stable and v2 published, ready to roll out. */
  async function modelWithStableV1(model: string, versions = 2) {
    await publishVersions(model, 1);
    const target = new RecordingTarget();
    const clock = new FakeClock();
    const engine = engineFor(target, clock);
    await engine.deploy(model, { version: 1, plan: planRollout({ strategy: 'canary' }) });
    await publishVersions(model, versions - 1);
    return { target, clock, engine };
  }

  describe('Undo after a promotion: a rollback reverts it, and the watch window reverts it on its own', () => {
    /** v1 stable, v2 promoted by the driver at the end of an all-at-once bake. */
    async function promotedV2(model: string) {
      const setup = await modelWithStableV1(model);
      await setup.engine.deploy(model, { version: 2, plan: planRollout({ strategy: 'all-at-once' }) });
      setup.clock.nowMs += 10 * MINUTE;
      const outcome = await tick(setup.target, setup.clock, model);
      assert.equal(outcome?.kind === 'stepped' && outcome.decision.kind, 'promote');
      return setup;
    }

    it('sluice rollback after a promotion sends everything back to the version it replaced, at once, with the reason', async () => {
      const model = 'undo-by-hand';
      const { target, clock, engine } = await promotedV2(model);
      clock.nowMs += WATCH_MS + MINUTE;
      const control = new EngineRolloutControl({ engine, target, current: (name) => store.current(name) });
      const state = await control.rollback(model, 'wrong labels for a client');
      assert.deepEqual([state.status, state.stable, state.weight], ['idle', 1, 0]);
      assert.deepEqual(target.routing.get(model), { stable: 1, weight: 0 });
      const event = state.history.at(-1);
      assert.deepEqual([event?.action, event?.actor, event?.candidate], ['rollback', 'cli', 2]);
      assert.match(
        event?.reason ?? '',
        /^reverted the promotion of v2 \(2026-01-01T00:10:00\.000Z\): wrong labels/,
      );
      // Once reverted there is nothing left to undo; the engine alone (an alarm, a release) never reverts.
      await assert.rejects(control.rollback(model, 'again'), /v1 did not come from a promotion/);
    });

    it('within the watch window an unhealthy new stable version is reverted by the driver; after it, never', async () => {
      const model = 'undo-watched';
      const { target, clock } = await promotedV2(model);
      // Healthy for a while: the driver judges v2 alone, since the promotion, and changes nothing.
      clock.nowMs += MINUTE;
      const quiet = await tick(target, clock, model);
      assert.equal(quiet?.kind === 'stepped' && quiet.decision.kind, 'idle');
      const judged = target.calls.filter((call) => call.method === 'health').at(-1);
      assert.deepEqual(judged?.method === 'health' && [judged.candidate, judged.query.minRequests], [2, 0]);
      // Then it breaches a gate: the promotion is reverted at once.
      target.reportedHealth = { verdict: 'unhealthy', reasons: ['error rate 30.0% (6 of 20 requests)'] };
      clock.nowMs += MINUTE;
      const reverted = await tick(target, clock, model);
      assert.equal(reverted?.kind === 'stepped' && reverted.decision.kind, 'rollback');
      const state = await store.current(model);
      assert.equal(state?.stable, 1);
      assert.match(
        state?.history.at(-1)?.reason ?? '',
        /watch window after the promotion: error rate 30\.0%/,
      );
      assert.deepEqual(target.routing.get(model), { stable: 1, weight: 0 });
    });

    it('ends the watch window after WATCH_MS: the driver reads the state and asks nothing more', async () => {
      const model = 'undo-expired';
      const { target, clock } = await promotedV2(model);
      target.reportedHealth = { verdict: 'unhealthy', reasons: ['late'] };
      clock.nowMs += WATCH_MS + MINUTE;
      const calls = target.calls.length;
      const outcome = await tick(target, clock, model);
      assert.equal(outcome?.kind, 'idle');
      assert.equal(target.calls.length, calls);
      assert.equal((await store.current(model))?.stable, 2);
    });
  });

  describe('RolloutStore: durable revisions, the last few kept', () => {
    it('has no state for a model sluice never deployed', async () => {
      assert.equal(await store.current('never-deployed'), undefined);
      assert.deepEqual(await store.history('never-deployed'), []);
    });

    it('stores each revision under rollouts/NAME/, zero-padded, and reads back the highest', async () => {
      const first = startRollout(initialState('store-basics', 1), {
        model: 'store-basics',
        candidate: 2,
        plan: planRollout({ strategy: 'canary' }),
        actor: 'cli',
        now: T0,
      });
      await store.write(first);
      assert.equal(rolloutKey('store-basics', 1), 'rollouts/store-basics/0000000001.json');
      assert.deepEqual(await store.current('store-basics'), first);
      assert.equal((await store.history('store-basics')).length, 1);
    });

    it('of two writers of the same next revision, exactly one wins; the other gets RolloutConflictError', async () => {
      const model = 'store-race';
      const base = await store.write({ ...initialState(model, 1, T0), revision: 1 });
      const plan = planRollout({ strategy: 'canary' });
      const writers = [2, 3, 4, 5].map((candidate) =>
        store.write(startRollout(base, { model, candidate, plan, actor: `writer-${candidate}`, now: T0 })),
      );
      const results = await Promise.allSettled(writers);
      const winners = results.filter((result) => result.status === 'fulfilled');
      assert.equal(winners.length, 1);
      for (const result of results) {
        if (result.status === 'rejected') {
          assert.ok(result.reason instanceof RolloutConflictError, String(result.reason));
          assert.equal(
            result.reason.message,
            'another command changed the rollout of store-race at the same time; run `sluice status store-race` and retry',
          );
        }
      }
      const current = await store.current(model);
      assert.equal(current?.revision, 2);
      assert.deepEqual(current, winners[0]?.status === 'fulfilled' ? winners[0].value : undefined);
    });

    it('keeps only the last revisions, so reading the current state never lists every revision ever written', async () => {
      const model = 'store-retention';
      const kept = 3;
      const paged = new RolloutStore({
        store: new S3ObjectStore({ client, bucket: objectStore.bucket, listPageSize: 2 }),
        keptRevisions: kept,
      });
      let state: RolloutState = { ...initialState(model, 1, T0), revision: 0 };
      for (let revision = 1; revision <= 9; revision++) {
        state = await paged.write({ ...state, revision, updatedAt: new Date(T0 + revision).toISOString() });
      }
      assert.equal((await paged.current(model))?.revision, 9);
      const listing = await client.send(
        new ListObjectsV2Command({ Bucket: objectStore.bucket, Prefix: `rollouts/${model}/` }),
      );
      assert.deepEqual(
        (listing.Contents ?? []).map((object) => object.Key),
        [7, 8, 9].map((revision) => rolloutKey(model, revision)),
      );
      assert.equal(KEPT_REVISIONS, 50, 'the default keeps 50');
    });

    it('sweeps revisions left beyond the retention (written before it, or a failed delete) when reading', async () => {
      const model = 'store-sweep';
      const unbounded = new RolloutStore({
        store: new S3ObjectStore({ client, bucket: objectStore.bucket }),
        keptRevisions: 100,
      });
      let state: RolloutState = { ...initialState(model, 1, T0), revision: 0 };
      for (let revision = 1; revision <= 6; revision++) state = await unbounded.write({ ...state, revision });
      const bounded = new RolloutStore({
        store: new S3ObjectStore({ client, bucket: objectStore.bucket }),
        keptRevisions: 2,
      });
      assert.equal((await bounded.current(model))?.revision, 6);
      const listing = await client.send(
        new ListObjectsV2Command({ Bucket: objectStore.bucket, Prefix: `rollouts/${model}/` }),
      );
      assert.equal(listing.KeyCount, 2);
    });

    it('refuses to store a state that does not match the schema', async () => {
      const invalid = { ...initialState('store-invalid', 1, T0), revision: 1, weight: 140 };
      await assert.rejects(store.write(invalid), RolloutError);
      assert.equal(await store.current('store-invalid'), undefined);
    });
  });

  describe('RolloutEngine.deploy: golden check and refusals before any traffic, then the first step', () => {
    it("deploys a model's first version directly as stable", async () => {
      await publishVersions('first-deploy', 1);
      const target = new RecordingTarget();
      const engine = engineFor(target, new FakeClock());
      const state = await engine.deploy('first-deploy', {
        version: 1,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.equal(state.status, RolloutStatus.IDLE);
      assert.equal(state.stable, 1);
      assert.deepEqual(target.routing.get('first-deploy'), { stable: 1, weight: 0 });
      assert.deepEqual(
        target.calls.filter((call) => call.method === 'checkGolden'),
        [{ method: 'checkGolden', model: 'first-deploy', version: 1 }],
      );
    });

    it('drops the shadow phase on a target that cannot run one, and says so in the deploy', async () => {
      const { target, engine } = await modelWithStableV1('no-shadows');
      const state = await engine.deploy('no-shadows', {
        version: 2,
        plan: planRollout({ strategy: 'canary', shadowPercent: 10 }),
      });
      assert.deepEqual([state.phase, state.weight, state.plan?.shadowPercent], [undefined, 10, 0]);
      assert.deepEqual(target.routing.get('no-shadows'), { stable: 1, candidate: 2, weight: 10 });
      assert.match(
        state.history.at(-1)?.reason ?? '',
        /no shadow phase: this target cannot run one, so the 10% asked for was dropped/,
      );
    });

    it('rolls a model sluice never deployed out from the newest other published version', async () => {
      await publishVersions('never-routed', 3);
      const target = new RecordingTarget();
      const state = await engineFor(target, new FakeClock()).deploy('never-routed', {
        version: 2,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.deepEqual(target.routing.get('never-routed'), { stable: 3, candidate: 2, weight: 10 });
      assert.equal(state.revision, 1);
    });

    it('rolls out from the version and build the target serves when it knows one, not the newest', async () => {
      await publishVersions('on-aws', 3);
      const target = Object.assign(new RecordingTarget(), {
        servedVersion: async (model: string) => {
          assert.equal(model, 'on-aws');
          return { version: 1, build: '4' };
        },
      });
      target.build = '7';
      const state = await engineFor(target, new FakeClock()).deploy('on-aws', {
        version: 2,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.deepEqual(target.routing.get('on-aws'), {
        stable: 1,
        stableBuild: '4',
        candidate: 2,
        candidateBuild: '7',
        weight: 10,
      });
      assert.deepEqual([state.stable, state.stableBuild, state.candidateBuild], [1, '4', '7']);
      assert.deepEqual(
        target.calls.find((call) => call.method === 'checkGolden'),
        { method: 'checkGolden', model: 'on-aws', version: 2, build: '7' },
        'the golden examples run against the build that gets the traffic',
      );
    });

    it('rolls the stable model version out in a new build (a code-only change) and promotes the build', async () => {
      const { target, clock, engine } = await modelWithStableV1('code-only', 1);
      target.build = 'b2';
      const state = await engine.deploy('code-only', {
        version: 1,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.deepEqual(target.routing.get('code-only'), {
        stable: 1,
        candidate: 1,
        candidateBuild: 'b2',
        weight: 10,
      });
      clock.nowMs = Date.parse(state.stepStartedAt ?? '') + 5 * MINUTE;
      await tick(target, clock, 'code-only');
      assert.deepEqual(target.routing.get('code-only'), { stable: 1, stableBuild: 'b2', weight: 0 });
      await assert.rejects(
        engine.deploy('code-only', { version: 1, build: 'b2', plan: planRollout({ strategy: 'canary' }) }),
        /v1 \(build b2\) is already the stable version of code-only; there is nothing to roll out/,
      );
    });

    it('a version failing its golden examples never gets traffic, and the failure is in the history', async () => {
      const { target, engine } = await modelWithStableV1('golden-fails');
      target.golden = {
        passed: false,
        examples: 2,
        failures: ['example 2: output "y" [0] expected 1, got 7'],
      };

      await assert.rejects(
        engine.deploy('golden-fails', { version: 2, plan: planRollout({ strategy: 'canary' }) }),
        (error: unknown) =>
          error instanceof RolloutError &&
          /v2 of golden-fails failed its golden examples and gets no traffic/.test(error.message) &&
          error.message.includes('expected 1, got 7'),
      );

      const routedToCandidate = target.calls.some(
        (call) => call.method === 'route' && call.routing.candidate === 2,
      );
      assert.equal(routedToCandidate, false);
      const state = await store.current('golden-fails');
      assert.equal(state?.status, RolloutStatus.IDLE);
      assert.equal(state?.stable, 1);
      assert.equal(state?.history.at(-1)?.action, RolloutAction.GOLDEN_FAILED);
      assert.equal(state?.history.at(-1)?.candidate, 2);
    });

    it('refuses a candidate that is unhealthy before getting any traffic (an alarm still in ALARM)', async () => {
      const { target, engine } = await modelWithStableV1('still-alarming');
      target.reportedHealth = { verdict: 'unhealthy', reasons: ['sluice-fn-6-errors is ALARM: 3 errors'] };
      await assert.rejects(
        engine.deploy('still-alarming', { version: 2, plan: planRollout({ strategy: 'canary' }) }),
        /v2 of still-alarming is unhealthy before getting any traffic \(sluice-fn-6-errors is ALARM: 3 errors\); it gets none/,
      );
      assert.deepEqual(target.routing.get('still-alarming'), { stable: 1, weight: 0 });
      const state = await store.current('still-alarming');
      assert.equal(state?.status, RolloutStatus.IDLE);
      assert.deepEqual(
        [state?.history.at(-1)?.action, state?.history.at(-1)?.candidate, state?.history.at(-1)?.weight],
        [RolloutAction.REFUSED, 2, 0],
        'the refusal is in the history',
      );
    });

    it('refuses a second rollout while one is in progress; deploying the same version resumes it', async () => {
      const { engine } = await modelWithStableV1('one-at-a-time', 3);
      const plan = planRollout({ strategy: 'canary' });
      const started = await engine.deploy('one-at-a-time', { version: 2, plan });
      await assert.rejects(
        engine.deploy('one-at-a-time', { version: 3, plan }),
        /a rollout of one-at-a-time \(v1 -> v2\) is in progress; run `sluice promote one-at-a-time`/,
      );
      assert.deepEqual(await engine.deploy('one-at-a-time', { version: 2, plan }), started);
    });

    it('refuses a version the registry does not have', async () => {
      const { engine } = await modelWithStableV1('missing-version');
      await assert.rejects(
        engine.deploy('missing-version', { version: 9, plan: planRollout({ strategy: 'canary' }) }),
        VersionNotFoundError,
      );
    });
  });

  describe('driveRollouts: the unattended path, one engine step per tick', () => {
    it('a canary takes 10 %, bakes 5 minutes, and is promoted by the driver with no command running', async () => {
      const { target, clock, engine } = await modelWithStableV1('canary-promotes');
      await engine.deploy('canary-promotes', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      assert.deepEqual(target.routing.get('canary-promotes'), { stable: 1, candidate: 2, weight: 10 });

      clock.nowMs += 5 * MINUTE - 1;
      const early = await tick(target, clock, 'canary-promotes');
      assert.equal(early?.kind === 'stepped' && early.decision.kind, 'wait', 'not before the bake ends');
      clock.nowMs += 1;
      const due = await tick(target, clock, 'canary-promotes');
      assert.equal(due?.kind === 'stepped' && due.decision.kind, 'promote');

      const final = await store.current('canary-promotes');
      assert.equal(final?.status, RolloutStatus.IDLE);
      assert.equal(final?.stable, 2);
      assert.equal(final?.history.at(-1)?.actor, 'driver');
      assert.deepEqual(target.routing.get('canary-promotes'), { stable: 2, weight: 0 });
      const query = target.calls.findLast((call) => call.method === 'health');
      assert.equal(
        query?.method === 'health' && query.query.sinceMs,
        Date.parse(final?.history.at(-2)?.at ?? ''),
        'evidence is counted from the start of the step',
      );
    });

    it('a linear rollout routes every step of its plan, each after its bake, then promotes', async () => {
      const { target, clock, engine } = await modelWithStableV1('linear-steps');
      await engine.deploy('linear-steps', {
        version: 2,
        plan: planRollout({ strategy: 'linear', weight: 25, intervalMs: MINUTE }),
      });
      for (let bake = 0; bake < 4; bake++) {
        clock.nowMs += MINUTE;
        await tick(target, clock, 'linear-steps');
      }
      assert.deepEqual(target.weights('linear-steps'), [0, 25, 50, 75, 0]);
      assert.deepEqual(target.routing.get('linear-steps'), { stable: 2, weight: 0 });
    });

    it('a candidate with too few requests is never promoted by the clock alone: the bake is extended and says why', async () => {
      const { target, clock, engine } = await modelWithStableV1('no-evidence');
      target.reportedHealth = { verdict: 'healthy', reasons: ['error rate 0.0%'], candidateRequests: 3 };
      await engine.deploy('no-evidence', {
        version: 2,
        plan: planRollout({ strategy: 'canary', intervalMs: MINUTE }),
      });
      for (const hours of [1, 24]) {
        clock.nowMs = T0 + hours * 60 * MINUTE;
        const outcome = await tick(target, clock, 'no-evidence');
        assert.ok(outcome?.kind === 'stepped' && outcome.decision.kind === 'wait');
        assert.equal(outcome.decision.why, WaitReason.EVIDENCE);
        assert.match(
          outcome.decision.detail ?? '',
          /bake extended: v2 answered 3 of the 20 requests a step needs/,
        );
      }
      const report = await engineFor(target, clock).status('no-evidence');
      assert.ok(report.decision.kind === 'wait' && report.decision.why === WaitReason.EVIDENCE);

      target.reportedHealth = { verdict: 'healthy', reasons: [], candidateRequests: undefined };
      const unknownCount = await tick(target, clock, 'no-evidence');
      assert.ok(unknownCount?.kind === 'stepped' && unknownCount.decision.kind === 'wait');
      assert.match(unknownCount.decision.detail ?? '', /no request count is available/);

      target.reportedHealth = { verdict: 'healthy', reasons: [], candidateRequests: DEFAULT_MIN_REQUESTS };
      const enough = await tick(target, clock, 'no-evidence');
      assert.equal(enough?.kind === 'stepped' && enough.decision.kind, 'promote');
    });

    it('unknown health with enough requests extends the bake too: missing data is not health', async () => {
      const { target, clock, engine } = await modelWithStableV1('low-traffic');
      target.reportedHealth = {
        verdict: 'unknown',
        reasons: ['alarms in INSUFFICIENT_DATA'],
        candidateRequests: 500,
      };
      await engine.deploy('low-traffic', {
        version: 2,
        plan: planRollout({ strategy: 'canary', intervalMs: MINUTE }),
      });
      clock.nowMs += 10 * MINUTE;
      const outcome = await tick(target, clock, 'low-traffic');
      assert.ok(outcome?.kind === 'stepped' && outcome.decision.kind === 'wait');
      assert.equal(outcome.decision.why, WaitReason.UNKNOWN_HEALTH);
      assert.equal((await store.current('low-traffic'))?.weight, 10);
    });

    it('waits for delayed metrics to cover the end of the bake before taking the step', async () => {
      const { target, clock, engine } = await modelWithStableV1('settling');
      const deployed = await engine.deploy('settling', {
        version: 2,
        plan: planRollout({ strategy: 'canary', intervalMs: MINUTE }),
      });
      const bakeEnd = Date.parse(deployed.stepStartedAt ?? '') + MINUTE;
      clock.nowMs = bakeEnd + MINUTE;
      target.reportedHealth = { ...target.reportedHealth, settledUntilMs: clock.nowMs - 3 * MINUTE };
      const settling = await tick(target, clock, 'settling');
      assert.ok(settling?.kind === 'stepped' && settling.decision.kind === 'wait');
      assert.equal(settling.decision.why, WaitReason.SETTLING);
      assert.equal(settling.decision.untilMs, clock.nowMs + 2 * MINUTE);
      clock.nowMs += 2 * MINUTE;
      target.reportedHealth = { ...target.reportedHealth, settledUntilMs: bakeEnd };
      const settled = await tick(target, clock, 'settling');
      assert.equal(settled?.kind === 'stepped' && settled.decision.kind, 'promote');
    });

    it('an unhealthy candidate is rolled back at the next tick, bake or not; the stable version takes everything', async () => {
      const { target, clock, engine } = await modelWithStableV1('unhealthy');
      await engine.deploy('unhealthy', { version: 2, plan: planRollout({ strategy: 'linear' }) });
      target.reportedHealth = { verdict: 'unhealthy', reasons: ['unhealthy-v2-errors ALARM'] };
      await tick(target, clock, 'unhealthy');
      const final = await store.current('unhealthy');
      assert.equal(final?.status, RolloutStatus.IDLE);
      assert.equal(final?.stable, 1);
      assert.equal(final?.candidate, undefined);
      assert.deepEqual(target.routing.get('unhealthy'), { stable: 1, weight: 0 });
      assert.equal(final?.history.at(-1)?.action, RolloutAction.ROLLBACK);
      assert.match(final?.history.at(-1)?.reason ?? '', /v2 is unhealthy: unhealthy-v2-errors ALARM/);
    });

    it('a manual rollout is never moved by the driver; promote moves it to a weight, then to the end', async () => {
      const { target, clock, engine } = await modelWithStableV1('manual');
      await engine.deploy('manual', { version: 2, plan: planRollout({ strategy: 'manual', weight: 5 }) });
      clock.nowMs += 24 * 60 * MINUTE;
      const outcome = await tick(target, clock, 'manual');
      assert.ok(outcome?.kind === 'stepped' && outcome.decision.kind === 'wait');
      assert.equal(outcome.decision.why, WaitReason.MANUAL);
      assert.deepEqual(target.routing.get('manual'), { stable: 1, candidate: 2, weight: 5 });

      await engine.promote('manual', { weight: 50 });
      assert.deepEqual(target.routing.get('manual'), { stable: 1, candidate: 2, weight: 50 });
      const promoted = await engine.promote('manual');
      assert.equal(promoted.stable, 2);
      assert.deepEqual(target.routing.get('manual'), { stable: 2, weight: 0 });
    });

    it('idle models cost one state read and no health query', async () => {
      const { target, clock } = await modelWithStableV1('idle-model');
      const calls = target.calls.length;
      const outcome = await tick(target, clock, 'idle-model');
      assert.equal(outcome.kind, 'idle');
      // The state it read comes with the outcome, so pruning after the tick reads it no second time.
      assert.deepEqual(outcome.kind === 'idle' ? [outcome.state?.stable, outcome.state?.status] : [], [
        1,
        'idle',
      ]);
      assert.equal(target.calls.length, calls);
    });

    it('one model failing does not stop the others; the failure is reported', async () => {
      const { target, clock, engine } = await modelWithStableV1('drive-ok');
      await engine.deploy('drive-ok', { version: 2, plan: planRollout({ strategy: 'all-at-once' }) });
      const failing: Pick<RolloutStore, 'current'> = {
        current: async (model) => {
          if (model === 'drive-broken') throw new Error('store down');
          return store.current(model);
        },
      };
      const outcomes = await driveRollouts({
        engine: engineFor(target, clock, 'driver'),
        store: failing,
        models: ['drive-broken', 'drive-ok'],
      });
      assert.equal(outcomes[0]?.kind, 'failed');
      assert.equal(outcomes[1]?.kind === 'stepped' && outcomes[1].decision.kind, 'promote');
    });
  });

  describe('Commands beside the driver', () => {
    it('rollback by hand: weight 0, stable unchanged, and the reason recorded', async () => {
      const { target, engine } = await modelWithStableV1('manual-rollback');
      await engine.deploy('manual-rollback', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      const state = await engine.rollback('manual-rollback', 'latency looks off');
      assert.deepEqual(target.routing.get('manual-rollback'), { stable: 1, weight: 0 });
      assert.equal(state.history.at(-1)?.reason, 'latency looks off');
      await assert.rejects(
        engine.rollback('manual-rollback', 'again'),
        /no rollout of manual-rollback is in progress/,
      );
    });

    it('status only reads: a due step is reported, not taken, and nothing is routed', async () => {
      const { target, clock, engine } = await modelWithStableV1('status-reads');
      await engine.deploy('status-reads', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      clock.nowMs += 5 * MINUTE;
      const routes = target.routes('status-reads');
      const report = await engineFor(target, clock).status('status-reads');
      assert.equal(report.decision.kind, 'promote');
      assert.equal(report.state?.status, RolloutStatus.ROLLING);
      assert.equal(report.state?.revision, (await store.current('status-reads'))?.revision);
      assert.equal(target.routes('status-reads'), routes);
    });

    it('a command killed between writing a state and routing it is repaired by the next one (the driver)', async () => {
      const { target, clock } = await modelWithStableV1('crash-recovery');
      target.crashBeforeRoutingTo = 2;
      await assert.rejects(
        engineFor(target, clock).deploy('crash-recovery', {
          version: 2,
          plan: planRollout({ strategy: 'canary' }),
        }),
        /killed before routing/,
      );
      assert.equal((await store.current('crash-recovery'))?.weight, 10, 'the state was written');
      assert.deepEqual(target.routing.get('crash-recovery'), { stable: 1, weight: 0 }, 'but not routed');
      await tick(target, clock, 'crash-recovery');
      assert.deepEqual(target.routing.get('crash-recovery'), { stable: 1, candidate: 2, weight: 10 });
    });

    it('ends on the newest routing when another writer (the alarm rollback) acts while this command routes', async () => {
      const { target, engine } = await modelWithStableV1('routed-late');
      target.duringRouteTo = {
        candidate: 2,
        run: async () => {
          const rolling = await store.current('routed-late');
          assert.equal(rolling?.status, RolloutStatus.ROLLING);
          if (!rolling) return;
          await store.write(rollbackState(rolling, { reason: 'alarm', actor: 'alarm', now: T0 }));
          target.routing.set('routed-late', { stable: 1, weight: 0 });
        },
      };
      await engine.deploy('routed-late', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      assert.deepEqual(
        target.routing.get('routed-late'),
        { stable: 1, weight: 0 },
        'the rollback routing stands',
      );
      assert.equal((await store.current('routed-late'))?.status, RolloutStatus.IDLE);
    });

    it('two commands acting at once: one applies, the other gets RolloutConflictError', async () => {
      const { target, clock } = await modelWithStableV1('racing-commands');
      const plan: RolloutPlan = planRollout({ strategy: 'manual' });
      await engineFor(target, clock).deploy('racing-commands', { version: 2, plan });
      target.routeBarrier = 2;
      const results = await Promise.allSettled([
        engineFor(target, clock, 'alice').promote('racing-commands'),
        engineFor(target, clock, 'alarm').rollback('racing-commands', 'error alarm'),
      ]);
      const rejected = results.filter((result) => result.status === 'rejected');
      assert.equal(rejected.length, 1);
      assert.ok(rejected[0]?.status === 'rejected' && rejected[0].reason instanceof RolloutConflictError);
      const state = await store.current('racing-commands');
      assert.equal(state?.status, RolloutStatus.IDLE);
    });

    it('a tick decides on the newest state: a step taken by hand restarts the bake, and the driver waits it out', async () => {
      const { target, clock, engine } = await modelWithStableV1('driver-race');
      await engine.deploy('driver-race', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      clock.nowMs += 5 * MINUTE;
      const byHand = await engineFor(target, clock, 'alice').promote('driver-race', { weight: 50 });
      const outcome = await tick(target, clock, 'driver-race');
      assert.ok(outcome?.kind === 'stepped' && outcome.decision.kind === 'wait');
      assert.equal(outcome.decision.why, WaitReason.BAKING);
      assert.equal((await store.current('driver-race'))?.revision, byHand.revision);
      assert.deepEqual(target.routing.get('driver-race'), { stable: 1, candidate: 2, weight: 50 });
    });
  });

  describe('followRollout: what `sluice deploy` prints while the drivers carry the rollout', () => {
    it('reports every event as it is recorded and returns the final state; it never acts', async () => {
      const { target, clock, engine } = await modelWithStableV1('followed');
      const started = await engine.deploy('followed', {
        version: 2,
        plan: planRollout({ strategy: 'linear', weight: 25, intervalMs: MINUTE }),
      });
      const events: string[] = [];
      const waits: string[] = [];
      const followerTarget = new RecordingTarget();
      const final = await followRollout({
        control: engineFor(followerTarget, clock, 'follower'),
        model: 'followed',
        fromRevision: started.revision,
        pollIntervalMs: 30_000,
        onEvent: (event) => events.push(`${event.action} ${event.weight} ${event.actor}`),
        onWait: (decision) => waits.push(decision.why),
        // Between two reads the driver ticks, as the local stack or the scheduler would.
        sleep: async (ms) => {
          clock.nowMs += ms;
          await tick(target, clock, 'followed');
        },
      });
      assert.equal(final.stable, 2);
      assert.deepEqual(events, ['step 50 driver', 'step 75 driver', 'promote 100 driver']);
      assert.ok(waits.includes(WaitReason.BAKING));
      assert.equal(followerTarget.routes('followed'), 0, 'following never routes');
    });

    it('refuses to follow a manual rollout, which has no end on its own', async () => {
      const { target, clock, engine } = await modelWithStableV1('followed-manual');
      const started = await engine.deploy('followed-manual', {
        version: 2,
        plan: planRollout({ strategy: 'manual' }),
      });
      await assert.rejects(
        followRollout({
          control: engineFor(target, clock),
          model: 'followed-manual',
          fromRevision: started.revision,
          pollIntervalMs: 1,
          onEvent: () => {},
          sleep: clock.sleep,
        }),
        /the rollout of followed-manual is manual/,
      );
    });
  });
});
