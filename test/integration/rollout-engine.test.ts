import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { VersionNotFoundError } from '../../lib/errors/index.js';
import type { GoldenCheckResult } from '../../lib/inference/check-golden-examples.js';
import { LocalObjectStore } from '../../lib/local/index.js';
import { ModelRegistry } from '../../lib/registry/index.js';
import {
  type HealthReport,
  initialState,
  type ObservedTraffic,
  planRollout,
  promote as promoteState,
  RolloutAction,
  RolloutConflictError,
  RolloutEngine,
  RolloutError,
  type RolloutPlan,
  type RolloutState,
  RolloutStatus,
  RolloutStore,
  type RolloutTarget,
  type Routing,
  rollback as rollbackState,
  rolloutKey,
  startRollout,
} from '../../lib/rollout/index.js';
import { identityModel } from '../fixtures/models.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;

/** One call the engine made on the target. */
type TargetCall =
  | { method: 'assertExclusive' | 'health'; model: string }
  | { method: 'prepare' | 'checkGolden'; model: string; version: number }
  | { method: 'route'; model: string; routing: Routing };

/**
 * A {@link RolloutTarget} that records what the engine asks of it: the alias it would set, and health and
 * golden results set by the test. Our own interface, so a fake is the honest double.
 */
class RecordingTarget implements RolloutTarget {
  readonly calls: TargetCall[] = [];
  /** The routing last applied per model, as the alias would hold it. */
  readonly routing = new Map<string, Routing>();
  reportedHealth: HealthReport = { verdict: 'healthy', reasons: ['error rate 0.0%'] };
  golden: GoldenCheckResult = { passed: true, examples: 1, failures: [] };
  /** When set, the next route to this candidate fails as if the process died before it. */
  crashBeforeRoutingTo: number | undefined;
  /** When set, assertExclusive refuses with it, as when CodeDeploy moves the alias. */
  busy: string | undefined;
  /** When set, routes wait until this many are waiting: racing commands then act on the same state. */
  routeBarrier: number | undefined;
  /** When set, runs once inside the next route to this candidate, before it lands: another writer mid-route. */
  duringRouteTo: { readonly candidate: number; readonly run: () => Promise<void> } | undefined;
  readonly #waitingRoutes: Array<() => void> = [];

  async assertExclusive(model: string): Promise<void> {
    this.calls.push({ method: 'assertExclusive', model });
    if (this.busy) {
      throw new RolloutError(this.busy);
    }
  }

  async prepare(model: string, version: number): Promise<void> {
    this.calls.push({ method: 'prepare', model, version });
  }

  async checkGolden(model: string, version: number): Promise<GoldenCheckResult> {
    this.calls.push({ method: 'checkGolden', model, version });
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

  async health(model: string): Promise<HealthReport> {
    this.calls.push({ method: 'health', model });
    return this.reportedHealth;
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

/** A clock that only moves when the engine sleeps. */
class FakeClock {
  nowMs = T0;
  readonly sleeps: number[] = [];
  readonly now = (): number => this.nowMs;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
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
    registry = new ModelRegistry({ client, bucket: objectStore.bucket });
    store = new RolloutStore({ client, bucket: objectStore.bucket });
  });

  after(async () => {
    await objectStore.stop();
    await rm(directory, { recursive: true, force: true });
  });

  /** Publishes `count` more versions of a model. */
  async function publishVersions(model: string, count: number): Promise<void> {
    for (let published = 0; published < count; published++) {
      await registry.publish({ name: model, model: identityModel('FP32') });
    }
  }

  /** An engine as one CLI process would build it. */
  function engineFor(target: RolloutTarget, clock: FakeClock, actor = 'cli'): RolloutEngine {
    return new RolloutEngine({ store, target, registry, actor, now: clock.now, sleep: clock.sleep });
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

  describe('RolloutStore: durable, append-only revisions', () => {
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

    it('finds the highest revision across listing pages, and never deletes older ones', async () => {
      const model = 'store-pages';
      const paged = new RolloutStore({ client, bucket: objectStore.bucket, listPageSize: 2 });
      let state: RolloutState = { ...initialState(model, 1, T0), revision: 0 };
      for (let revision = 1; revision <= 7; revision++) {
        state = await paged.write({ ...state, revision, updatedAt: new Date(T0 + revision).toISOString() });
      }
      assert.equal((await paged.current(model))?.revision, 7);
      const listing = await client.send(
        new ListObjectsV2Command({ Bucket: objectStore.bucket, Prefix: `rollouts/${model}/` }),
      );
      assert.equal(listing.KeyCount, 7);
    });

    it('refuses to store a state that does not match the schema', async () => {
      const invalid = { ...initialState('store-invalid', 1, T0), revision: 1, weight: 140 };
      await assert.rejects(store.write(invalid), RolloutError);
      assert.equal(await store.current('store-invalid'), undefined);
    });
  });

  describe('RolloutEngine: one engine, a target that only does the I/O', () => {
    it('deploys a model first version directly as stable', async () => {
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

    it('rolls a model sluice never deployed out from the newest other published version', async () => {
      await publishVersions('adopted', 3);
      const target = new RecordingTarget();
      const state = await engineFor(target, new FakeClock()).deploy('adopted', {
        version: 2,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.deepEqual(target.routing.get('adopted'), { stable: 3, candidate: 2, weight: 10 });
      assert.equal(state.revision, 1);
    });

    it('rolls out from the version the target serves when it knows one (the alias cdk deploy set), not the newest', async () => {
      await publishVersions('on-aws', 3);
      const target = Object.assign(new RecordingTarget(), {
        servedVersion: async (model: string) => {
          assert.equal(model, 'on-aws');
          return 1;
        },
      });
      const engine = engineFor(target, new FakeClock());
      const state = await engine.deploy('on-aws', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      assert.deepEqual(target.routing.get('on-aws'), { stable: 1, candidate: 2, weight: 10 });
      assert.equal(state.stable, 1);
    });

    it('takes the served version as stable at once when it is the version being deployed', async () => {
      await publishVersions('already-served', 2);
      const target = Object.assign(new RecordingTarget(), { servedVersion: async () => 2 });
      const state = await engineFor(target, new FakeClock()).deploy('already-served', {
        version: 2,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.equal(state.status, RolloutStatus.IDLE);
      assert.equal(state.stable, 2);
      assert.deepEqual(target.routing.get('already-served'), { stable: 2, weight: 0 });
    });

    it('a canary takes 10%, bakes 5 minutes, and is promoted', async () => {
      const { target, clock, engine } = await modelWithStableV1('canary-promotes');
      const deployed = await engine.deploy('canary-promotes', {
        version: 2,
        plan: planRollout({ strategy: 'canary' }),
      });
      assert.deepEqual(target.routing.get('canary-promotes'), { stable: 1, candidate: 2, weight: 10 });
      assert.equal(deployed.weight, 10);

      const decisions: string[] = [];
      const final = await engine.run('canary-promotes', {
        onStep: ({ decision }) => decisions.push(decision.kind),
      });

      assert.equal(final.status, RolloutStatus.IDLE);
      assert.equal(final.stable, 2);
      assert.deepEqual(target.routing.get('canary-promotes'), { stable: 2, weight: 0 });
      assert.ok(clock.nowMs - T0 >= 5 * MINUTE, 'promoted only after the bake');
      assert.equal(decisions.at(-1), 'promote');
      assert.ok(decisions.slice(0, -1).every((kind) => kind === 'wait'));
      assert.ok(Math.max(...clock.sleeps) <= 15_000, 'health is checked at least every 15 s during a bake');
      assert.deepEqual(
        (await store.history('canary-promotes')).map((event) => event.action),
        [RolloutAction.DEPLOY, RolloutAction.DEPLOY, RolloutAction.PROMOTE],
      );
    });

    it('a linear rollout routes every step of its plan, then promotes', async () => {
      const { target, engine } = await modelWithStableV1('linear-steps');
      await engine.deploy('linear-steps', {
        version: 2,
        plan: planRollout({ strategy: 'linear', weight: 25, intervalMs: MINUTE }),
      });
      await engine.run('linear-steps');
      assert.deepEqual(target.weights('linear-steps'), [0, 25, 50, 75, 0]);
      assert.deepEqual(target.routing.get('linear-steps'), { stable: 2, weight: 0 });
    });

    it('an unhealthy candidate is rolled back; the stable version takes everything again', async () => {
      const { target, engine } = await modelWithStableV1('unhealthy');
      await engine.deploy('unhealthy', { version: 2, plan: planRollout({ strategy: 'linear' }) });
      target.reportedHealth = { verdict: 'unhealthy', reasons: ['unhealthy-v2-errors ALARM'] };

      const final = await engine.run('unhealthy');

      assert.equal(final.status, RolloutStatus.IDLE);
      assert.equal(final.stable, 1);
      assert.equal(final.candidate, undefined);
      assert.deepEqual(target.routing.get('unhealthy'), { stable: 1, weight: 0 });
      const last = final.history.at(-1);
      assert.equal(last?.action, RolloutAction.ROLLBACK);
      assert.match(last?.reason ?? '', /v2 is unhealthy: unhealthy-v2-errors ALARM/);
    });

    it('health unknown (too little traffic) neither blocks nor rolls back', async () => {
      const { target, engine } = await modelWithStableV1('low-traffic');
      target.reportedHealth = { verdict: 'unknown', reasons: ['2 requests in the window'] };
      await engine.deploy('low-traffic', {
        version: 2,
        plan: planRollout({ strategy: 'canary', intervalMs: MINUTE }),
      });
      const final = await engine.run('low-traffic');
      assert.equal(final.stable, 2);
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

    it('a command killed between writing a state and routing it is repaired by the next command', async () => {
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

      // A new process: any command starts by routing what the store says.
      const report = await engineFor(target, clock).status('crash-recovery');
      assert.deepEqual(target.routing.get('crash-recovery'), { stable: 1, candidate: 2, weight: 10 });
      assert.equal(report.decision.kind, 'wait');
    });

    it('ends on the newest routing when another writer (the alarm rollback) acts while this command routes', async () => {
      const { target, engine } = await modelWithStableV1('routed-late');
      // The alarm function reads the rolling state, clears the alias and writes the rollback while the deploy's
      // own route is still on its way: the deploy's route lands last.
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
      assert.match(
        state?.history.at(-1)?.reason ?? '',
        /unhealthy before any traffic: sluice-fn-6-errors is ALARM/,
      );
    });

    it('adopts a version another path put on the alias (cdk deploy) instead of routing it back', async () => {
      const { target, clock } = await modelWithStableV1('moved-by-cdk', 3);
      const aws = Object.assign(target, { servedVersion: async () => 3 });
      const report = await engineFor(aws, clock).status('moved-by-cdk');
      assert.equal(report.state?.stable, 3);
      assert.equal(report.state?.history.at(-1)?.action, RolloutAction.ADOPT);
      assert.match(
        report.state?.history.at(-1)?.reason ?? '',
        /the alias serves v3, which sluice did not route there/,
      );
      assert.deepEqual(
        target.routing.get('moved-by-cdk'),
        { stable: 3, weight: 0 },
        'v1 was not routed back',
      );

      // A command killed after writing a promotion, before routing it: the alias still serves the old stable
      // version, which is sluice's own, so the next command repairs the routing rather than adopting.
      const rolling = await engineFor(aws, clock).deploy('moved-by-cdk', {
        version: 2,
        plan: planRollout({ strategy: 'manual', weight: 50 }),
      });
      await store.write(promoteState(rolling, { weight: 100, actor: 'killed-cli', now: T0 }));
      assert.deepEqual(target.routing.get('moved-by-cdk'), { stable: 3, candidate: 2, weight: 50 });
      const repaired = await engineFor(aws, clock).status('moved-by-cdk');
      assert.equal(repaired.state?.stable, 2);
      assert.equal(repaired.state?.history.at(-1)?.action, RolloutAction.PROMOTE);
      assert.deepEqual(target.routing.get('moved-by-cdk'), { stable: 2, weight: 0 });
    });

    it('notices a cdk deploy during a bake: refuses while CodeDeploy shifts the alias, then adopts what it deployed', async () => {
      await publishVersions('cdk-during-bake', 3);
      let served = 1;
      const target = Object.assign(new RecordingTarget(), { servedVersion: async () => served });
      const clock = new FakeClock();
      const engine = engineFor(target, clock);
      await engine.deploy('cdk-during-bake', { version: 1, plan: planRollout({ strategy: 'canary' }) });
      await engine.deploy('cdk-during-bake', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      // During the first wait, CodeDeploy starts shifting the alias: the run stops rather than route over it.
      const busyClock = new FakeClock();
      busyClock.nowMs = clock.nowMs;
      const tick = busyClock.sleep;
      Object.assign(busyClock, {
        sleep: async (ms: number) => {
          await tick(ms);
          target.busy = 'CodeDeploy deployment d-1 is shifting the live alias of cdk-during-bake';
        },
      });
      await assert.rejects(engineFor(target, busyClock).run('cdk-during-bake'), /CodeDeploy deployment d-1/);
      // Once it is done the alias serves v3; the next command adopts it instead of routing v1/v2 back.
      target.busy = undefined;
      served = 3;
      const final = await engineFor(target, new FakeClock()).run('cdk-during-bake');
      assert.equal(final.status, RolloutStatus.IDLE);
      assert.equal(final.stable, 3);
      assert.equal(final.history.at(-1)?.action, RolloutAction.ADOPT);
      assert.deepEqual(target.routing.get('cdk-during-bake'), { stable: 3, weight: 0 });
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

    it('a manual rollout waits for promote: to a weight, then to the end', async () => {
      const { target, engine } = await modelWithStableV1('manual');
      await engine.deploy('manual', { version: 2, plan: planRollout({ strategy: 'manual', weight: 5 }) });

      const waiting = await engine.run('manual');
      assert.equal(waiting.status, RolloutStatus.ROLLING, 'run returns instead of waiting forever');
      assert.deepEqual(target.routing.get('manual'), { stable: 1, candidate: 2, weight: 5 });

      await engine.promote('manual', { weight: 50 });
      assert.deepEqual(target.routing.get('manual'), { stable: 1, candidate: 2, weight: 50 });
      const promoted = await engine.promote('manual');
      assert.equal(promoted.stable, 2);
      assert.deepEqual(target.routing.get('manual'), { stable: 2, weight: 0 });
    });

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

    it('status carries on a rollout whose CLI was killed, once its step is due', async () => {
      const { target, clock, engine } = await modelWithStableV1('status-continues');
      await engine.deploy('status-continues', { version: 2, plan: planRollout({ strategy: 'canary' }) });
      clock.nowMs += 5 * MINUTE;
      const report = await engineFor(target, clock).status('status-continues');
      assert.equal(report.decision.kind, 'promote');
      assert.equal(report.state?.stable, 2);
      assert.equal(report.history.at(-1)?.action, RolloutAction.PROMOTE);
    });

    it('when another path moves the alias, commands refuse and status only reports', async () => {
      const { target, engine } = await modelWithStableV1('busy-alias');
      target.busy = 'CodeDeploy deployment d-123 is shifting the live alias of busy-alias';
      await assert.rejects(
        engine.deploy('busy-alias', { version: 2, plan: planRollout({ strategy: 'canary' }) }),
        /d-123/,
      );
      const routesBefore = target.calls.filter((call) => call.method === 'route').length;
      const report = await engine.status('busy-alias');
      assert.match(report.blockedBy ?? '', /d-123/);
      assert.equal(report.state?.stable, 1);
      assert.equal(target.calls.filter((call) => call.method === 'route').length, routesBefore);
    });

    it('two commands acting at once: one applies, the other gets RolloutConflictError', async () => {
      const { target, clock } = await modelWithStableV1('racing-commands');
      const plan: RolloutPlan = planRollout({ strategy: 'manual' });
      await engineFor(target, clock).deploy('racing-commands', { version: 2, plan });
      // Both commands read the state and re-route it before either writes.
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
  });
});
