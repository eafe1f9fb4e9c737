import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorsSettingsSchema, corsHeaders, preflightHeaders } from '../../lib/core/contract/cors.js';
import { HealthWindow } from '../../lib/local/HealthWindow.js';

const listed = CorsSettingsSchema.parse({
  allowOrigins: ['https://app.example.com', 'http://localhost:5173'],
});
const any = CorsSettingsSchema.parse({ allowOrigins: ['*'], maxAgeSeconds: 30 });

describe("CORS headers: one rule for the local stack and a REST door's functions", () => {
  it('names a listed origin back, with Vary: Origin and the headers a page may read', () => {
    const headers = corsHeaders(listed, 'http://localhost:5173');
    assert.equal(headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.equal(headers.vary, 'Origin');
    assert.equal(
      headers['access-control-expose-headers'],
      'x-sluice-model-version, x-sluice-model, x-request-id, inference-header-content-length',
    );
  });

  it('names no origin for an unlisted one or none, and still varies on Origin so no cache mixes them', () => {
    assert.deepEqual(corsHeaders(listed, 'https://evil.example'), { vary: 'Origin' });
    assert.deepEqual(corsHeaders(listed, undefined), { vary: 'Origin' });
    assert.equal(preflightHeaders(listed, 'https://evil.example'), undefined);
  });

  it('"*" allows every origin, with nothing to vary on', () => {
    assert.equal(corsHeaders(any, 'https://whoever.example')['access-control-allow-origin'], '*');
    assert.equal(corsHeaders(any, 'https://whoever.example').vary, undefined);
    assert.equal(preflightHeaders(any, 'https://whoever.example')?.['access-control-max-age'], '30');
  });

  it("a preflight allows the contract's methods and headers, kept for the default 600 s", () => {
    const headers = preflightHeaders(listed, 'https://app.example.com');
    assert.equal(headers?.['access-control-allow-methods'], 'GET, POST');
    assert.match(
      headers?.['access-control-allow-headers'] ?? '',
      /^content-type, inference-header-content-length, authorization/,
    );
    assert.equal(headers?.['access-control-max-age'], '600');
  });
});

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
