import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedFailures, MAX_FAILURE_REASON_BYTES } from '../../lib/aws/release/release-resource.js';
import { parsePlanOptions } from '../../lib/cli/rollout-arguments.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { rolloutPlanOf } from '../../lib/core/config/rollout-plan-of.js';
import { decide, EVIDENCE_RECHECK_MS, WaitReason } from '../../lib/core/rollout/decide.js';
import {
  assertValidPlan,
  DEFAULT_MIN_REQUESTS,
  parseDuration,
  planRollout,
} from '../../lib/core/rollout/plan-rollout.js';
import { RolloutError } from '../../lib/core/rollout/RolloutError.js';
import type { RolloutPlan } from '../../lib/core/rollout/RolloutPlan.js';
import {
  RolloutAction,
  type RolloutState,
  RolloutStateSchema,
  RolloutStatus,
} from '../../lib/core/rollout/RolloutState.js';
import type { HealthReport } from '../../lib/core/rollout/RolloutTarget.js';
import {
  advance,
  applyDecision,
  firstDeploy,
  initialState,
  MAX_HISTORY_EVENTS,
  promote,
  recordGoldenFailure,
  rollback,
  startRollout,
} from '../../lib/core/rollout/rollout-transitions.js';
import { routingOf } from '../../lib/core/rollout/routing-of.js';

/** A fixed point in time; the rules never read a clock, so tests pass times in. */
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;

const HEALTHY: HealthReport = { verdict: 'healthy', reasons: ['error rate 0.0%'], candidateRequests: 20 };
const UNKNOWN: HealthReport = {
  verdict: 'unknown',
  reasons: ['3 requests in the window'],
  candidateRequests: 25,
};
const UNHEALTHY: HealthReport = { verdict: 'unhealthy', reasons: ['iris-v2-errors ALARM', 'p99 2400 ms'] };

const CANARY = planRollout({ strategy: 'canary' });

/** iris rolling v1 -> v2 on `plan`, started at T0 by the CLI. */
function rollingIris(plan: RolloutPlan = CANARY): RolloutState {
  return startRollout(initialState('iris', 1), {
    model: 'iris',
    candidate: 2,
    plan,
    actor: 'cli',
    now: T0,
  });
}

describe('planRollout: turns a strategy into weights and bake times', () => {
  it('canary: the weight (10 by default), then 100, baking 5 minutes', () => {
    assert.deepEqual(planRollout({ strategy: 'canary' }), {
      strategy: 'canary',
      steps: [10, 100],
      intervalMs: 5 * MINUTE,
      minRequests: DEFAULT_MIN_REQUESTS,
    });
    assert.deepEqual(planRollout({ strategy: 'canary', weight: 25, intervalMs: 1000 }).steps, [25, 100]);
  });

  it('linear: the weight, twice it, ... capped at and ending with 100, 1 minute each', () => {
    assert.deepEqual(planRollout({ strategy: 'linear' }), {
      strategy: 'linear',
      steps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      intervalMs: MINUTE,
      minRequests: DEFAULT_MIN_REQUESTS,
    });
    assert.deepEqual(planRollout({ strategy: 'linear', weight: 30 }).steps, [30, 60, 90, 100]);
    assert.deepEqual(planRollout({ strategy: 'linear', weight: 50 }).steps, [50, 100]);
  });

  it('all-at-once: 100 straight away', () => {
    assert.deepEqual(planRollout({ strategy: 'all-at-once' }), {
      strategy: 'all-at-once',
      steps: [100],
      intervalMs: 0,
      minRequests: DEFAULT_MIN_REQUESTS,
    });
  });

  it('manual: the weight, then 100, moved on only by hand', () => {
    assert.deepEqual(planRollout({ strategy: 'manual', weight: 5 }), {
      strategy: 'manual',
      steps: [5, 100],
      intervalMs: 0,
      minRequests: DEFAULT_MIN_REQUESTS,
    });
  });

  it('refuses weights outside 1..99, fractional weights and negative intervals, naming the value', () => {
    for (const weight of [0, 100, 150, -5, 12.5]) {
      assert.throws(
        () => planRollout({ strategy: 'canary', weight }),
        (error: unknown) =>
          error instanceof RolloutError && error.message.includes(`from 1 to 99; got ${weight}`),
      );
    }
    assert.throws(() => planRollout({ strategy: 'linear', intervalMs: -1 }), /0 or more; got -1/);
    assert.throws(() => planRollout({ strategy: 'manual', weight: 0 }), RolloutError);
  });

  it('refuses an unknown strategy, listing the known ones', () => {
    assert.throws(
      () => planRollout(JSON.parse('{"strategy":"blue-green"}')),
      /unknown rollout strategy "blue-green"; use canary, linear, all-at-once, manual/,
    );
  });

  it('accepts only plans whose steps ascend above 0 to 100', () => {
    assert.deepEqual(assertValidPlan(CANARY), CANARY);
    for (const steps of [[10, 50], [50, 10, 100], [0, 100], []]) {
      assert.throws(() => assertValidPlan({ strategy: 'linear', steps, intervalMs: 0 }), RolloutError);
    }
  });
});

describe('the watch window in a plan: planRollout, the config, the CLI', () => {
  it('keeps watchMs when given (0: none), leaves it out otherwise, and refuses a fraction or a negative', () => {
    assert.equal(planRollout({ strategy: 'canary' }).watchMs, undefined);
    assert.equal(planRollout({ strategy: 'canary', watchMs: 0 }).watchMs, 0);
    assert.equal(planRollout({ strategy: 'all-at-once', watchMs: 1_800_000 }).watchMs, 1_800_000);
    for (const watchMs of [-1, 0.5]) {
      assert.throws(
        () => planRollout({ strategy: 'canary', watchMs }),
        /the watch window must be a whole number/,
      );
    }
  });

  it('reads rollout.watchMinutes from sluice.config.json as minutes, and deploy --watch as a duration', () => {
    const config = (rollout: Record<string, unknown>) =>
      parseDeployConfig(
        { models: [{ name: 'iris', version: 1, sha256: 'a'.repeat(64), rollout }] },
        'test config',
      ).models[0]?.rollout;
    const preset = config({ strategy: 'preset', preset: 'canary-10-percent-5-minutes', watchMinutes: 30 });
    assert.ok(preset);
    assert.equal(rolloutPlanOf(preset).watchMs, 30 * 60_000);
    assert.throws(() => config({ strategy: 'all-at-once', watchMinutes: 1441 }), /watchMinutes/);
    assert.equal(parsePlanOptions({ strategy: 'canary', watch: '0' }).watchMs, 0);
    assert.equal(parsePlanOptions({ strategy: 'canary', watch: '45m' }).watchMs, 45 * 60_000);
    assert.throws(() => parsePlanOptions({ strategy: 'canary', watch: 'later' }), /invalid duration "later"/);
  });
});

describe('parseDuration: reads the CLI --interval', () => {
  it('takes ms, s, m and h, and plain milliseconds', () => {
    assert.equal(parseDuration('1500ms'), 1500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 5 * MINUTE);
    assert.equal(parseDuration('1h'), 60 * MINUTE);
    assert.equal(parseDuration('2.5m'), 150_000);
    assert.equal(parseDuration('1500'), 1500);
    assert.equal(parseDuration('0'), 0);
  });

  it('refuses anything else with an example of what works', () => {
    for (const text of ['', 'soon', '-5m', '5 minutes', '1.5ms', '5d']) {
      assert.throws(() => parseDuration(text), /invalid duration .*e\.g\. 1500ms, 30s, 5m, 1h/);
    }
  });
});

describe('decide: the rollout rule', () => {
  it('an idle model: idle, whatever its health', () => {
    assert.deepEqual(decide(initialState('iris', 1), UNHEALTHY, T0), { kind: 'idle' });
  });

  it('an unhealthy candidate: roll back, with the health reasons', () => {
    assert.deepEqual(decide(rollingIris(), UNHEALTHY, T0), {
      kind: 'rollback',
      reason: 'v2 is unhealthy: iris-v2-errors ALARM; p99 2400 ms',
    });
  });

  it('an unhealthy candidate on a manual plan: roll back too, nobody has to watch', () => {
    const decision = decide(rollingIris(planRollout({ strategy: 'manual' })), UNHEALTHY, T0);
    assert.equal(decision.kind, 'rollback');
  });

  it('before the bake time is over: wait until it is', () => {
    assert.deepEqual(decide(rollingIris(), HEALTHY, T0 + MINUTE), {
      kind: 'wait',
      untilMs: T0 + 5 * MINUTE,
      why: WaitReason.BAKING,
    });
  });

  it('after the bake time with health unknown: wait, the clock alone never moves a rollout', () => {
    const linear = rollingIris(planRollout({ strategy: 'linear' }));
    const decision = decide(linear, UNKNOWN, T0 + MINUTE);
    assert.ok(decision.kind === 'wait');
    assert.equal(decision.why, WaitReason.UNKNOWN_HEALTH);
    assert.equal(decision.untilMs, T0 + MINUTE + EVIDENCE_RECHECK_MS);
  });

  it('after the bake time with fewer requests than the plan asks: the bake is extended, saying how many', () => {
    const plan = planRollout({ strategy: 'canary', minRequests: 50 });
    const decision = decide(rollingIris(plan), { ...HEALTHY, candidateRequests: 49 }, T0 + 5 * MINUTE);
    assert.ok(decision.kind === 'wait');
    assert.equal(decision.why, WaitReason.EVIDENCE);
    assert.match(decision.detail ?? '', /v2 answered 49 of the 50 requests a step needs/);
    assert.deepEqual(decide(rollingIris(plan), { ...HEALTHY, candidateRequests: 50 }, T0 + 5 * MINUTE), {
      kind: 'promote',
    });
    const noCount = decide(rollingIris(), { verdict: 'healthy', reasons: [] }, T0 + 5 * MINUTE);
    assert.ok(noCount.kind === 'wait' && noCount.why === WaitReason.EVIDENCE, 'no count is no evidence');
  });

  it('after the bake time with metrics not yet complete up to its end: wait for them to settle', () => {
    const decision = decide(rollingIris(), { ...HEALTHY, settledUntilMs: T0 + 3 * MINUTE }, T0 + 6 * MINUTE);
    assert.ok(decision.kind === 'wait');
    assert.equal(decision.why, WaitReason.SETTLING);
    assert.equal(decision.untilMs, T0 + 8 * MINUTE);
  });

  it('states written before minRequests existed need the default evidence', () => {
    const { minRequests: _dropped, ...legacy } = CANARY;
    const state = { ...rollingIris(), plan: legacy };
    assert.equal(
      decide(state, { ...HEALTHY, candidateRequests: DEFAULT_MIN_REQUESTS - 1 }, T0 + 5 * MINUTE).kind,
      'wait',
    );
  });

  it('after the bake time when the next step is 100: promote', () => {
    assert.deepEqual(decide(rollingIris(), HEALTHY, T0 + 5 * MINUTE), { kind: 'promote' });
  });

  it('all-at-once at 100: promote once its bake is over', () => {
    const allAtOnce = rollingIris(planRollout({ strategy: 'all-at-once', intervalMs: MINUTE }));
    assert.equal(allAtOnce.weight, 100);
    assert.equal(decide(allAtOnce, HEALTHY, T0).kind, 'wait');
    assert.deepEqual(decide(allAtOnce, HEALTHY, T0 + MINUTE), { kind: 'promote' });
  });

  it('a healthy manual plan: wait forever, only `sluice promote` moves it', () => {
    const manual = rollingIris(planRollout({ strategy: 'manual' }));
    assert.deepEqual(decide(manual, HEALTHY, T0 + 1000 * MINUTE), {
      kind: 'wait',
      untilMs: Number.POSITIVE_INFINITY,
      why: WaitReason.MANUAL,
    });
  });
});

describe('startRollout: begins a rollout', () => {
  it('routes the plan first weight to the candidate and records who did it', () => {
    const state = rollingIris();
    assert.equal(state.status, RolloutStatus.ROLLING);
    assert.deepEqual(routingOf(state), { stable: 1, candidate: 2, weight: 10 });
    assert.equal(state.revision, 1);
    assert.equal(state.stepIndex, 0);
    assert.equal(state.stepStartedAt, new Date(T0).toISOString());
    assert.deepEqual(
      state.history.map(({ action, actor, stable, candidate, weight }) => ({
        action,
        actor,
        stable,
        candidate,
        weight,
      })),
      [{ action: RolloutAction.DEPLOY, actor: 'cli', stable: 1, candidate: 2, weight: 10 }],
    );
    assert.ok(RolloutStateSchema.safeParse(state).success);
  });

  it('refuses a second rollout while one is in progress, saying what to do', () => {
    assert.throws(
      () => startRollout(rollingIris(), { model: 'iris', candidate: 3, plan: CANARY, actor: 'cli', now: T0 }),
      (error: unknown) =>
        error instanceof RolloutError &&
        error.message ===
          'a rollout of iris (v1 -> v2) is in progress; run `sluice promote iris`, `sluice rollback iris`, or wait',
    );
  });

  it('refuses to roll out the stable version itself', () => {
    assert.throws(
      () =>
        startRollout(initialState('iris', 2), {
          model: 'iris',
          candidate: 2,
          plan: CANARY,
          actor: 'cli',
          now: T0,
        }),
      /v2 is already the stable version of iris/,
    );
  });

  it('needs a stable version for a model without state', () => {
    assert.throws(
      () => startRollout(undefined, { model: 'iris', candidate: 2, plan: CANARY, actor: 'cli', now: T0 }),
      /no stable version/,
    );
    const fresh = startRollout(undefined, {
      model: 'iris',
      candidate: 2,
      stable: 1,
      plan: CANARY,
      actor: 'cli',
      now: T0,
    });
    assert.deepEqual(routingOf(fresh), { stable: 1, candidate: 2, weight: 10 });
  });

  it('leaves the state it started from untouched', () => {
    const before = initialState('iris', 1);
    const snapshot = structuredClone(before);
    startRollout(before, { model: 'iris', candidate: 2, plan: CANARY, actor: 'cli', now: T0 });
    assert.deepEqual(before, snapshot);
  });
});

describe('firstDeploy: a model first version is stable at once', () => {
  it('takes all traffic with nothing to roll out from', () => {
    const state = firstDeploy({ model: 'iris', version: 1, actor: 'cli', now: T0 });
    assert.deepEqual(routingOf(state), { stable: 1, weight: 0 });
    assert.equal(state.status, RolloutStatus.IDLE);
    assert.equal(state.revision, 1);
    assert.equal(state.history[0]?.action, RolloutAction.DEPLOY);
  });
});

describe('advance and applyDecision: move along the plan', () => {
  it('advance moves a linear rollout to its next weight and restarts the bake', () => {
    const next = advance(rollingIris(planRollout({ strategy: 'linear' })), {
      actor: 'cli',
      now: T0 + MINUTE,
    });
    assert.deepEqual(routingOf(next), { stable: 1, candidate: 2, weight: 20 });
    assert.equal(next.stepIndex, 1);
    assert.equal(next.stepStartedAt, new Date(T0 + MINUTE).toISOString());
    assert.equal(next.revision, 2);
  });

  it('applyDecision changes nothing on wait and idle (the very same state)', () => {
    const state = rollingIris();
    assert.equal(
      applyDecision(state, { kind: 'wait', untilMs: T0 + 1, why: 'baking' }, { actor: 'cli', now: T0 }),
      state,
    );
    assert.equal(applyDecision(state, { kind: 'idle' }, { actor: 'cli', now: T0 }), state);
  });

  it('applyDecision promotes on promote and rolls back on rollback', () => {
    const state = rollingIris();
    const promoted = applyDecision(state, { kind: 'promote' }, { actor: 'cli', now: T0 + 5 * MINUTE });
    assert.deepEqual(routingOf(promoted), { stable: 2, weight: 0 });
    const rolledBack = applyDecision(
      state,
      { kind: 'rollback', reason: 'alarm' },
      { actor: 'alarm', now: T0 },
    );
    assert.deepEqual(routingOf(rolledBack), { stable: 1, weight: 0 });
  });
});

describe('promote: a person moves the candidate forward', () => {
  it('without a weight: to the plan next step', () => {
    const linear = rollingIris(planRollout({ strategy: 'linear', weight: 25 }));
    const next = promote(linear, { actor: 'cli', now: T0 });
    assert.deepEqual(routingOf(next), { stable: 1, candidate: 2, weight: 50 });
  });

  it('without a weight, from the last step before 100: the candidate becomes stable', () => {
    const promoted = promote(rollingIris(planRollout({ strategy: 'manual' })), { actor: 'cli', now: T0 });
    assert.equal(promoted.status, RolloutStatus.IDLE);
    assert.equal(promoted.stable, 2);
    assert.equal(promoted.candidate, undefined);
    assert.equal(promoted.weight, 0);
    assert.equal(promoted.plan, undefined);
    assert.equal(promoted.history.at(-1)?.action, RolloutAction.PROMOTE);
    assert.equal(promoted.history.at(-1)?.weight, 100);
  });

  it('with a weight: to that weight, and the plan resumes from there', () => {
    const linear = rollingIris(planRollout({ strategy: 'linear' }));
    const at35 = promote(linear, { weight: 35, actor: 'cli', now: T0 });
    assert.deepEqual(routingOf(at35), { stable: 1, candidate: 2, weight: 35 });
    assert.deepEqual(decide(at35, HEALTHY, T0 + MINUTE), { kind: 'advance', weight: 40, stepIndex: 3 });
  });

  it('with weight 100: the candidate becomes stable', () => {
    assert.deepEqual(routingOf(promote(rollingIris(), { weight: 100, actor: 'cli', now: T0 })), {
      stable: 2,
      weight: 0,
    });
  });

  it('refuses a weight at or below the current one, pointing at rollback', () => {
    for (const weight of [10, 5, 0, 101, 33.3]) {
      assert.throws(
        () => promote(rollingIris(), { weight, actor: 'cli', now: T0 }),
        /cannot promote v2 of iris .*sluice rollback iris/,
      );
    }
  });

  it('refuses when nothing is rolling out', () => {
    assert.throws(
      () => promote(initialState('iris', 1), { actor: 'cli', now: T0 }),
      /no rollout of iris is in progress; v1 takes all traffic/,
    );
  });
});

describe('rollback: the stable version takes everything back', () => {
  it('sets the weight to 0, clears the candidate, keeps the stable version and records why', () => {
    const rolledBack = rollback(rollingIris(), { reason: 'iris-v2-errors ALARM', actor: 'alarm', now: T0 });
    assert.equal(rolledBack.status, RolloutStatus.IDLE);
    assert.deepEqual(routingOf(rolledBack), { stable: 1, weight: 0 });
    assert.equal(rolledBack.candidate, undefined);
    const { action, actor, candidate, weight, reason } = rolledBack.history.at(-1) ?? assert.fail('no event');
    assert.deepEqual(
      { action, actor, candidate, weight, reason },
      {
        action: RolloutAction.ROLLBACK,
        actor: 'alarm',
        candidate: 2,
        weight: 0,
        reason: 'iris-v2-errors ALARM',
      },
    );
  });

  it('refuses when nothing is rolling out', () => {
    assert.throws(
      () => rollback(initialState('iris', 1), { reason: 'x', actor: 'cli', now: T0 }),
      RolloutError,
    );
  });
});

describe('recordGoldenFailure: a failed candidate leaves a trace, not traffic', () => {
  it('keeps the routing and records the failures', () => {
    const idle = initialState('iris', 1);
    const recorded = recordGoldenFailure(idle, {
      candidate: 2,
      failures: ['example 1: output "label" [0] expected 1, got 2'],
      actor: 'cli',
      now: T0,
    });
    assert.deepEqual(routingOf(recorded), routingOf(idle));
    assert.equal(recorded.revision, idle.revision + 1);
    assert.equal(recorded.history.at(-1)?.action, RolloutAction.GOLDEN_FAILED);
    assert.match(recorded.history.at(-1)?.reason ?? '', /expected 1, got 2/);
  });
});

describe('history: bounded, oldest dropped first', () => {
  it(`keeps the newest ${MAX_HISTORY_EVENTS} events`, () => {
    let state = initialState('iris', 1);
    const rounds = MAX_HISTORY_EVENTS;
    for (let round = 0; round < rounds; round++) {
      const candidate = state.stable + 1;
      state = startRollout(state, { model: 'iris', candidate, plan: CANARY, actor: 'cli', now: T0 + round });
      state = promote(state, { weight: 100, actor: 'cli', now: T0 + round });
    }
    assert.equal(state.history.length, MAX_HISTORY_EVENTS);
    assert.equal(state.revision, 2 * rounds);
    assert.equal(state.history.at(-1)?.candidate, rounds + 1);
    // 2 events per round: the oldest kept is the deploy of the second half's first round.
    assert.equal(state.history[0]?.candidate, rounds / 2 + 2);
    assert.ok(RolloutStateSchema.safeParse(state).success);
  });
});

describe("boundedFailures: a release failure fits CloudFormation's 4,096-byte response", () => {
  it('passes a short failure through as it is, and cuts a long one to MAX_FAILURE_REASON_BYTES, logging it whole', async () => {
    const short = new Error('golden example 1 failed');
    await assert.rejects(
      boundedFailures(async () => Promise.reject(short))(undefined),
      (error) => error === short,
    );
    const logged: unknown[] = [];
    const long = `v2 failed its golden examples:\n${'  - example é mismatched\n'.repeat(500)}`;
    await assert.rejects(
      boundedFailures(async () => Promise.reject(new Error(long)), {
        error: (...args: unknown[]) => logged.push(args),
      })(undefined),
      (error: Error) =>
        Buffer.byteLength(error.message) <= MAX_FAILURE_REASON_BYTES &&
        error.message.startsWith('v2 failed its golden examples') &&
        error.message.endsWith("the whole reason is in the handler's log)") &&
        (error.cause as Error).message === long,
    );
    assert.equal(logged.length, 1);
  });
});
