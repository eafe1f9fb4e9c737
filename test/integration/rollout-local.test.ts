import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HEALTH_MIN_SAMPLES, HEALTH_WINDOW_MS, HealthWindow } from '../../lib/local/HealthWindow.js';
import { LOCAL_ROUTING_TTL_MS, LOCAL_STACK_ACTOR } from '../../lib/local/LocalAliasResolver.js';
import { LocalRolloutTarget } from '../../lib/local/LocalRolloutTarget.js';
import {
  DEFAULT_LOCAL_MAX_ERROR_RATE,
  DEFAULT_LOCAL_MAX_P99_MS,
  LocalConfigError,
  readLocalConfig,
} from '../../lib/local/local-config.js';
import {
  LocalHealthResponseSchema,
  LocalRefreshResponseSchema,
  localHealthPath,
  localRefreshPath,
} from '../../lib/local/local-routes.js';
import { pickVersion } from '../../lib/local/pick-version.js';
import { WATCHDOG_INTERVAL_MS } from '../../lib/local/RollbackWatchdog.js';
import { planRollout } from '../../lib/rollout/plan-rollout.js';
import { bodyOf, ErrorBodySchema, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { runtimeFailureModel } from '../fixtures/models.js';
import {
  countByVersion,
  IRIS_INFER_REQUEST,
  irisSample,
  localEngine,
  publishIrisAs,
  publishPinnedIris,
  rolloutStoreOf,
  sendTraffic,
  waitForState,
} from '../fixtures/rollouts.js';

const THRESHOLDS = { maxErrorRate: 0.05, maxP99Ms: 1_000 } as const;
const T0 = 1_700_000_000_000;

describe('HealthWindow: error rate and p99 latency per version over a sliding window', () => {
  it('says unknown below the minimum sample count, whatever the outcomes', () => {
    const window = new HealthWindow();
    for (let i = 0; i < HEALTH_MIN_SAMPLES - 1; i++)
      window.record('m', 2, { status: 500, latencyMs: 1 }, T0 + i);
    const report = window.judge('m', 2, THRESHOLDS, T0 + 100);
    assert.equal(report.verdict, 'unknown');
    assert.match(
      report.reasons.join(),
      new RegExp(`${HEALTH_MIN_SAMPLES - 1} requests .* at least ${HEALTH_MIN_SAMPLES}`),
    );
  });

  it('is unhealthy when the share of 5xx answers is above the limit, healthy at or below it', () => {
    const window = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 19; i++) window.record('m', 2, { status: 200, latencyMs: 1 }, T0);
    window.record('m', 2, { status: 503, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0).verdict, 'healthy', '1 of 20 = 5% is within 5%');
    window.record('m', 2, { status: 500, latencyMs: 1 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0);
    assert.equal(report.verdict, 'unhealthy');
    assert.match(
      report.reasons[0] ?? '',
      /error rate 9\.5% \(2 of 21 requests in the last 30 s\) is above the limit of 5\.0%/,
    );
  });

  it('does not count 4xx answers as errors: bad input is the client, not the version', () => {
    const window = new HealthWindow({ minSamples: 1 });
    for (let i = 0; i < 10; i++) window.record('m', 2, { status: 400, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0).verdict, 'healthy');
  });

  it('is unhealthy when the p99 latency is above the limit', () => {
    const window = new HealthWindow({ minSamples: 1 });
    for (let i = 0; i < 99; i++) window.record('m', 2, { status: 200, latencyMs: 5 }, T0);
    window.record('m', 2, { status: 200, latencyMs: 1_500 }, T0);
    assert.equal(
      window.judge('m', 2, THRESHOLDS, T0).verdict,
      'healthy',
      'one slow request in 100 is above p99',
    );
    window.record('m', 2, { status: 200, latencyMs: 1_500 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0);
    assert.equal(report.verdict, 'unhealthy');
    assert.match(report.reasons[1] ?? '', /p99 latency 1500 ms is above the limit of 1000 ms/);
  });

  it('forgets outcomes older than the window', () => {
    const window = new HealthWindow({ minSamples: 5 });
    for (let i = 0; i < 10; i++) window.record('m', 2, { status: 500, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0 + HEALTH_WINDOW_MS).verdict, 'unhealthy');
    assert.equal(window.judge('m', 2, THRESHOLDS, T0 + HEALTH_WINDOW_MS + 1).verdict, 'unknown');
    assert.deepEqual(window.models(T0 + HEALTH_WINDOW_MS + 1), []);
  });

  it('reports the traffic split of the alias: routed requests per version, not requests naming a version', () => {
    const window = new HealthWindow();
    window.record('m', 1, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 1, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 2, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 2, { status: 200, latencyMs: 1, routed: false }, T0);
    window.record('other', 1, { status: 200, latencyMs: 1 }, T0);
    assert.deepEqual(window.requests('m', T0), { '1': 2, '2': 1 });
    assert.equal(window.figures('m', 2, T0).requests, 2, 'health judges every request of the version');
  });

  it('keeps at most maxSamples outcomes per version, dropping the oldest', () => {
    const window = new HealthWindow({ maxSamples: 3, minSamples: 1 });
    window.record('m', 2, { status: 500, latencyMs: 1 }, T0);
    for (let i = 0; i < 3; i++) window.record('m', 2, { status: 200, latencyMs: 1 }, T0);
    assert.deepEqual(window.figures('m', 2, T0), { requests: 3, errors: 0, errorRate: 0, p99Ms: 1 });
  });
});

describe('pickVersion: a request goes to the candidate with probability weight / 100', () => {
  it('sends everything to the stable version without a candidate or at weight 0', () => {
    assert.equal(pickVersion({ stable: 1, weight: 0 }, 0), 1);
    assert.equal(pickVersion({ stable: 1, candidate: 2, weight: 0 }, 0), 1);
  });

  it('sends a draw below weight/100 to the candidate and the rest to the stable version', () => {
    const routing = { stable: 1, candidate: 2, weight: 10 };
    assert.equal(pickVersion(routing, 0), 2);
    assert.equal(pickVersion(routing, 0.0999), 2);
    assert.equal(pickVersion(routing, 0.1), 1);
    assert.equal(pickVersion(routing, 0.9999), 1);
    assert.equal(pickVersion({ stable: 1, candidate: 2, weight: 100 }, 0.9999), 2);
  });
});

describe('readLocalConfig: the local health thresholds, read once from the environment', () => {
  it('defaults to a 5% error rate and a 1000 ms p99', () => {
    assert.deepEqual(readLocalConfig({}).health, {
      maxErrorRate: DEFAULT_LOCAL_MAX_ERROR_RATE,
      maxP99Ms: DEFAULT_LOCAL_MAX_P99_MS,
    });
    assert.deepEqual(
      readLocalConfig({ SLUICE_LOCAL_MAX_ERROR_RATE: '0.2', SLUICE_LOCAL_MAX_P99_MS: '250' }).health,
      {
        maxErrorRate: 0.2,
        maxP99Ms: 250,
      },
    );
  });

  it('fails fast naming the variable and the value it got', () => {
    assert.throws(
      () => readLocalConfig({ SLUICE_LOCAL_MAX_ERROR_RATE: '5%' }),
      (error: unknown) =>
        error instanceof LocalConfigError && /SLUICE_LOCAL_MAX_ERROR_RATE .* got "5%"/.test(error.message),
    );
    assert.throws(
      () => readLocalConfig({ SLUICE_LOCAL_MAX_P99_MS: '-1' }),
      /SLUICE_LOCAL_MAX_P99_MS .* got "-1"/,
    );
  });
});

let test: TestStack;

before(async () => {
  test = await startTestStack({ publishSamples: false });
});

after(async () => {
  await test?.stop();
});

describe('Local aliases: the unversioned routes follow the rollout state, by weight', () => {
  it('pins the newest version of a model never deployed at its first requests, once, and holds it like an alias', async () => {
    await publishIrisAs(test, 'fresh');
    await publishIrisAs(test, 'fresh');
    // Concurrent first requests race to pin: one write wins, every request is served by the pinned version.
    const first = await Promise.all(
      Array.from({ length: 8 }, () => sendTraffic(test, 'fresh', { count: 1 })),
    );
    assert.deepEqual(countByVersion(first.flat()), { '2': 8 });
    const pinned = await rolloutStoreOf(test).current('fresh');
    assert.equal(pinned?.revision, 1, 'exactly one pin was written');
    assert.equal(pinned?.stable, 2);
    assert.equal(pinned?.history[0]?.actor, LOCAL_STACK_ACTOR);
    assert.match(pinned?.history[0]?.reason ?? '', /pinned by the first request to fresh: v2/);

    // As on AWS, publishing does not move the alias; `sluice deploy` does.
    await publishIrisAs(test, 'fresh');
    await new Promise((resolve) => setTimeout(resolve, LOCAL_ROUTING_TTL_MS));
    assert.deepEqual(countByVersion(await sendTraffic(test, 'fresh', { count: 10 })), { '2': 10 });
    const explicit = await test.request('POST', '/v2/models/fresh/versions/3/infer', IRIS_INFER_REQUEST);
    assert.equal(explicit.status, 200, 'the new version answers on its own route at once');
  });

  it('splits traffic by the candidate weight, reports the split it observed, and stops at once on rollback', async () => {
    await publishPinnedIris(test, 'split');
    await publishIrisAs(test, 'split');
    const engine = localEngine(test);
    await engine.deploy('split', { version: 2, plan: planRollout({ strategy: 'manual', weight: 30 }) });

    const n = 300;
    const outcomes = await sendTraffic(test, 'split', { count: n });
    const share = (countByVersion(outcomes)['2'] ?? 0) / n;
    // Binomial(300, 0.3): 4 standard deviations (4 * 0.026) either side fails about once in 15,000 runs.
    const slack = 4 * Math.sqrt((0.3 * 0.7) / n);
    assert.ok(
      Math.abs(share - 0.3) <= slack,
      `candidate share ${share} should be 0.30 +- ${slack.toFixed(3)}`,
    );
    assert.ok(outcomes.every((outcome) => outcome.status === 200));

    const health = bodyOf(await test.request('GET', localHealthPath('split', 2)), LocalHealthResponseSchema);
    assert.deepEqual(health.requests, countByVersion(outcomes), 'the stack saw exactly what the client saw');
    assert.equal(health.verdict, 'healthy', health.reasons.join('; '));
    const target = new LocalRolloutTarget({ apiUrl: test.url, registry: test.stack.registry });
    assert.deepEqual(
      await target.traffic('split'),
      { requests: countByVersion(outcomes), windowMs: HEALTH_WINDOW_MS },
      'the observed split sluice status shows',
    );

    // The target asks the stack to re-read the state: no request after the rollback reaches the candidate.
    await engine.rollback('split', 'test is over');
    const afterwards = await sendTraffic(test, 'split', { count: 30 });
    assert.deepEqual(countByVersion(afterwards), { '1': 30 });
  });

  it('keeps the stable version pinned when a newer version is published without a rollout', async () => {
    await publishPinnedIris(test, 'pinned');
    await publishIrisAs(test, 'pinned');
    await new Promise((resolve) => setTimeout(resolve, LOCAL_ROUTING_TTL_MS));
    assert.deepEqual(countByVersion(await sendTraffic(test, 'pinned', { count: 10 })), { '1': 10 });
  });
});

describe('Local routes: /_sluice/health and /_sluice/refresh answer JSON, 400 for bad input', () => {
  it('refuses a bad version or model name and answers the routing after a refresh', async () => {
    await publishIrisAs(test, 'routes');
    for (const path of [
      '/_sluice/health/routes?version=abc',
      '/_sluice/health/%zz?version=1',
      '/_sluice/refresh',
      '/_sluice/traffic?model=Not%20A%20Name',
    ]) {
      const reply = await test.request('GET', path);
      assert.equal(reply.status, 400, `${path}: ${reply.text}`);
      assert.match(bodyOf(reply, ErrorBodySchema).error, /version|model/);
    }
    const refresh = await test.request('GET', localRefreshPath('routes'));
    assert.deepEqual(bodyOf(refresh, LocalRefreshResponseSchema), { model: 'routes', weight: 0 });
  });
});

describe('LocalRolloutTarget: acts on the local stack over HTTP only', () => {
  it('prepares a published version and refuses one that does not exist', async () => {
    await publishIrisAs(test, 'target');
    const target = new LocalRolloutTarget({ apiUrl: test.url, registry: test.stack.registry });
    await target.assertExclusive('target');
    await target.prepare('target', 1);
    await assert.rejects(target.prepare('target', 9), /target version 9 is not ready .* 404: .*no version 9/);
  });

  it('runs the golden examples against the version and names each mismatch', async () => {
    const { extras } = await irisSample();
    const wrong = structuredClone(extras);
    const first = wrong.goldenExamples?.[0]?.outputs.find((output) => output.name === 'label');
    assert.ok(first, 'the iris sample has a golden label');
    first.data = [2];
    const version = await publishIrisAs(test, 'target', wrong);
    const target = new LocalRolloutTarget({ apiUrl: test.url, registry: test.stack.registry });

    const good = await target.checkGolden('target', 1);
    assert.deepEqual(good, { passed: true, examples: extras.goldenExamples?.length, failures: [] });
    const bad = await target.checkGolden('target', version);
    assert.equal(bad.passed, false);
    assert.deepEqual(bad.failures, ['example 1, output "label"[0]: expected 2, got 0']);
  });

  it('reads the health of a version from the stack, unknown while it has too little traffic', async () => {
    const target = new LocalRolloutTarget({ apiUrl: test.url, registry: test.stack.registry });
    const report = await target.health('target', 7);
    assert.equal(report.verdict, 'unknown');
    assert.deepEqual(report.requests, {});
  });

  it('fails with a clear message when the stack is not there', async () => {
    const target = new LocalRolloutTarget({ apiUrl: 'http://127.0.0.1:9', registry: test.stack.registry });
    await assert.rejects(
      target.health('target', 1),
      /cannot reach the local stack at http:\/\/127\.0\.0\.1:9/,
    );
  });
});

describe('Rollback watchdog: a failing canary is rolled back with nobody watching', () => {
  it('rolls back a version that fails at run time while a client keeps sending requests', async () => {
    await publishPinnedIris(test, 'fragile');
    // No golden examples: nothing stops the version before it takes traffic, only the health window can.
    const bad = await test.stack.registry.publish({ name: 'fragile', model: runtimeFailureModel() });
    const weight = 10;
    await localEngine(test).deploy('fragile', {
      version: bad.version,
      plan: planRollout({ strategy: 'canary', weight, intervalMs: 10 * 60_000 }),
    });

    // About 100 requests a second for 4 s: the candidate reaches the minimum samples after ~200 requests,
    // and the watchdog (every 500 ms) rolls it back well before the client is done.
    const n = 400;
    const outcomes = await sendTraffic(test, 'fragile', { count: n, gapMs: 8 });
    const state = await waitForState(test, 'fragile', (current) => current?.status === 'idle', 5_000);
    assert.equal(state?.stable, 1);
    const rollback = state?.history.at(-1);
    assert.equal(rollback?.action, 'rollback');
    assert.equal(rollback?.actor, LOCAL_STACK_ACTOR);
    assert.equal(rollback?.candidate, bad.version);
    assert.match(rollback?.reason ?? '', /error rate 100\.0% .* is above the limit of 5\.0%/);

    const failed = outcomes.filter((outcome) => outcome.status >= 500);
    assert.ok(
      failed.every((outcome) => outcome.version === bad.version),
      'only the candidate failed',
    );
    // The watchdog judged the candidate only once the window had the minimum samples, all failures.
    assert.ok(failed.length >= HEALTH_MIN_SAMPLES, `${failed.length} failures before the rollback`);
    // While rolling, each request fails with probability 0.10 (the weight), afterwards with 0: the failures are
    // at most a Binomial(400, 0.10), mean 40, sd 6. Mean + 3 sd is exceeded about once in 700 runs even if no
    // rollback happened; the window's minimum samples over n (0.05) adds slack for scheduling noise. Bound:
    // 0.10 + 3 * 0.015 + 20 / 400 = 0.195.
    const bound = weight / 100 + 3 * Math.sqrt((0.1 * 0.9) / n) + HEALTH_MIN_SAMPLES / n;
    assert.ok(failed.length / n <= bound, `failed share ${failed.length / n} should be <= ${bound}`);

    // The watchdog acted promptly: within one of its intervals (plus a store round trip and scheduling slack on a
    // busy machine) of the request that gave the window its minimum sample count.
    const judgeable = failed[HEALTH_MIN_SAMPLES - 1];
    assert.ok(judgeable);
    const reaction = Date.parse(state?.history.at(-1)?.at ?? '') - judgeable.startedAt;
    assert.ok(
      reaction <= WATCHDOG_INTERVAL_MS + 1_500,
      `rolled back ${reaction} ms after the ${HEALTH_MIN_SAMPLES}th failure`,
    );

    // The candidate's traffic stopped at once: nothing sent after the rollback (plus the routing TTL, the
    // longest any cache could lag) reached it, and requests sent now all succeed.
    const rolledBackAt = Date.parse(rollback?.at ?? '');
    const late = outcomes.filter((outcome) => outcome.startedAt > rolledBackAt + LOCAL_ROUTING_TTL_MS);
    assert.ok(late.every((outcome) => outcome.version === 1 && outcome.status === 200));
    const now = await sendTraffic(test, 'fragile', { count: 50 });
    assert.deepEqual(countByVersion(now), { '1': 50 });
    assert.ok(now.every((outcome) => outcome.status === 200));

    const health = bodyOf(
      await test.request('GET', localHealthPath('fragile', bad.version)),
      LocalHealthResponseSchema,
    );
    assert.equal(health.verdict, 'unhealthy');
    assert.equal(health.lastRollback?.candidate, bad.version);
  });

  it('writes nothing for a healthy candidate', async () => {
    await publishPinnedIris(test, 'sturdy');
    await publishIrisAs(test, 'sturdy');
    await localEngine(test).deploy('sturdy', {
      version: 2,
      plan: planRollout({ strategy: 'manual', weight: 50 }),
    });
    const before = await rolloutStoreOf(test).current('sturdy');
    await sendTraffic(test, 'sturdy', { count: 60 });
    assert.deepEqual(await test.stack.watchdog.tick(), []);
    assert.equal((await rolloutStoreOf(test).current('sturdy'))?.revision, before?.revision);
  });
});
