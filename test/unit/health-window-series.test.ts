import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthWindow } from '../../lib/local/HealthWindow.js';

describe("HealthWindow.series: the console's periods count each second once", () => {
  it('puts each outcome in the period of its second, with quantiles of its latencies and null where none', () => {
    const window = new HealthWindow();
    const start = 1_800_000_000_000;
    for (let second = 0; second < 30; second++) {
      window.record(
        'iris',
        1,
        { status: second === 7 ? 500 : 200, latencyMs: 10 + second },
        start + second * 1000,
      );
    }
    const points = window.series('iris', 1, start, start + 40_000, 10_000);
    assert.deepEqual(
      points.map((point) => [point.at - start, point.requests + point.direct, point.errors]),
      [
        [0, 10, 1],
        [10_000, 10, 0],
        [20_000, 10, 0],
        [30_000, 0, 0],
      ],
    );
    // Seconds 10..19 took 20..29 ms: the p99 of ten is the ninth or tenth, within DDSketch's 1 %.
    const p99 = points[1]?.p99Ms ?? 0;
    assert.ok(p99 >= 28 * 0.99 && p99 <= 29 * 1.01, `p99 of 20..29 ms: ${p99}`);
    assert.equal(points[3]?.p50Ms, null);
    const total = points.reduce((sum, point) => sum + point.requests + point.direct, 0);
    assert.equal(total, 30, "no second counted twice at the periods' edges");
  });
});
