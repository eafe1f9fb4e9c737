import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerClasses, classOutputOf } from '../../lib/core/stats/answer-classes.js';
import { compareClassShares } from '../../lib/core/stats/class-shares.js';
import { compareAnswers } from '../../lib/core/stats/compare-answers.js';
import { judgeDisagreement } from '../../lib/core/stats/sequential-test.js';
import { tensorOf } from '../../lib/core/tensor/TensorData.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
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
  });

  it('counts the classes of an answer by label', () => {
    assert.equal(classOutputOf(specs)?.name, 'label');
    const classes = answerClasses(answer([0n, 2n, 2n], [1, 0, 0, 0, 0, 1, 0, 0, 1]), specs, ['a', 'b', 'c']);
    assert.deepEqual(classes, { a: 1, c: 2 });
  });
});
