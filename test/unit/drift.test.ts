import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftTallies, MIN_DRIFT_ANSWERS } from '../../lib/core/stats/drift.js';
import {
  binnedValues,
  binOf,
  histogramBaseline,
  numericOutputsOf,
  sampleValues,
  valueHistogram,
} from '../../lib/core/stats/value-histogram.js';
import { tensorOf } from '../../lib/core/tensor/TensorData.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';

/** A standard normal draw (Box-Muller) from a seeded uniform source. */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe('Numeric drift: decile histograms of an output against its reference answers', () => {
  it('puts edges at the deciles, merges repeated edges, and bins by binary search', () => {
    assert.deepEqual(valueHistogram([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10, 1), {
      edges: [2, 3, 4, 5, 6, 7, 8, 9, 10],
      counts: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    // A output that takes two values gets two bins, not ten empty ones.
    assert.deepEqual(valueHistogram([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 10, 1), { edges: [1], counts: [6, 4] });
    assert.equal(valueHistogram([Number.NaN], 10, 1), undefined);
    // A reference set too small for its deciles to mean anything gives no baseline.
    assert.equal(valueHistogram(Array.from({ length: 199 }, (_, index) => index)), undefined);
    assert.ok(valueHistogram(Array.from({ length: 200 }, (_, index) => index)));
    assert.deepEqual(
      [-1, 2, 4.5, 5, 100].map((value) => binOf([2, 5], value)),
      [0, 1, 1, 2, 2],
    );
  });

  it('samples at most 32 finite values of an answer: the same positions of each row, whatever the batch size', () => {
    const large = new Float32Array(1024 * 1024).map((_, index) => index);
    const sampled = sampleValues(large, [1, 1024, 1024]);
    assert.equal(sampled.length, 4, 'one row: its four positions');
    assert.deepEqual(sampled, [0, 262_144, 524_288, 786_432]);
    // Class scores [N, 3]: every column of a row, for a 1-row reference item and a 32-row live request alike.
    const one = sampleValues(new Float32Array([0.1, 0.2, 0.7]), [1, 3]);
    const batch = sampleValues(
      new Float32Array(96).map((_, index) => [0.1, 0.2, 0.7][index % 3] as number),
      [32, 3],
    );
    assert.deepEqual(
      one.map((value) => value.toFixed(1)),
      ['0.1', '0.2', '0.7'],
    );
    assert.equal(batch.length, 24, '8 rows of 3');
    assert.deepEqual([...new Set(batch.map((value) => value.toFixed(1)))].sort(), ['0.1', '0.2', '0.7']);
    assert.deepEqual(sampleValues(new Float32Array([1, Number.NaN, 3]), [3]), [1, 3]);
    const histogram = { edges: [0.5], counts: [1, 1] };
    assert.deepEqual(binnedValues(tensorOf('float32', new Float32Array([0, 1, 1, 2]), [4]), histogram), {
      '0': 1,
      '1': 3,
    });
    assert.deepEqual(histogramBaseline(histogram), { '0': 1, '1': 1 });
  });

  it('measures the float outputs other than the class output', () => {
    const specs = [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      { name: 'embedding', datatype: 'FP16', shape: [-1, 8] },
    ] as const;
    assert.deepEqual(
      numericOutputsOf(specs.map((spec) => ({ ...spec, shape: [...spec.shape] }))).map((spec) => spec.name),
      ['probabilities', 'embedding'],
    );
  });

  it('in seeded simulation: windows of 500 requests from the reference distribution stay under 0.1; a shift of one standard deviation is over 0.25', () => {
    const random = seededRandom(5);
    const histogram = valueHistogram(Array.from({ length: 20_000 }, () => normal(random)));
    assert.ok(histogram);
    const windows = (shift: number, count: number): number[] => {
      const tallies = new DriftTallies();
      const figures: number[] = [];
      while (figures.length < count) {
        // One request: 4 values, as a small output would give.
        const values = Array.from({ length: 4 }, () => normal(random) + shift);
        const counts: Record<string, number> = {};
        for (const value of values) {
          const bin = String(binOf(histogram.edges, value));
          counts[bin] = (counts[bin] ?? 0) + 1;
        }
        const psi = tallies.add('m', 1, 'y', histogramBaseline(histogram), counts, 'values');
        if (psi !== undefined) figures.push(psi);
      }
      return figures;
    };
    const steady = windows(0, 200);
    const falseAlarms = steady.filter((psi) => psi >= 0.1).length;
    assert.ok(falseAlarms <= 2, `${falseAlarms} of 200 steady windows at 0.1 or above`);
    const shifted = windows(1, 20);
    assert.ok(
      shifted.every((psi) => psi > 0.25),
      `shifted windows: ${shifted.map((psi) => psi.toFixed(2))}`,
    );
  });

  it('keeps one tally per output: a class tally fills on rows, a values tally on requests', () => {
    const tallies = new DriftTallies();
    let classFigure: number | undefined;
    for (let request = 0; request < MIN_DRIFT_ANSWERS / 2; request++) {
      // Two rows a request: the class tally fills after 250 requests.
      classFigure ??= tallies.add('m', 2, 'label', { '0': 1, '1': 1 }, { '0': 2 });
    }
    assert.ok(classFigure !== undefined && classFigure > 0.25);
    let valuesFigure: number | undefined;
    let requests = 0;
    while (valuesFigure === undefined) {
      requests++;
      valuesFigure = tallies.add('m', 2, 'score', { '0': 1, '1': 1 }, { '0': 4, '1': 4 }, 'values');
    }
    assert.equal(requests, MIN_DRIFT_ANSWERS);
    assert.ok(valuesFigure < 0.01);
    assert.deepEqual(Object.keys(tallies.figures('m')['2'] ?? {}).sort(), ['label', 'score']);
    assert.deepEqual(tallies.figures('other'), {});
  });
});
