import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../lib/cli/run-cli.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { firstDeploy, startRollout } from '../../lib/core/rollout/rollout-transitions.js';
import { CONTROL_TOKEN_META } from '../../lib/local/console-routes.js';
import type { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { CONTROL_TOKEN_HEADER, ConsoleStateSchema } from '../../lib/local/local-routes.js';
import { EmfServingMetrics } from '../../lib/serving/metrics/EmfServingMetrics.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { launchBrowser, PAGE_WAIT_MS } from '../fixtures/browser.js';
import type { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';
import { type IrisCanaryOnAws, irisCanaryOnAws } from '../fixtures/iris-canary-on-aws.js';
import { startTestStack } from '../fixtures/local-stack.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const FUNCTION = 'Sluice-Modeliris-Function-AbC123';
const REGION = 'eu-west-1';
/** The console's clock: half a minute into a minute, so the last whole minutes are settled. */
const NOW = Date.parse('2026-11-30T10:30:30.000Z');

let canary: IrisCanaryOnAws;
let home: string;
let store: LocalObjectStore;
let rollouts: RolloutStore;
let aws: FakeAwsControlPlane;

before(async () => {
  canary = await irisCanaryOnAws(FUNCTION);
  ({ home, store, aws } = canary);
  // Ten minutes of the function's own EMF: 9 requests a minute on v1 (Lambda version 5), 1 on v2 (6), one of
  // v2's failing, as the predict function writes them and CloudWatch takes them from its log group.
  for (let minute = 10; minute >= 1; minute--) {
    const at = NOW - 30_000 - minute * 60_000;
    const stable = new EmfServingMetrics(
      (line) => aws.ingestLog(line, at),
      '5',
      () => at,
    );
    const candidate = new EmfServingMetrics(
      (line) => aws.ingestLog(line, at),
      '6',
      () => at,
    );
    for (let request = 0; request < 9; request++) {
      stable.recordInference({
        model: 'iris',
        version: 1,
        status: 200,
        latencyMs: 2 + request,
        predictions: 1,
        invalidOutputs: 0,
      });
    }
    candidate.recordInference({
      model: 'iris',
      version: 2,
      status: minute === 3 ? 500 : 200,
      latencyMs: 4,
      predictions: minute === 3 ? 0 : 1,
      invalidOutputs: 0,
    });
    // And in the last minute one request that named v2 (a smoke test): the set without FunctionVersion.
    if (minute === 1) {
      stable.recordInference({
        model: 'iris',
        version: 2,
        status: 200,
        latencyMs: 4,
        predictions: 1,
        invalidOutputs: 0,
        routed: false,
      });
    }
  }
  rollouts = new RolloutStore({ store: store.objects() });
  // The builds the states name (Lambda versions 5 and 6): a routed request's metrics are per build.
  const stable = await rollouts.write({
    ...firstDeploy({ model: 'iris', version: 1, actor: 'cdk', now: NOW - 3_600_000 }),
    functionName: FUNCTION,
    stableBuild: '5',
  });
  await rollouts.write({
    ...startRollout(stable, {
      model: 'iris',
      candidate: 2,
      plan: planRollout({ strategy: 'manual', weight: 10 }),
      actor: 'cli',
      now: NOW - 600_000,
    }),
    candidateBuild: '6',
  });
});

after(() => canary.stop());

/** A request with any Host (fetch may not set one), read whole. */
function send(
  url: string,
  options: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('sluice console on AWS: the console page read through the SDK, served on 127.0.0.1 by the CLI', () => {
  const stop = new AbortController();
  let url: string;
  let exited: Promise<number>;
  let stderr = '';
  before(async () => {
    let announced: (url: string) => void = () => {};
    const address = new Promise<string>((resolve) => {
      announced = resolve;
    });
    exited = runCli(
      [
        'console',
        '--bucket',
        store.bucket,
        '--endpoint',
        store.endpoint,
        '--region',
        REGION,
        '--port',
        '0',
        '--allow-actions',
      ],
      {
        stdout: (text) => {
          const found = /on (http:\/\/127\.0\.0\.1:[0-9]+)\//.exec(text);
          if (found?.[1]) announced(found[1]);
        },
        stderr: (text) => {
          stderr += text;
        },
        interactive: false,
        signal: stop.signal,
        now: () => NOW,
        awsClients: { lambda: aws.lambda, cloudwatch: aws.cloudwatch, logs: aws.logs },
        env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      },
    );
    url = await Promise.race([
      address,
      exited.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr}`))),
    ]);
  });
  after(async () => {
    stop.abort();
    assert.equal(await exited, 0, stderr);
  });

  it("shows the rollout as status reads it (the state names the model's function) and each version's minutes from CloudWatch", async () => {
    aws.journal.length = 0;
    const reply = await send(`${url}/_sluice/console/state?minutes=15`);
    assert.equal(reply.status, 200, reply.text);
    const state = ConsoleStateSchema.parse(JSON.parse(reply.text));
    assert.equal(state.source, 'aws');
    assert.equal(state.periodMs, 60_000, 'CloudWatch keeps these metrics per minute');
    assert.equal(state.thresholds, undefined, "each model's alarms have their own");
    const [iris] = state.models;
    assert.equal(iris?.name, 'iris');
    assert.deepEqual(
      iris?.versions.map((version) => version.version),
      [2, 1],
    );
    assert.deepEqual(
      {
        status: iris?.rollout.state?.status,
        candidate: iris?.rollout.state?.candidate,
        weight: iris?.rollout.state?.weight,
      },
      { status: 'rolling', candidate: 2, weight: 10 },
    );
    const sum = (version: string, field: 'requests' | 'direct' | 'errors') =>
      (iris?.series[version] ?? []).reduce((total, point) => total + point[field], 0);
    assert.equal(sum('1', 'requests'), 90);
    assert.equal(sum('2', 'requests'), 10, "v2's routed requests (build 6)");
    assert.equal(sum('2', 'direct'), 1, 'and the one that named it');
    assert.equal(sum('2', 'errors'), 1);
    const latency = iris?.series['1']?.find((point) => point.p99Ms !== null);
    assert.ok(latency && latency.p99Ms !== null && latency.p99Ms >= 9, 'p99 of 2..10 ms');
    // Status reads Lambda's Invocations too; the charts read sluice's own metrics, per model and version: the set
    // of the requests that named it, and each build's routed set, found by a search.
    const queries = aws.account.calls('GetMetricData').flatMap(
      (input) =>
        (
          input as {
            MetricDataQueries: {
              Id: string;
              Expression?: string;
              MetricStat?: { Metric: { Namespace: string; Dimensions: { Name: string; Value: string }[] } };
            }[];
          }
        ).MetricDataQueries,
    );
    // The named requests' set by its dimensions; each build's routed set found by a search, whatever the builds.
    const named = new Set(
      queries
        // The console's own queries (status reads each build's set too, for the gates).
        .filter((query) => query.MetricStat?.Metric.Namespace === 'Sluice' && query.Id.includes('_n_'))
        .map((query) =>
          (query.MetricStat?.Metric.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(','),
        ),
    );
    assert.deepEqual([...named].sort(), [
      'service=sluice,Model=iris,Version=1',
      'service=sluice,Model=iris,Version=2',
    ]);
    const searches = queries.flatMap((query) => query.Expression ?? []);
    assert.ok(
      searches.includes(
        `SUM(SEARCH('{Sluice,FunctionVersion,Model,Version,service} MetricName="Requests" Model="iris" Version="2"', 'Sum', 60))`,
      ),
      searches.join('\n'),
    );
    assert.equal(aws.sequence().includes('UpdateAlias'), false, 'reading changes nothing');
  });

  it('serves the page with the control token only because --allow-actions was given, and only to its own Host', async () => {
    const page = await send(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`<meta name="${CONTROL_TOKEN_META}" content="[0-9a-f]{32}">`));
    const rebound = await send(`${url}/_sluice/console/state`, { host: 'rebound.example:80' });
    assert.equal(rebound.status, 403);
    assert.equal(
      (await send(`${url}/v2/models/iris/infer`, { method: 'POST' })).status,
      404,
      'no model API here',
    );
  });

  it("draws the page in a real browser: the source, the routing and both versions' charts, with no script error", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${url}/`);
      await page.waitForFunction(
        () =>
          (
            globalThis as unknown as { document: { body: { textContent: string } } }
          ).document.body.textContent.includes('v2 candidate at 10%'),
        { timeout: PAGE_WAIT_MS, polling: 100 },
      );
      const text = await page.$eval('body', (body) => body.textContent ?? '');
      assert.match(text, /sluice AWS/);
      assert.match(text, /each version's alarms/);
      const docsHidden = await page.$eval(
        'a[href="/docs"]',
        (link) => (link as unknown as { hidden: boolean }).hidden,
      );
      assert.equal(docsHidden, true, 'no docs page on AWS');
      const series = await page.$eval('.chart[data-chart="requests"]', (chart) =>
        chart.getAttribute('data-series'),
      );
      assert.equal(series, 'v1,v2');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it("rolls back from the page's command through the CLI's engine on the alias, recorded with actor console", async () => {
    const token = /content="([0-9a-f]{32})"/.exec((await send(`${url}/`)).text)?.[1] ?? '';
    const body = JSON.stringify({ actor: 'console', reason: 'v2 fails requests' });
    const tokenless = await send(`${url}/_sluice/rollouts/iris/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(tokenless.status, 403);
    assert.equal((await rollouts.current('iris'))?.status, 'rolling', 'a refused command changes nothing');
    const done = await send(`${url}/_sluice/rollouts/iris/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [CONTROL_TOKEN_HEADER]: token },
      body,
    });
    assert.equal(done.status, 200, done.text);
    const state = await rollouts.current('iris');
    assert.equal(state?.status, 'idle');
    assert.deepEqual(
      {
        action: state?.history.at(-1)?.action,
        actor: state?.history.at(-1)?.actor,
        reason: state?.history.at(-1)?.reason,
      },
      { action: 'rollback', actor: 'console', reason: 'v2 fails requests' },
    );
    assert.deepEqual(
      aws.alias?.RoutingConfig?.AdditionalVersionWeights ?? {},
      {},
      'the alias sends v2 nothing',
    );
  });
});

describe('sluice console --local', () => {
  it("prints the running local stack's console address, and fails plainly when none runs", async () => {
    const local = await startTestStack();
    try {
      const printed = await runSluiceInProcess(['console', '--local'], local.home);
      assert.equal(printed.code, 0, describeRun(printed));
      assert.equal(printed.stdout, `${local.url}/\n`);
    } finally {
      await local.stop();
    }
    const none = await runSluiceInProcess(['console', '--local'], join(home, 'no-stack'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /local stack/i);
  });
});
