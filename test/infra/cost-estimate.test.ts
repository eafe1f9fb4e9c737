import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SluiceStack } from '../../lib/cdk/sluice-stack.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { IDLE_TICK_REQUESTS } from '../../lib/core/cost/driver-tick-requests.js';
import type { CostEstimate } from '../../lib/core/cost/estimate-cost.js';
import { UNIT_PRICES } from '../../lib/core/cost/unit-prices.js';
import { DEFAULT_KEEP_VERSIONS } from '../../lib/core/rollout/retention.js';
import { runSluiceInProcess } from '../fixtures/sluice-cli.js';
import { SHA_A, SHA_B } from './stack-fixture.js';

const SECONDS_PER_MONTH = 2_629_800;

describe('sluice cost: a month of the synthesized app, from its templates', () => {
  let dir: string;
  let template: Template;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-cost-'));
    const app = new App({ outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
    const config = parseDeployConfig(
      {
        models: [
          { name: 'iris', version: 1, sha256: SHA_A },
          {
            name: 'digits',
            version: 2,
            sha256: SHA_B,
            memoryMb: 2048,
            architecture: 'arm64',
            provisionedConcurrency: 2,
          },
        ],
      },
      'test config',
    );
    const stack = new SluiceStack(app, 'Sluice', {
      config,
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    template = Template.fromStack(stack);
    app.synth();
  });

  after(() => rm(dir, { recursive: true, force: true }));

  const estimate = async (...args: string[]): Promise<CostEstimate> => {
    const run = await runSluiceInProcess(['cost', '--app', dir, '--json', ...args], dir);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout);
  };
  const line = (estimate: CostEstimate, item: RegExp) => {
    const found = estimate.lines.find((candidate) => item.test(candidate.item));
    assert.ok(
      found,
      `a line matching ${item}: ${estimate.lines.map((candidate) => candidate.item).join('; ')}`,
    );
    return found;
  };

  it("prices each model's function at its memory and architecture, and the requests at the REST API's price", async () => {
    const result = await estimate('--requests', '2000000', '--ms', '30');
    // 1,000,000 requests each: iris 1 GB x86, digits 2 GB arm64, 30 ms.
    assert.equal(line(result, /duration of iris/).quantity, 1_000_000 * 1 * 0.03);
    assert.equal(line(result, /duration of iris/).price.usd, UNIT_PRICES.lambdaGbSecondX86.usd);
    assert.equal(line(result, /duration of digits/).quantity, 1_000_000 * 2 * 0.03);
    assert.equal(line(result, /duration of digits/).price.usd, UNIT_PRICES.lambdaGbSecondArm.usd);
    assert.equal(line(result, /REST API/).monthlyUsd, 7);
    const perRequest = result.lines.filter((candidate) => candidate.kind === 'per-request');
    const variable = perRequest.reduce((sum, candidate) => sum + candidate.monthlyUsd, 0);
    assert.ok(Math.abs(result.perMillionRequestsUsd - variable / 2) < 1e-9);
  });

  it('counts the standing costs the template holds: keys, alarms, dashboards, the schedule, provisioned concurrency', async () => {
    const result = await estimate();
    const resources = template.toJSON().Resources as Record<string, { Type: string }>;
    const count = (type: string) =>
      Object.values(resources).filter((resource) => resource.Type === type).length;
    assert.equal(line(result, /KMS keys/).quantity, count('AWS::KMS::Key'));
    assert.equal(line(result, /dashboards/).quantity, count('AWS::CloudWatch::Dashboard'));
    // A drift alarm per model and the failure queue's: one metric each.
    assert.equal(line(result, /alarms in the template/).quantity, count('AWS::CloudWatch::Alarm'));
    // The control plane's five alarms per Lambda version read eight metrics; the routed version and those kept.
    assert.equal(line(result, /version alarms/).quantity, 2 * (DEFAULT_KEEP_VERSIONS + 1) * 8);
    // Requests, Latency, Predictions, RejectedInputs, Errors, InvalidOutputs, ModelLoadTime, ColdStart, under one
    // dimension set (a routed request's, with FunctionVersion), for each of the two models.
    assert.equal(line(result, /custom metrics/).quantity, 2 * 8);
    assert.equal(line(result, /provisioned concurrency of digits/).quantity, 2 * 2 * SECONDS_PER_MONTH);
    assert.equal(
      result.lines.some((candidate) => /provisioned concurrency of iris/.test(candidate.item)),
      false,
    );
    // One tick a minute; each makes the driver's and each model's calls.
    const ticks = line(result, /ticks \(schedule\)/).quantity;
    assert.equal(Math.round(ticks), 43_830);
    assert.equal(
      line(result, /S3 LIST and PUT/).quantity,
      ticks * (IDLE_TICK_REQUESTS.perDriver.s3ListOrPut + 2 * IDLE_TICK_REQUESTS.perModel.s3ListOrPut),
    );
  });

  it('prints a table with the unit prices and their pages, and refuses a directory without a synthesized app', async () => {
    const run = await runSluiceInProcess(['cost', '--app', dir], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /standing: \d+\.\d\d USD a month; each million requests adds \d+\.\d\d USD/);
    assert.match(run.stdout, /https:\/\/aws\.amazon\.com\/lambda\/pricing\//);
    const missing = await runSluiceInProcess(['cost', '--app', join(dir, 'nothing')], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no cloud assembly at .*nothing: run `npx cdk synth` first/);
    const bad = await runSluiceInProcess(['cost', '--app', dir, '--requests', 'many'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--requests must be a number >= 0; got "many"/);
  });

  it('traces nothing by default (no function, no stage, no X-Ray line); "tracing": true traces both and prices the traces', async () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { SLUICE_MODEL: 'iris' } } },
    });
    assert.equal(Object.keys(functions).length, 1);
    for (const fn of Object.values(functions))
      assert.equal((fn as { Properties: { TracingConfig?: unknown } }).Properties.TracingConfig, undefined);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    const untraced = await estimate();
    assert.equal(
      untraced.lines.some((candidate) => /X-Ray/.test(candidate.item)),
      false,
    );

    const tracedDir = await mkdtemp(join(tmpdir(), 'sluice-cost-traced-'));
    try {
      const app = new App({ outdir: tracedDir, context: { 'aws:cdk:bundling-stacks': [] } });
      const config = parseDeployConfig(
        { tracing: true, models: [{ name: 'iris', version: 1, sha256: SHA_A }] },
        'test config',
      );
      const stack = new SluiceStack(app, 'Sluice', {
        config,
        env: { account: '123456789012', region: 'eu-west-1' },
      });
      const traced = Template.fromStack(stack);
      traced.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { SLUICE_MODEL: 'iris' } },
        TracingConfig: { Mode: 'Active' },
      });
      traced.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
      app.synth();
      const run = await runSluiceInProcess(['cost', '--app', tracedDir, '--json'], tracedDir);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as CostEstimate;
      assert.equal(line(result, /X-Ray/).price.usd, UNIT_PRICES.xrayTrace.usd);
    } finally {
      await rm(tracedDir, { recursive: true, force: true });
    }
  });

  it('prices each front door: REST 3.50, HTTP API 1.00 a million, function URLs nothing of their own, CloudFront its requests', async () => {
    const doorEstimate = async (api: Record<string, unknown>): Promise<CostEstimate> => {
      const doorDir = await mkdtemp(join(tmpdir(), 'sluice-cost-door-'));
      try {
        const app = new App({ outdir: doorDir, context: { 'aws:cdk:bundling-stacks': [] } });
        const config = parseDeployConfig(
          { api, models: [{ name: 'iris', version: 1, sha256: SHA_A }] },
          'test config',
        );
        new SluiceStack(app, 'Sluice', { config, env: { account: '123456789012', region: 'eu-west-1' } });
        app.synth();
        const run = await runSluiceInProcess(['cost', '--app', doorDir, '--json'], doorDir);
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout) as CostEstimate;
      } finally {
        await rm(doorDir, { recursive: true, force: true });
      }
    };
    const doorLines = (result: CostEstimate) =>
      result.lines
        .filter((candidate) => /API requests|URL requests|CloudFront/.test(candidate.item))
        .map((candidate) => [candidate.item, candidate.monthlyUsd]);
    const http = await doorEstimate({ door: 'http' });
    assert.deepEqual(doorLines(http), [['HTTP API requests', 1]]);
    const urls = await doorEstimate({ door: 'function-url' });
    assert.deepEqual(doorLines(urls), [['function URL requests', 0]]);
    const rest = await estimate();
    assert.ok(
      rest.perMillionRequestsUsd - http.perMillionRequestsUsd > 2.5,
      'REST costs 2.50 a million more',
    );
    assert.ok(http.perMillionRequestsUsd > urls.perMillionRequestsUsd);
    const fronted = await doorEstimate({ door: 'function-url', auth: 'none', cloudFront: true });
    assert.deepEqual(doorLines(fronted), [
      ['function URL requests', 0],
      ['CloudFront requests (before the function URLs)', 1],
    ]);
  });
});
