import assert from 'node:assert/strict';
import { request as httpRequestRaw } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { pickVersion } from '../../lib/core/rollout/pick-version.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { startRollout, WATCH_MS } from '../../lib/core/rollout/rollout-transitions.js';
import { HEALTH_MIN_SAMPLES, HEALTH_WINDOW_MS, HealthWindow } from '../../lib/local/HealthWindow.js';
import { LOCAL_STACK_ACTOR } from '../../lib/local/LocalAliasResolver.js';
import {
  DEFAULT_LOCAL_ERROR_RATE_PERCENT,
  DEFAULT_LOCAL_INVALID_OUTPUTS,
  DEFAULT_LOCAL_P99_MS,
  DEFAULT_LOCAL_REJECTED_INCREASE_PERCENT,
  LocalConfigError,
  readLocalConfig,
} from '../../lib/local/local-config.js';
import {
  CONTROL_TOKEN_HEADER,
  LocalHealthResponseSchema,
  LocalTrafficResponseSchema,
  localHealthPath,
  localRolloutPath,
  localTrafficPath,
  RolloutStatusResponseSchema,
} from '../../lib/local/local-routes.js';
import { StackRolloutClient } from '../../lib/local/StackRolloutClient.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import {
  bodyOf,
  cyclingDraws,
  ErrorBodySchema,
  httpRequest,
  readMetrics,
  sample,
  startTestStack,
  TestClock,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel, runtimeFailureModel } from '../fixtures/models.js';
import {
  countByVersion,
  IRIS_INFER_REQUEST,
  irisSample,
  localEngine,
  publishIrisAs,
  publishPinnedIris,
  rolloutStoreOf,
  sendTraffic,
  trafficUntil,
} from '../fixtures/rollouts.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

const THRESHOLDS = {
  errorRatePercent: 5,
  p99LatencyMs: 1_000,
  invalidOutputs: 1,
  rejectedInputsPercent: 10,
} as const;
const T0 = 1_700_000_000_000;

describe('HealthWindow: error rate and p99 latency per version over a sliding window', () => {
  it('judges only what the alias routed: a smoke test naming the version cannot hide a failing candidate', () => {
    const window = new HealthWindow();
    // 40 routed requests, a quarter failing, and 1,200 successful requests to /versions/2 beside them.
    for (let i = 0; i < 40; i++) window.record('m', 2, { status: i % 4 === 0 ? 500 : 200, latencyMs: 1 }, T0);
    for (let i = 0; i < 1_200; i++) window.record('m', 2, { status: 200, latencyMs: 1, routed: false }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000 });
    assert.equal(report.verdict, 'unhealthy');
    assert.match(report.reasons[0] ?? '', /error rate 25\.0% \(10 of 40 requests/);
  });

  it('judges NaN outputs on any number of requests, as the AWS alarm counts them per minute', () => {
    const window = new HealthWindow();
    for (let i = 0; i < 3; i++) window.record('m', 2, { status: 200, latencyMs: 1, invalidOutputs: 2 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000 });
    assert.equal(report.verdict, 'unhealthy');
    assert.match(report.reasons.join('; '), /6 NaN or infinite output values/);
  });

  it('judges on the sample the plan asks for: 5 requests for --min-requests 5, none for 0', () => {
    const window = new HealthWindow();
    for (let i = 0; i < 5; i++) window.record('m', 2, { status: 200, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000 }).verdict, 'unknown');
    assert.equal(
      window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000, minRequests: 5 }).verdict,
      'healthy',
    );
    assert.equal(
      window.judge('m', 3, THRESHOLDS, T0, { sinceMs: T0 - 1_000, minRequests: 0 }).verdict,
      'healthy',
    );
    // A failure among 5 is 20 %: with 5 asked for, it is judged.
    window.record('m', 4, { status: 500, latencyMs: 1 }, T0);
    for (let i = 0; i < 4; i++) window.record('m', 4, { status: 200, latencyMs: 1 }, T0);
    assert.equal(
      window.judge('m', 4, THRESHOLDS, T0, { sinceMs: T0 - 1_000, minRequests: 5 }).verdict,
      'unhealthy',
    );
  });

  it('never counts a model load as latency, and judges p99 against the stable version of the same period', () => {
    const window = new HealthWindow();
    // After a restart both versions reload and answer slowly; the first requests of each waited for the load.
    for (let i = 0; i < 30; i++) {
      window.record('m', 1, { status: 200, latencyMs: i < 2 ? 4_000 : 1_600 }, T0);
      window.record('m', 2, { status: 200, latencyMs: i < 2 ? 4_000 : 1_650, waitedForLoad: i < 2 }, T0);
    }
    const report = window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000, stable: 1 });
    assert.equal(report.verdict, 'healthy', report.reasons.join('; '));
    // Without the stable version's figures, the absolute ceiling judges the same candidate.
    assert.equal(window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000 }).verdict, 'unhealthy');
  });

  it('says unknown below the minimum sample count, whatever the outcomes', () => {
    const window = new HealthWindow();
    for (let i = 0; i < HEALTH_MIN_SAMPLES - 1; i++)
      window.record('m', 2, { status: 500, latencyMs: 1 }, T0 + i);
    const report = window.judge('m', 2, THRESHOLDS, T0 + 100);
    assert.equal(report.verdict, 'unknown');
    assert.match(
      report.reasons.join(),
      new RegExp(`${HEALTH_MIN_SAMPLES - 1} answers .* at least ${HEALTH_MIN_SAMPLES}`),
    );
  });

  it('is unhealthy when the share of 5xx answers is at or above the limit (as the AWS alarm), healthy below it', () => {
    const window = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 20; i++) window.record('m', 2, { status: 200, latencyMs: 1 }, T0);
    window.record('m', 2, { status: 503, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0).verdict, 'healthy', '1 of 21 = 4.8% is below 5%');
    window.record('m', 2, { status: 500, latencyMs: 1 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0);
    assert.equal(report.verdict, 'unhealthy');
    assert.match(
      report.reasons[0] ?? '',
      /error rate 9\.1% \(2 of 22 requests in the last 30 s\) is at or above the limit of 5\.0%/,
    );
  });

  it('is unhealthy once a version writes NaN or infinite outputs, as the AWS alarm is', () => {
    const window = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 20; i++) window.record('m', 2, { status: 200, latencyMs: 1, invalidOutputs: 0 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0).verdict, 'healthy');
    window.record('m', 2, { status: 200, latencyMs: 1, invalidOutputs: 3 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0);
    assert.equal(report.verdict, 'unhealthy');
    assert.match(
      report.reasons.join('; '),
      /3 NaN or infinite output values in the last 30 s \(the limit is 1\)/,
    );
  });

  it('does not count 4xx answers as errors: bad input is the client, not the version', () => {
    const window = new HealthWindow({ minSamples: 1 });
    for (let i = 0; i < 10; i++) window.record('m', 2, { status: 400, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0).verdict, 'healthy');
  });

  it('is unhealthy when the p99 latency is at or above the limit', () => {
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
    assert.match(
      report.reasons.join('; '),
      /p99 latency 1[45]\d\d ms in the last 30 s is at or above the limit of 1000 ms/,
    );
  });

  it('forgets outcomes older than the window', () => {
    const window = new HealthWindow({ minSamples: 5 });
    for (let i = 0; i < 10; i++) window.record('m', 2, { status: 500, latencyMs: 1 }, T0);
    assert.equal(window.judge('m', 2, THRESHOLDS, T0 + HEALTH_WINDOW_MS).verdict, 'unhealthy');
    // Counts are kept per second: a request leaves the window with its second.
    assert.equal(window.judge('m', 2, THRESHOLDS, T0 + HEALTH_WINDOW_MS + 1_000).verdict, 'unknown');
    assert.deepEqual(window.models(T0 + HEALTH_WINDOW_MS + 1_000), []);
  });

  it('reports the traffic split of the alias: routed requests per version, not requests naming a version', () => {
    const window = new HealthWindow();
    window.record('m', 1, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 1, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 2, { status: 200, latencyMs: 1, routed: true }, T0);
    window.record('m', 2, { status: 200, latencyMs: 1, routed: false }, T0);
    window.record('other', 1, { status: 200, latencyMs: 1 }, T0);
    assert.deepEqual(window.requests('m', T0), { '1': 2, '2': 1 });
    const figures = window.figures('m', 2, T0 - HEALTH_WINDOW_MS, T0);
    assert.equal(figures.requests, 1, 'health judges only what the alias routed');
    assert.equal(figures.direct, 1, 'a request naming the version is counted apart');
  });

  it('counts every request exactly: a 90/10 split of 114,000 reads 90/10', () => {
    const window = new HealthWindow();
    for (let i = 0; i < 114_000; i++) {
      window.record('m', i % 10 === 0 ? 6 : 2, { status: 200, latencyMs: 1 }, T0 + Math.floor(i / 10));
    }
    const at = T0 + 11_400;
    assert.deepEqual(window.requests('m', at), { '2': 102_600, '6': 11_400 });
    const report = window.judge('m', 6, THRESHOLDS, at, { sinceMs: T0 });
    assert.equal(report.candidateRequests, 11_400);
    assert.match(report.reasons[0] ?? '', /0 of 11400 requests since the step began/);
  });

  it('counts the evidence of a step from its start, however long ago, and judges the whole step', () => {
    const window = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 30; i++) window.record('m', 2, { status: 200, latencyMs: 1 }, T0 + i * 60_000);
    const at = T0 + 30 * 60_000;
    const recent = window.judge('m', 2, THRESHOLDS, at);
    assert.equal(recent.verdict, 'unknown', 'one request in the last 30 s');
    const step = window.judge('m', 2, THRESHOLDS, at, { sinceMs: T0 });
    assert.equal(step.verdict, 'healthy');
    assert.equal(step.candidateRequests, 30);
    assert.equal(window.judge('m', 2, THRESHOLDS, at, { sinceMs: T0 + 20 * 60_000 }).candidateRequests, 10);
  });

  it('fails a candidate that refuses clearly more inputs than the stable version (a renamed input)', () => {
    const window = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 100; i++) window.record('m', 1, { status: i < 5 ? 400 : 200, latencyMs: 1 }, T0);
    for (let i = 0; i < 40; i++) window.record('m', 2, { status: i < 28 ? 400 : 200, latencyMs: 1 }, T0);
    const report = window.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000, stable: 1 });
    assert.equal(report.verdict, 'unhealthy');
    assert.match(
      report.reasons.join(),
      /refused inputs 70\.0% \(28 of 40\) since the step began against 5\.0% for the stable version \(5 of 100\) in the same period/,
    );
    // The same share of refusals as the stable version is the clients' doing, not the candidate's.
    const same = new HealthWindow({ minSamples: 20 });
    for (let i = 0; i < 100; i++) same.record('m', 1, { status: i < 30 ? 400 : 200, latencyMs: 1 }, T0);
    for (let i = 0; i < 40; i++) same.record('m', 2, { status: i < 12 ? 400 : 200, latencyMs: 1 }, T0);
    assert.equal(same.judge('m', 2, THRESHOLDS, T0, { sinceMs: T0 - 1_000, stable: 1 }).verdict, 'healthy');
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
      errorRatePercent: DEFAULT_LOCAL_ERROR_RATE_PERCENT,
      p99LatencyMs: DEFAULT_LOCAL_P99_MS,
      invalidOutputs: DEFAULT_LOCAL_INVALID_OUTPUTS,
      rejectedInputsPercent: DEFAULT_LOCAL_REJECTED_INCREASE_PERCENT,
    });
    assert.deepEqual(
      readLocalConfig({
        SLUICE_LOCAL_MAX_ERROR_RATE: '0.2',
        SLUICE_LOCAL_MAX_P99_MS: '250',
        SLUICE_LOCAL_MAX_REJECTED_INCREASE: '0.5',
        SLUICE_LOCAL_MAX_INVALID_OUTPUTS: '4',
      }).health,
      { errorRatePercent: 20, p99LatencyMs: 250, invalidOutputs: 4, rejectedInputsPercent: 50 },
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
  test = await startTestStack({
    publishSamples: false,
    random: cyclingDraws(),
    shadowRandom: cyclingDraws(),
    clock: new TestClock(),
  });
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
    assert.deepEqual(countByVersion(await sendTraffic(test, 'fresh', { count: 10 })), { '2': 10 });
    const explicit = await test.request('POST', '/v2/models/fresh/versions/3/infer', IRIS_INFER_REQUEST);
    assert.equal(explicit.status, 200, 'the new version answers on its own route at once');
  });

  it('splits traffic by the candidate weight, reports the split it observed, and stops at once on rollback', async () => {
    await publishPinnedIris(test, 'split');
    await publishIrisAs(test, 'split');
    const engine = localEngine(test);
    await engine.deploy('split', { version: 2, plan: planRollout({ strategy: 'manual', weight: 30 }) });

    // The stack's routing draws cycle through tenths: 300 requests at 30 % send exactly 90 to the candidate.
    const outcomes = await sendTraffic(test, 'split', { count: 300 });
    assert.deepEqual(countByVersion(outcomes), { '1': 210, '2': 90 });
    assert.ok(outcomes.every((outcome) => outcome.status === 200));

    const health = bodyOf(await test.request('GET', localHealthPath('split', 2)), LocalHealthResponseSchema);
    assert.deepEqual(health.requests, countByVersion(outcomes), 'the stack saw exactly what the client saw');
    assert.equal(health.verdict, 'healthy', health.reasons.join('; '));
    assert.deepEqual(
      bodyOf(await test.request('GET', localTrafficPath('split')), LocalTrafficResponseSchema),
      { model: 'split', requests: countByVersion(outcomes), windowMs: HEALTH_WINDOW_MS, drift: {} },
      'the observed split sluice status shows',
    );

    // The stack's own states route: no request after the rollback reaches the candidate.
    await engine.rollback('split', 'test is over');
    const afterwards = await sendTraffic(test, 'split', { count: 30 });
    assert.deepEqual(countByVersion(afterwards), { '1': 30 });
  });

  it('keeps the stable version pinned when a newer version is published without a rollout', async () => {
    await publishPinnedIris(test, 'pinned');
    await publishIrisAs(test, 'pinned');
    assert.deepEqual(countByVersion(await sendTraffic(test, 'pinned', { count: 10 })), { '1': 10 });
  });
});

describe('Local routes: /_sluice/health, /_sluice/traffic and /_sluice/rollouts answer JSON, 400 for bad input', () => {
  it('refuses a bad version or model name, and reports a model never deployed as idle', async () => {
    await publishIrisAs(test, 'routes');
    for (const path of [
      '/_sluice/health/routes?version=abc',
      '/_sluice/health/%zz?version=1',
      '/_sluice/traffic?model=Not%20A%20Name',
      '/_sluice/rollouts/Not%20A%20Name',
    ]) {
      const reply = await test.request('GET', path);
      assert.equal(reply.status, 400, `${path}: ${reply.text}`);
      assert.match(bodyOf(reply, ErrorBodySchema).error, /version|model/);
    }
    const status = bodyOf(await test.request('GET', localRolloutPath('routes')), RolloutStatusResponseSchema);
    assert.deepEqual(status, { decision: { kind: 'idle' }, history: [] });
    const unknown = await test.request(
      'POST',
      localRolloutPath('routes', 'deploy').replace('deploy', 'explode'),
      {},
    );
    assert.equal(unknown.status, 404, unknown.text);
  });
});

describe('sluice --local: the stack carries out rollout commands itself, so the next request routes by them', () => {
  const client = () =>
    new StackRolloutClient({ apiUrl: test.url, actor: 'cli', controlToken: test.stack.controlToken });

  it('deploys through the stack: the very next requests are split by the new weight, and the events name the cli', async () => {
    await publishPinnedIris(test, 'asked');
    await publishIrisAs(test, 'asked');
    const state = await client().deploy('asked', {
      version: 2,
      plan: planRollout({ strategy: 'manual', weight: 50 }),
    });
    assert.deepEqual([state.status, state.candidate, state.weight], ['rolling', 2, 50]);
    assert.equal(state.history.at(-1)?.actor, 'cli');
    assert.deepEqual(countByVersion(await sendTraffic(test, 'asked', { count: 10 })), { '1': 5, '2': 5 });
    const promoted = await client().promote('asked', {});
    assert.equal(promoted.status, 'idle');
    assert.deepEqual(countByVersion(await sendTraffic(test, 'asked', { count: 10 })), { '2': 10 });
    const report = await client().status('asked');
    assert.equal(report.state?.stable, 2);
    assert.deepEqual(report.decision, { kind: 'idle' });
  });

  it('answers a refused command with 409 and the reason, and changes nothing', async () => {
    const { extras } = await irisSample();
    const wrong = structuredClone(extras);
    const first = wrong.goldenExamples?.[0]?.outputs.find((output) => output.name === 'label');
    assert.ok(first, 'the iris sample has a golden label');
    first.data = [2];
    await publishPinnedIris(test, 'refused');
    const version = await publishIrisAs(test, 'refused', wrong);
    const before = await rolloutStoreOf(test).current('refused');
    await assert.rejects(
      client().deploy('refused', { version, plan: planRollout({ strategy: 'canary' }) }),
      /failed its golden examples and gets no traffic:\n {2}- example 1, output "label"\[0\]: expected 2, got 0/,
    );
    const after = await rolloutStoreOf(test).current('refused');
    assert.equal(after?.status, 'idle');
    assert.equal(after?.stable, before?.stable);
    assert.equal(after?.history.at(-1)?.action, 'golden-failed');
    await assert.rejects(
      client().rollback('refused', 'nothing to roll back'),
      /no rollout|not rolling|in progress/i,
    );
  });

  it('answers a plan the engine would refuse with 400 and the reason: a manual plan with a shadow phase', async () => {
    await publishPinnedIris(test, 'bad-plan');
    await publishIrisAs(test, 'bad-plan');
    const plan = { ...planRollout({ strategy: 'manual' }), shadowPercent: 10 };
    const reply = await fetch(`${test.url}${localRolloutPath('bad-plan', 'deploy')}`, {
      method: 'POST',
      body: JSON.stringify({ actor: 'cli', version: 2, plan }),
      headers: { 'content-type': 'application/json', [CONTROL_TOKEN_HEADER]: test.stack.controlToken },
    });
    assert.equal(reply.status, 400);
    assert.match(await reply.text(), /invalid plan: a manual rollout plan has no shadow phase/);
    assert.equal((await rolloutStoreOf(test).current('bad-plan'))?.status, 'idle', 'nothing was deployed');
  });

  it('refuses commands a web page could send: no or a wrong control token, a form content type, another origin or Host (403)', async () => {
    await publishPinnedIris(test, 'guarded');
    await publishIrisAs(test, 'guarded');
    const body = JSON.stringify({ actor: 'cli', version: 2, plan: planRollout({ strategy: 'manual' }) });
    const path = localRolloutPath('guarded', 'deploy');
    const token = { [CONTROL_TOKEN_HEADER]: test.stack.controlToken };
    const send = async (headers: Record<string, string>) => {
      const reply = await fetch(`${test.url}${path}`, { method: 'POST', body, headers });
      return { status: reply.status, text: await reply.text() };
    };
    const form = await send({ 'content-type': 'text/plain', ...token });
    assert.equal(form.status, 403);
    assert.match(form.text, /Content-Type: application\/json/);
    const tokenless = await send({ 'content-type': 'application/json' });
    assert.equal(tokenless.status, 403);
    assert.match(tokenless.text, /control token .*none was sent/);
    const wrong = await send({ 'content-type': 'application/json', [CONTROL_TOKEN_HEADER]: 'f'.repeat(32) });
    assert.equal(wrong.status, 403);
    assert.match(wrong.text, /not this start's/);
    const foreign = await send({
      'content-type': 'application/json',
      origin: 'https://evil.example',
      ...token,
    });
    assert.equal(foreign.status, 403);
    assert.match(foreign.text, /only the local stack's own origin/);
    // DNS rebinding: a page of rebound.example, its name resolving to 127.0.0.1, sends its own name as the Host.
    const rebound = await requestWithHost(test.url, path, 'rebound.example:80', body, token);
    assert.equal(rebound.status, 403);
    assert.match(rebound.text, /Host it listens on/);
    const readByRebound = await requestWithHost(test.url, localRolloutPath('guarded'), 'rebound.example:80');
    assert.equal(readByRebound.status, 403, "reads of the stack's own routes are refused too");
    const get = await httpRequest(test.url, 'GET', path);
    assert.equal(get.status, 405, get.text);
    assert.equal((await rolloutStoreOf(test).current('guarded'))?.status, 'idle', 'nothing was deployed');
    const localhost = await fetch(
      `${test.url.replace('127.0.0.1', 'localhost')}${localRolloutPath('guarded')}`,
    );
    assert.equal(localhost.status, 200, 'localhost names the stack too');
  });

  it('fails with a clear message when the stack is not there', async () => {
    const gone = new StackRolloutClient({
      apiUrl: 'http://127.0.0.1:9',
      actor: 'cli',
      controlToken: '0'.repeat(32),
    });
    await assert.rejects(gone.status('target'), /cannot reach the local stack at http:\/\/127\.0\.0\.1:9/);
  });
});

/** A request naming `host` as its Host (fetch may not set one), read whole. */
function requestWithHost(
  url: string,
  path: string,
  host: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequestRaw(
      `${url}${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        headers: { host, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('Local rollout driver: the stack carries rollouts to their end with no command running', () => {
  it('promotes a healthy canary under traffic step by step, with the engine, as the scheduler does on AWS', async () => {
    await publishPinnedIris(test, 'steady');
    await publishIrisAs(test, 'steady');
    await localEngine(test).deploy('steady', {
      version: 2,
      plan: planRollout({ strategy: 'canary', weight: 50, intervalMs: 1_000, minRequests: 20 }),
    });
    const { state, outcomes } = await trafficUntil(test, 'steady', (current) => current?.status === 'idle', {
      maxRequests: 3_000,
    });
    assert.equal(state?.stable, 2);
    assert.deepEqual(
      state?.history.slice(-2).map((event) => [event.action, event.actor]),
      [
        ['deploy', 'test'],
        ['promote', LOCAL_STACK_ACTOR],
      ],
    );
    assert.match(state?.history.at(-1)?.reason ?? '', /health healthy/);
    assert.ok(outcomes.every((outcome) => outcome.status === 200));

    // The watch window: status says v2 is still judged, until WATCH_MS after the promotion; then it says nothing.
    const clock = test.clock as TestClock;
    const status = () =>
      runSluiceInProcess(['status', 'steady', '--local'], test.home, {}, { now: clock.now });
    const watching = await status();
    assert.equal(watching.code, 0, describeRun(watching));
    assert.match(
      watching.stdout,
      new RegExp(`watch      v2 is judged until ${state?.watchUntil}; a breach reverts the promotion`),
    );
    // The clock moved on a little since the promotion (each request steps it).
    const left = Date.parse(state?.watchUntil ?? '') - clock.now();
    assert.ok(left > WATCH_MS - 60_000 && left <= WATCH_MS, `${left} ms left of ${WATCH_MS}`);
    clock.advance(left);
    const after = await status();
    assert.doesNotMatch(after.stdout, /watch {6}/);
  });

  it('deploy --watch sets the watch window after the promotion; --watch 0 leaves none', async () => {
    await publishPinnedIris(test, 'unwatched');
    await publishIrisAs(test, 'unwatched');
    const deploy = (watch: string, version: string) =>
      runSluiceInProcess(
        [
          'deploy',
          'unwatched',
          '--version',
          version,
          '--strategy',
          'all-at-once',
          '--watch',
          watch,
          '--local',
          '--no-wait',
        ],
        test.home,
      );
    const none = await deploy('0', '2');
    assert.equal(none.code, 0, describeRun(none));
    const { state } = await trafficUntil(test, 'unwatched', (current) => current?.status === 'idle', {
      maxRequests: 3_000,
    });
    assert.equal(state?.stable, 2);
    assert.equal(state?.plan, undefined);
    assert.equal(state?.watchUntil, undefined);
    await publishIrisAs(test, 'unwatched');
    const half = await deploy('30m', '3');
    assert.equal(half.code, 0, describeRun(half));
    const watched = await trafficUntil(test, 'unwatched', (current) => current?.stable === 3, {
      maxRequests: 3_000,
    });
    const left = Date.parse(watched.state?.watchUntil ?? '') - (test.clock as TestClock).now();
    assert.ok(left > 29 * 60_000 && left <= 30 * 60_000, `${left} ms left of 30 minutes`);
    const refused = await deploy('soon', '2');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /invalid duration "soon"/);
  });

  it('a stack restarted mid-rollout resumes it at its weight, earns the evidence again, and promotes the healthy candidate', async () => {
    // A stack of its own on a data folder the restart reuses; the rollout state is in the embedded store, written
    // at each transition, so stopping the first stack keeps what a kill would (its health window is memory only).
    const clock = new TestClock();
    const first = await startTestStack({ publishSamples: false, random: cyclingDraws(), clock });
    await publishPinnedIris(first, 'restarted');
    await publishIrisAs(first, 'restarted');
    await localEngine(first).deploy('restarted', {
      version: 2,
      plan: planRollout({ strategy: 'canary', weight: 50, intervalMs: 60_000, minRequests: 20 }),
    });
    const before = await sendTraffic(first, 'restarted', { count: 30 });
    assert.deepEqual(Object.keys(countByVersion(before)).sort(), ['1', '2']);
    await first.stack.stop();

    const second = await startTestStack({ random: cyclingDraws(), clock, home: first.home });
    try {
      const resumed = await rolloutStoreOf(second).current('restarted');
      assert.deepEqual([resumed?.status, resumed?.candidate, resumed?.weight], ['rolling', 2, 50]);
      // The first requests after the restart reload both versions; the step is judged on what the new stack saw.
      const { state, outcomes } = await trafficUntil(
        second,
        'restarted',
        (current) => current?.status === 'idle',
        {
          maxRequests: 3_000,
        },
      );
      assert.equal(state?.stable, 2);
      assert.ok(outcomes.every((outcome) => outcome.status === 200));
      const actions = state?.history.map((event) => event.action) ?? [];
      assert.ok(!actions.includes('rollback'), actions.join(', '));
      assert.match(state?.history.at(-1)?.reason ?? '', /health healthy/);
    } finally {
      await second.stop();
    }
  });

  it('never promotes a candidate without traffic: the bake is extended, and the health route says why', async () => {
    await publishPinnedIris(test, 'quiet');
    await publishIrisAs(test, 'quiet');
    const started = await localEngine(test).deploy('quiet', {
      version: 2,
      plan: planRollout({ strategy: 'all-at-once' }),
    });
    for (let tick = 0; tick < 3; tick++) await test.stack.driver.tick();
    const state = await rolloutStoreOf(test).current('quiet');
    assert.equal(state?.revision, started.revision, 'nothing was decided on no evidence');
    assert.equal(state?.status, 'rolling');
    const report = await localEngine(test).status('quiet');
    assert.ok(report.decision.kind === 'wait');
    assert.match(
      report.decision.detail ?? '',
      /bake extended: v2 answered 0 of the 20 requests a step needs/,
    );
  });

  it('rolls back a version that fails at run time; only the candidate failed, and traffic stops at once', async () => {
    await publishPinnedIris(test, 'fragile');
    // No golden examples: nothing stops the version before it takes traffic, only its health can.
    const bad = await publishVersion(test.stack.registry, { name: 'fragile', model: runtimeFailureModel() });
    await localEngine(test).deploy('fragile', {
      version: bad.version,
      plan: planRollout({ strategy: 'canary', weight: 50, intervalMs: 10 * 60_000 }),
    });
    const { state, outcomes } = await trafficUntil(test, 'fragile', (current) => current?.status === 'idle', {
      maxRequests: 2_000,
    });
    assert.equal(state?.stable, 1);
    const rollback = state?.history.at(-1);
    assert.deepEqual(
      [rollback?.action, rollback?.actor, rollback?.candidate],
      ['rollback', LOCAL_STACK_ACTOR, bad.version],
    );
    assert.match(rollback?.reason ?? '', /error rate 100\.0% .* is at or above the limit of 5\.0%/);
    const failed = outcomes.filter((outcome) => outcome.status >= 500);
    assert.ok(failed.length >= HEALTH_MIN_SAMPLES, `${failed.length} failures were needed to judge`);
    assert.ok(
      failed.every((outcome) => outcome.version === bad.version),
      'only the candidate failed',
    );

    const now = await sendTraffic(test, 'fragile', { count: 50 });
    assert.deepEqual(countByVersion(now), { '1': 50 });
    assert.ok(now.every((outcome) => outcome.status === 200));
  });

  it('rolls back a candidate whose model cannot load: every 503 counts against the version it was routed to', async () => {
    await publishPinnedIris(test, 'unloadable');
    const candidate = await publishIrisAs(test, 'unloadable');
    const client = test.stack.store.createClient();
    // One byte changed in the stored model: its sha256 no longer matches the manifest, so it is never served.
    const key = `models/unloadable/${candidate}/model.onnx`;
    const stored = await client.send(new GetObjectCommand({ Bucket: test.stack.store.bucket, Key: key }));
    const bytes = await stored.Body?.transformToByteArray();
    assert.ok(bytes);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await client.send(new PutObjectCommand({ Bucket: test.stack.store.bucket, Key: key, Body: bytes }));
    // As if it had been deployed before the corruption (a restart then finds it broken).
    const store = rolloutStoreOf(test);
    const pinned = await store.current('unloadable');
    assert.ok(pinned);
    await store.write(
      startRollout(pinned, {
        model: 'unloadable',
        candidate,
        plan: planRollout({ strategy: 'canary', weight: 30, intervalMs: 10 * 60_000 }),
        actor: 'test',
        now: Date.now(),
      }),
    );

    const { state, outcomes } = await trafficUntil(
      test,
      'unloadable',
      (current) => current?.status === 'idle',
      {
        maxRequests: 2_000,
      },
    );
    assert.equal(state?.stable, 1);
    assert.equal(state?.history.at(-1)?.action, 'rollback');
    assert.match(state?.history.at(-1)?.reason ?? '', /error rate 100\.0%/);
    const refused = outcomes.filter((outcome) => outcome.status === 503);
    assert.ok(refused.length > 0);
    assert.ok(
      refused.every((outcome) => outcome.version === candidate),
      'each 503 names the version it was routed to',
    );
    const metrics = await readMetrics(test);
    assert.equal(metrics.get(sample('sluice_requests_total', 'unloadable', candidate)), refused.length);
  });

  it("rolls back a candidate that refuses existing clients' input (a renamed input), however few errors it has", async () => {
    await publishPinnedIris(test, 'renamed');
    // The same shape under another input name: every iris client's request is refused by it with 400.
    const renamed = await publishVersion(test.stack.registry, {
      name: 'renamed',
      model: identityModel('FP32', [-1, 4]),
    });
    await localEngine(test).deploy('renamed', {
      version: renamed.version,
      plan: planRollout({ strategy: 'canary', weight: 50, intervalMs: 10 * 60_000 }),
    });
    const { state } = await trafficUntil(test, 'renamed', (current) => current?.status === 'idle', {
      maxRequests: 2_000,
    });
    assert.equal(state?.stable, 1);
    assert.equal(state?.history.at(-1)?.action, 'rollback');
    assert.match(
      state?.history.at(-1)?.reason ?? '',
      /refused inputs 100\.0% \(\d+ of \d+\) .*against 0\.0% for the stable version/,
    );
  });
});
