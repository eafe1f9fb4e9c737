import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelManifest } from '../../lib/core/manifest/ModelManifest.js';
import { decide, WaitReason } from '../../lib/core/rollout/decide.js';
import { describeGates } from '../../lib/core/rollout/describe-gates.js';
import { DEFAULT_MAX_COMPARED, DEFAULT_MAX_SHADOW_MS } from '../../lib/core/rollout/gate-settings.js';
import { assertValidPlan, planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { RolloutError } from '../../lib/core/rollout/RolloutError.js';
import type { RolloutPlan } from '../../lib/core/rollout/RolloutPlan.js';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import type { HealthReport } from '../../lib/core/rollout/RolloutTarget.js';
import {
  firstDeploy,
  initialState,
  promote,
  rollback,
  startRollout,
} from '../../lib/core/rollout/rollout-transitions.js';
import { answerClasses, classOutputOf, requestClass } from '../../lib/core/stats/answer-classes.js';
import { compareClassShares } from '../../lib/core/stats/class-shares.js';
import { compareAnswers, disagreementShare } from '../../lib/core/stats/compare-answers.js';
import { judgeDisagreement, type SequentialVerdict } from '../../lib/core/stats/sequential-test.js';
import { tensorOf } from '../../lib/core/tensor/TensorData.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
import { HealthWindow } from '../../lib/local/HealthWindow.js';
import { LocalRolloutStates } from '../../lib/local/LocalRolloutStates.js';
import { followRollout } from '../../lib/rollout/follow-rollout.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';

const TEST = { tolerance: 0.02, alpha: 0.05, minCompared: 100 } as const;

/** Feeds comparisons one at a time, as the driver reads them at every tick; the first verdict that is not undecided. */
function firstVerdict(rate: number, seed: number, max: number): { verdict: string; after: number } {
  const random = seededRandom(seed);
  let disagreed = 0;
  for (let compared = 1; compared <= max; compared++) {
    if (random() < rate) disagreed++;
    const { verdict } = judgeDisagreement({ compared, disagreed }, TEST);
    if (verdict !== 'undecided') return { verdict, after: compared };
  }
  return { verdict: 'undecided', after: max };
}

/** The share of `runs` seeded candidates at `rate` whose first verdict is `verdict` within `max` comparisons. */
function shareOf(
  verdict: string,
  rate: number,
  runs: number,
  max: number,
): { share: number; afters: number[] } {
  const outcomes = Array.from({ length: runs }, (_, run) => firstVerdict(rate, 1_000 + run, max));
  const matching = outcomes.filter((outcome) => outcome.verdict === verdict);
  return {
    share: matching.length / runs,
    afters: matching.map((outcome) => outcome.after).sort((a, b) => a - b),
  };
}

describe('judgeDisagreement: a sequential test whose error rate holds however often it is read', () => {
  it('rolls back at most alpha of candidates at the tolerated rate, read after every one of 3,000 comparisons', () => {
    const { share } = shareOf('fail', TEST.tolerance, 400, 3_000);
    assert.ok(share <= TEST.alpha, `false rollbacks ${share} > alpha ${TEST.alpha}`);
  });

  it('rolls back fewer still of better candidates (half the tolerance), and never an identical one', () => {
    assert.ok(shareOf('fail', TEST.tolerance / 2, 400, 3_000).share <= TEST.alpha);
    assert.equal(shareOf('fail', 0, 100, 3_000).share, 0);
  });

  it('catches a candidate that disagrees on 10 % of answers within about fifty comparisons, one at 5 % within a few hundred', () => {
    const tenPercent = shareOf('fail', 0.1, 200, 3_000);
    assert.equal(tenPercent.share, 1);
    const median10 = tenPercent.afters[Math.floor(tenPercent.afters.length / 2)] ?? Number.NaN;
    assert.ok(median10 <= 60, `median ${median10} comparisons to catch 10 %`);
    const fivePercent = shareOf('fail', 0.05, 200, 3_000);
    assert.equal(fivePercent.share, 1);
    const p90 = fivePercent.afters[Math.floor(fivePercent.afters.length * 0.9)] ?? Number.NaN;
    assert.ok(p90 <= 600, `90 % of 5 % candidates caught within ${p90} comparisons`);
  });

  it('passes an identical candidate after a couple of hundred comparisons, never before minCompared', () => {
    const { share, afters } = shareOf('pass', 0, 50, 3_000);
    assert.equal(share, 1);
    assert.ok((afters[0] ?? 0) >= TEST.minCompared);
    assert.ok((afters.at(-1) ?? Number.POSITIVE_INFINITY) <= 300);
  });

  it('neither passes nor fails on too few comparisons', () => {
    assert.equal(judgeDisagreement({ compared: 10, disagreed: 0 }, TEST).verdict, 'undecided');
    assert.equal(judgeDisagreement({ compared: 0, disagreed: 0 }, TEST).verdict, 'undecided');
  });
});

describe('compareClassShares: chi-square homogeneity with small cells pooled, read once per step', () => {
  it('keeps its false alarm rate at about alpha on same-distribution samples, one look each', () => {
    const random = seededRandom(7);
    const draw = (count: number): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (let index = 0; index < count; index++) {
        const value = random();
        const name = value < 0.5 ? 'a' : value < 0.8 ? 'b' : value < 0.97 ? 'c' : 'rare';
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return counts;
    };
    let alarms = 0;
    const runs = 2_000;
    for (let run = 0; run < runs; run++)
      if (compareClassShares(draw(120), draw(30), 0.05).verdict === 'differ') alarms++;
    assert.ok(alarms / runs <= 0.06, `false alarms ${alarms / runs}`);
  });

  it('sees swapped classes, and is undecided with too few answers', () => {
    const stable = { setosa: 40, versicolor: 30, virginica: 30 };
    assert.equal(
      compareClassShares(stable, { setosa: 3, versicolor: 12, virginica: 15 }, 0.01).verdict,
      'differ',
    );
    assert.equal(compareClassShares(stable, { setosa: 1 }, 0.01).verdict, 'undecided');
  });
});

describe('compareAnswers: answers compared per output and row', () => {
  const specs: TensorSpec[] = [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
  ];
  const answer = (labels: bigint[], scores: number[]) => ({
    label: tensorOf('int64', BigInt64Array.from(labels), [labels.length]),
    probabilities: tensorOf('float32', Float32Array.from(scores), [labels.length, 3]),
  });

  it('agrees on equal labels and the same top class, whatever small score differences', () => {
    const stable = answer([0n, 2n], [0.9, 0.05, 0.05, 0.1, 0.2, 0.7]);
    const candidate = answer([0n, 2n], [0.88, 0.07, 0.05, 0.11, 0.19, 0.7]);
    const comparison = compareAnswers(stable, candidate, specs);
    assert.equal(comparison.rows, 2);
    assert.equal(comparison.disagreements, 0);
  });

  it('counts a row that disagrees on any output once, and every row of a missing output', () => {
    const stable = answer([0n, 2n], [0.9, 0.05, 0.05, 0.1, 0.2, 0.7]);
    const candidate = answer([1n, 2n], [0.05, 0.9, 0.05, 0.1, 0.2, 0.7]);
    assert.equal(compareAnswers(stable, candidate, specs).disagreements, 1);
    assert.equal(compareAnswers(stable, { label: stable.label }, specs).disagreements, 2);
  });

  it('compares other numbers within the relative tolerance', () => {
    const regression: TensorSpec[] = [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }];
    const stable = { y: tensorOf('float32', Float32Array.of(1, 100), [2, 1]) };
    const close = { y: tensorOf('float32', Float32Array.of(1.0005, 100.05), [2, 1]) };
    const far = { y: tensorOf('float32', Float32Array.of(1.01, 100), [2, 1]) };
    assert.equal(compareAnswers(stable, close, regression).disagreements, 0);
    assert.equal(compareAnswers(stable, far, regression).disagreements, 1);
    // The figure the tolerance bounds, per output: |a - b| / max(1, |stable|), the largest of the request.
    const [y] = compareAnswers(stable, close, regression).outputs;
    assert.ok(Math.abs((y?.maxRelativeDifference ?? 0) - 0.0005) < 1e-6, `${y?.maxRelativeDifference}`);
    assert.ok(Math.abs((y?.maxAbsDifference ?? 0) - 0.05) < 1e-4, `${y?.maxAbsDifference}`);
    // Class scores have one too (their gate is the top class); labels have none.
    const scored = compareAnswers(
      answer([0n], [0.9, 0.05, 0.05]),
      answer([0n], [0.8, 0.15, 0.05]),
      specs,
    ).outputs.map((output) => [output.output, Number(output.maxRelativeDifference.toFixed(3))]);
    assert.deepEqual(scored, [
      ['label', 0],
      ['probabilities', 0.1],
    ]);
    // A missing output disagrees on every row and has no difference to report (not a 0, which reads as "close").
    const missing = compareAnswers(
      answer([0n], [0.9, 0.05, 0.05]),
      { label: answer([0n], [1, 0, 0]).label },
      specs,
    );
    assert.equal(missing.outputs.find((output) => output.output === 'probabilities')?.disagreements, 1);
    assert.ok(
      Number.isNaN(
        missing.outputs.find((output) => output.output === 'probabilities')?.maxRelativeDifference,
      ),
    );
  });

  it('counts the classes of an answer by label', () => {
    assert.equal(classOutputOf(specs)?.name, 'label');
    const classes = answerClasses(answer([0n, 2n, 2n], [1, 0, 0, 0, 0, 1, 0, 0, 1]), specs, ['a', 'b', 'c']);
    assert.deepEqual(classes, { a: 1, c: 2 });
  });
});

describe('judgeDisagreement on requests, not rows: a batch is one observation', () => {
  /**
   * Requests of `rows` rows at a per-row rate `rate` whose rows disagree together (one client's batch, one failed
   * run): the first verdict when each request counts its share of rows (as the stack counts), or each row alone.
   */
  function batchedVerdict(
    rate: number,
    rows: number,
    seed: number,
    counting: 'share' | 'rows',
  ): SequentialVerdict {
    const random = seededRandom(seed);
    let compared = 0;
    let disagreed = 0;
    for (let request = 0; request < 3_000; request++) {
      const disagreements = random() < rate ? rows : 0;
      const comparison = { rows, disagreements, outputs: [] };
      if (counting === 'share') {
        compared++;
        disagreed += disagreementShare(comparison);
      } else {
        compared += rows;
        disagreed += disagreements;
      }
      const { verdict } = judgeDisagreement({ compared, disagreed }, TEST);
      if (verdict !== 'undecided') return verdict;
    }
    return 'undecided';
  }

  it('rolls back at most alpha of candidates at the tolerated rate on 20-row batches; counting rows would not', () => {
    const runs = 300;
    const rollbacks = (counting: 'share' | 'rows'): number =>
      Array.from({ length: runs }, (_, run) =>
        batchedVerdict(TEST.tolerance, 20, 5_000 + run, counting),
      ).filter((verdict) => verdict === 'fail').length / runs;
    const byShare = rollbacks('share');
    assert.ok(byShare <= TEST.alpha, `false rollbacks ${byShare} > alpha ${TEST.alpha}`);
    const byRow = rollbacks('rows');
    assert.ok(byRow > 2 * TEST.alpha, `counting rows as independent gave only ${byRow}`);
  });

  it('holds on rows that disagree independently within a batch too (shares between 0 and 1)', () => {
    let rollbacks = 0;
    const runs = 300;
    for (let run = 0; run < runs; run++) {
      const random = seededRandom(9_000 + run);
      let disagreed = 0;
      for (let compared = 1; compared <= 3_000; compared++) {
        let disagreements = 0;
        for (let row = 0; row < 8; row++) if (random() < TEST.tolerance) disagreements++;
        disagreed += disagreementShare({ rows: 8, disagreements });
        const { verdict } = judgeDisagreement({ compared, disagreed }, TEST);
        if (verdict === 'fail') rollbacks++;
        if (verdict !== 'undecided') break;
      }
    }
    assert.ok(rollbacks / runs <= TEST.alpha, `false rollbacks ${rollbacks / runs}`);
  });

  it('one failed shadow run of a 64-row batch is one disagreeing request, not 64', () => {
    assert.equal(disagreementShare({ rows: 64, disagreements: 64 }), 1);
    assert.equal(judgeDisagreement({ compared: 1, disagreed: 1 }, TEST).verdict, 'undecided');
  });

  it('passes a candidate at three quarters of the tolerance, given enough comparisons, and fails few', () => {
    const { share, afters } = shareOf('pass', 0.75 * TEST.tolerance, 40, 30_000);
    assert.ok(share >= 0.9, `only ${share} passed within 30,000`);
    const median = afters[Math.floor(afters.length / 2)] ?? Number.NaN;
    assert.ok(median <= 8_000, `median ${median} comparisons to pass`);
  });
});

describe('HealthWindow: comparisons and classes count per request', () => {
  it('counts a request once, with its share of disagreeing rows, and once for the class most of its rows fell in', () => {
    const window = new HealthWindow();
    const at = Date.parse('2026-01-01T00:00:10Z');
    window.recordComparison('iris', 2, { rows: 64, disagreements: 64, outputs: [] }, at);
    window.recordComparison('iris', 2, { rows: 4, disagreements: 1, outputs: [] }, at);
    window.recordComparison('iris', 2, { rows: 0, disagreements: 0, outputs: [] }, at);
    // 3 setosa + 1 virginica counts setosa; of a tie, the first class listed.
    assert.deepEqual(
      [
        requestClass({ setosa: 3, virginica: 1 }),
        requestClass({ virginica: 2, setosa: 2 }),
        requestClass({}),
      ],
      ['setosa', 'virginica', undefined],
    );
    window.record('iris', 1, { status: 200, latencyMs: 1, answeredClass: 'setosa' }, at);
    window.record('iris', 1, { status: 200, latencyMs: 1, answeredClass: 'setosa' }, at);
    const candidate = window.figures('iris', 2, at - 5_000, at);
    assert.deepEqual([candidate.compared, candidate.disagreed], [2, 1.25]);
    window.record('iris', 1, { status: 200, latencyMs: 1, answeredClass: 'virginica' }, at);
    // A refused request has no answered class: counted as a request, not for a class.
    window.record('iris', 1, { status: 503, latencyMs: 1 }, at);
    const figures = window.figures('iris', 1, at - 5_000, at);
    assert.deepEqual([figures.requests, figures.classes], [4, { setosa: 2, virginica: 1 }]);
  });
});

describe('compareClassShares on requests counted once: batches do not inflate the test', () => {
  it('keeps its false alarm rate at or under alpha when every request is a 10-row batch of one class', () => {
    const random = seededRandom(21);
    const at = Date.parse('2026-01-01T00:00:10Z');
    /** Both versions answer `stable` and `candidate` such requests, with the same class mix; counted by the window. */
    const shares = (stable: number, candidate: number): { weighted: string; byRow: string } => {
      const window = new HealthWindow();
      const rows: Record<string, Record<string, number>> = { '1': {}, '2': {} };
      for (const [version, requests] of [
        [1, stable],
        [2, candidate],
      ] as const) {
        for (let request = 0; request < requests; request++) {
          const value = random();
          const name = value < 0.5 ? 'a' : value < 0.8 ? 'b' : 'c';
          window.record('m', version, { status: 200, latencyMs: 1, answeredClass: name }, at);
          const counts = rows[String(version)] as Record<string, number>;
          counts[name] = (counts[name] ?? 0) + 10;
        }
      }
      const classes = (version: number) => window.figures('m', version, at - 1_000, at).classes;
      return {
        weighted: compareClassShares(classes(1), classes(2), 0.05).verdict,
        byRow: compareClassShares(rows['1'] ?? {}, rows['2'] ?? {}, 0.05).verdict,
      };
    };
    const runs = 400;
    const outcomes = Array.from({ length: runs }, () => shares(120, 30));
    const weighted = outcomes.filter((outcome) => outcome.weighted === 'differ').length / runs;
    const byRow = outcomes.filter((outcome) => outcome.byRow === 'differ').length / runs;
    assert.ok(weighted <= 0.06, `false alarms ${weighted} counting requests`);
    assert.ok(byRow > 0.2, `counting rows as independent gave only ${byRow}`);
  });
});

describe('The shadow phase: its caps, and moves by hand', () => {
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');
  const shadowed = (plan: RolloutPlan): RolloutState =>
    startRollout(initialState('iris', 1), { model: 'iris', candidate: 2, plan, actor: 'cli', now: T0 });
  const canary = planRollout({ strategy: 'canary', weight: 10, intervalMs: 60_000, shadowPercent: 10 });
  const health = (compared: number, disagreed: number): HealthReport => ({
    verdict: 'unknown',
    reasons: [],
    agreement: { compared, disagreed },
  });

  it('starts before the first step: weight 0, step index -1', () => {
    const state = shadowed(canary);
    assert.deepEqual([state.phase, state.weight, state.stepIndex], ['shadow', 0, -1]);
  });

  it('hands an undecided phase to a person at its request or time limit, and following it says so', async () => {
    const state = shadowed(canary);
    // 1.9 % of 20,000 against a 2 % tolerance: too close to call.
    const atCap = decide(state, health(DEFAULT_MAX_COMPARED, 0.019 * DEFAULT_MAX_COMPARED), T0 + 60_000);
    assert.ok(atCap.kind === 'wait' && atCap.why === WaitReason.AGREEMENT_UNDECIDED);
    assert.equal(atCap.untilMs, Number.POSITIVE_INFINITY);
    assert.match(
      atCap.detail ?? '',
      /undecided at the phase's limit.*`sluice promote iris` or `sluice rollback iris`/,
    );
    const late = decide(state, health(500, 9), T0 + DEFAULT_MAX_SHADOW_MS);
    assert.ok(late.kind === 'wait' && late.why === WaitReason.AGREEMENT_UNDECIDED);
    const early = decide(state, health(500, 9), T0 + DEFAULT_MAX_SHADOW_MS - 1);
    assert.ok(early.kind === 'wait' && early.why === WaitReason.AGREEMENT);
    await assert.rejects(
      followRollout({
        control: { status: async () => ({ state, decision: atCap, history: state.history }) },
        model: 'iris',
        fromRevision: state.revision,
        onEvent: () => {},
        pollIntervalMs: 1,
      }),
      /the rollout of iris waits for a person: shadow: v2 disagreed with v1 on 380 of 20000/,
    );
  });

  it('a promote by hand below the first step leaves the first step next, not skipped', () => {
    const promoted = promote(shadowed(canary), { weight: 5, actor: 'cli', now: T0 });
    assert.deepEqual([promoted.phase, promoted.weight, promoted.stepIndex], [undefined, 5, -1]);
    const healthy: HealthReport = { verdict: 'healthy', reasons: [], candidateRequests: 500 };
    const next = decide(promoted, healthy, T0 + 60_000);
    assert.deepEqual(next, { kind: 'advance', weight: 10, stepIndex: 0 });
    const linear = planRollout({ strategy: 'linear', weight: 25, intervalMs: 60_000, shadowPercent: 10 });
    const fromLinear = promote(shadowed(linear), { weight: 20, actor: 'cli', now: T0 });
    assert.deepEqual(decide(fromLinear, healthy, T0 + 60_000), { kind: 'advance', weight: 25, stepIndex: 0 });
  });

  it('refuses a manual plan with a shadow phase: it would move on its own', () => {
    const manual = { ...planRollout({ strategy: 'manual', weight: 10 }), shadowPercent: 10 };
    assert.throws(() => assertValidPlan(manual), /a manual rollout plan has no shadow phase/);
    assert.throws(() => shadowed(manual), RolloutError);
  });
});

describe('LocalRolloutStates: a write that finishes late never routes by an older revision', () => {
  it('keeps the newer state when an older write returns after it', async () => {
    const stored = new Map<number, RolloutState>();
    const holds = new Map<number, Promise<void>>();
    const store = {
      current: async (): Promise<RolloutState | undefined> => stored.get(Math.max(0, ...stored.keys())),
      write: async (next: RolloutState): Promise<RolloutState> => {
        stored.set(next.revision, next);
        await holds.get(next.revision);
        return next;
      },
    };
    const states = new LocalRolloutStates(store);
    const first = startRollout(initialState('iris', 1), {
      model: 'iris',
      candidate: 2,
      plan: planRollout({ strategy: 'canary' }),
      actor: 'cli',
      now: 0,
    });
    const second = rollback(first, { reason: 'by hand', actor: 'cli', now: 1 });
    let finish = (): void => {};
    holds.set(
      first.revision,
      new Promise((resolve) => {
        finish = resolve;
      }),
    );
    const slow = states.write(first);
    await states.write(second);
    finish();
    await slow;
    assert.equal((await states.current('iris'))?.revision, second.revision);
    assert.equal((await states.current('iris'))?.status, 'idle');
  });

  it('a listener that throws does not fail the write', async () => {
    const store = { current: async () => undefined, write: async (next: RolloutState) => next };
    const states = new LocalRolloutStates(store);
    states.onWrite(() => {
      throw new Error('listener broke');
    });
    const state = firstDeploy({ model: 'iris', version: 1, actor: 'cli', now: 0 });
    assert.equal((await states.write(state)).revision, state.revision);
    assert.equal((await states.current('iris'))?.revision, state.revision);
  });
});

describe('describeGates: which gates a rollout runs, and why the others do not', () => {
  const manifest = {
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ],
    reference: {
      sha256: 'a'.repeat(64),
      size: 1,
      items: 1,
      withExpected: 0,
      classes: { '0': 1 },
      outputs: { probabilities: { edges: [0.5], counts: [1, 2] } },
    },
  } as unknown as ModelManifest;
  const golden = { passed: true, examples: 3, failures: [] };

  it('lists every gate that runs for a shadowed canary with a reference set and golden examples', () => {
    const plan = planRollout({ strategy: 'canary', weight: 10, shadowPercent: 10 });
    const replay = { summary: 'passed', standsIn: false, at: '2026-01-01T00:00:00.000Z' };
    assert.equal(
      describeGates({ manifest, plan, golden, replay: replay as never }),
      "gates: golden examples (3 passed), replay (passed), shadow phase (10%), class shares (of label, at each step's end), drift (of label, probabilities, while it serves)",
    );
  });

  it('says why a gate does not run', () => {
    const bare = { outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] } as unknown as ModelManifest;
    assert.equal(
      describeGates({
        manifest: bare,
        plan: planRollout({ strategy: 'all-at-once' }),
        golden: { passed: true, examples: 0, failures: [] },
      }),
      'gates: none; not run: golden examples (the manifest has none), replay (neither version has a reference set), shadow phase (the plan has none), class shares (no class output), drift (no reference set)',
    );
    assert.match(
      describeGates({ manifest, plan: planRollout({ strategy: 'manual', weight: 10 }), golden }),
      /class shares \(a manual plan: a person steps\)/,
    );
  });
});
