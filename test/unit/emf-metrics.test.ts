import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { EmfServingMetrics } from '../../lib/serving/metrics/EmfServingMetrics.js';

const EmfDocumentSchema = z.object({
  _aws: z.object({
    Timestamp: z.number().int(),
    CloudWatchMetrics: z
      .array(
        z.object({
          Namespace: z.literal('Sluice'),
          Dimensions: z.array(z.array(z.string())),
          Metrics: z.array(z.object({ Name: z.string(), Unit: z.string() })),
        }),
      )
      .length(1),
  }),
  service: z.literal('sluice'),
  Model: z.string(),
  Version: z.string(),
});

/** 2027-01-15T08:00:00Z, the start of a minute. */
const MINUTE_START = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);

/**
 * Metrics writing into `lines`, at a clock the test moves; the minute's first document of each version (which
 * writes every count) has been written already, so the documents a test makes are the minute's lean ones.
 */
function capture(): { lines: string[]; metrics: EmfServingMetrics; clock: { now: number } } {
  const lines: string[] = [];
  const clock = { now: MINUTE_START };
  const metrics = new EmfServingMetrics(
    (line) => lines.push(line),
    undefined,
    () => clock.now,
  );
  for (const version of [1, 3])
    metrics.recordInference({
      model: 'iris',
      version,
      status: 200,
      latencyMs: 1,
      predictions: 1,
      invalidOutputs: 0,
    });
  metrics.recordInference({
    model: 'm',
    version: 1,
    status: 200,
    latencyMs: 1,
    predictions: 1,
    invalidOutputs: 0,
  });
  lines.length = 0;
  return { lines, metrics, clock };
}

describe('EmfServingMetrics: one valid EMF document per request, per model and version', () => {
  it('writes every inference metric with its unit and the model/version dimensions', () => {
    const { lines, metrics } = capture();
    metrics.recordInference({
      model: 'iris',
      version: 3,
      status: 200,
      latencyMs: 1.23456,
      predictions: 4,
      invalidOutputs: 0,
    });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    const document = JSON.parse(lines[0] ?? '');
    const parsed = EmfDocumentSchema.parse(document);
    assert.equal(parsed.Model, 'iris');
    assert.equal(parsed.Version, '3');
    const [directive] = parsed._aws.CloudWatchMetrics;
    assert.deepEqual(directive?.Dimensions, [['service', 'Model', 'Version']]);
    const units = Object.fromEntries(directive?.Metrics.map((metric) => [metric.Name, metric.Unit]) ?? []);
    // Lean: a success's zero counts of refusals and errors are left out (their readers FILL a missing value with 0).
    assert.deepEqual(units, {
      Requests: 'Count',
      Latency: 'Milliseconds',
      Predictions: 'Count',
      InvalidOutputs: 'Count',
    });
    for (const name of Object.keys(units))
      assert.equal(typeof document[name], 'number', `${name} has a value`);
    assert.equal(document.Latency, 1.235);
    assert.equal(document.Predictions, 4);
    assert.equal(document.InvalidOutputs, 0, 'always written: its alarm reads it alone');
    assert.equal(document.Errors, undefined);
    assert.equal(document.RejectedInputs, undefined);
  });

  it('writes a drift figure under the version and output and, for the per-model alarm, under the model alone', () => {
    const lines: string[] = [];
    const metrics = new EmfServingMetrics(
      (line) => lines.push(line),
      '7',
      () => 1_800_000_000_000,
    );
    metrics.recordDrift('iris', 3, 'probabilities', 0.3125);
    const document = JSON.parse(lines[0] ?? '');
    const parsed = EmfDocumentSchema.parse(document);
    assert.deepEqual(parsed._aws.CloudWatchMetrics[0]?.Dimensions, [
      ['service', 'Model', 'Version', 'Output'],
      ['service', 'Model'],
    ]);
    assert.deepEqual(parsed._aws.CloudWatchMetrics[0]?.Metrics, [{ Name: 'DriftPsi', Unit: 'None' }]);
    assert.deepEqual(
      [document.Model, document.Version, document.Output, document.DriftPsi],
      ['iris', '3', 'probabilities', 0.313],
    );
    assert.equal(document._aws.Timestamp, 1_800_000_000_000);
  });

  it('counts a 4xx as a rejected input and a 5xx as an error', () => {
    const { lines, metrics } = capture();
    const record = {
      model: 'iris',
      version: 1,
      latencyMs: 1,
      predictions: 0,
      invalidOutputs: 0,
    };
    metrics.recordInference({ ...record, status: 400 });
    metrics.recordInference({ ...record, status: 503 });
    const [rejected, failed] = lines.map((line) => JSON.parse(line));
    const named = (document: { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } }) =>
      document._aws.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name);
    assert.equal(rejected.RejectedInputs, 1);
    assert.equal(rejected.Errors, undefined);
    assert.deepEqual(named(rejected), ['Requests', 'Latency', 'RejectedInputs', 'InvalidOutputs']);
    assert.equal(failed.RejectedInputs, undefined);
    assert.equal(failed.Errors, 1);
    assert.deepEqual(named(failed), ['Requests', 'Latency', 'Errors', 'InvalidOutputs']);
    assert.equal(rejected.Predictions, undefined, 'no rows predicted, none written');
  });

  it('writes every count, zeros included, in the first document of each minute of a version and routing', () => {
    const { lines, metrics, clock } = capture();
    const success = { model: 'iris', status: 200, latencyMs: 1, predictions: 1, invalidOutputs: 0 } as const;
    const names = (line: string) =>
      EmfDocumentSchema.parse(JSON.parse(line))._aws.CloudWatchMetrics[0]?.Metrics.map(
        (metric) => metric.Name,
      );
    const every = ['Requests', 'Latency', 'Predictions', 'RejectedInputs', 'Errors', 'InvalidOutputs'];
    const lean = ['Requests', 'Latency', 'Predictions', 'InvalidOutputs'];
    metrics.recordInference({ ...success, version: 3 });
    metrics.recordInference({ ...success, version: 3, routed: false });
    clock.now += 59_999;
    metrics.recordInference({ ...success, version: 3 });
    clock.now += 1;
    metrics.recordInference({ ...success, version: 3 });
    metrics.recordInference({ ...success, version: 3 });
    metrics.recordInference({ ...success, version: 4 });
    assert.deepEqual(lines.map(names), [lean, every, lean, every, lean, every]);
    const first = JSON.parse(lines[3] ?? '');
    assert.deepEqual(
      [first.RejectedInputs, first.Errors],
      [0, 0],
      'the zeros, so each minute has a datapoint',
    );
  });

  it('writes every metric a value it declares, in every combination of the optional ones', () => {
    const { lines, metrics } = capture();
    for (const status of [200, 400, 503])
      for (const predictions of [0, 3])
        for (const waitedForLoad of [false, true])
          metrics.recordInference({
            model: 'm',
            version: 1,
            status,
            latencyMs: 2,
            predictions,
            invalidOutputs: 1,
            waitedForLoad,
          });
    assert.equal(lines.length, 12);
    for (const line of lines) {
      const document = JSON.parse(line);
      const names = EmfDocumentSchema.parse(document)._aws.CloudWatchMetrics[0]?.Metrics.map(
        (metric) => metric.Name,
      );
      const written = Object.keys(document).filter(
        (key) => !['_aws', 'service', 'Model', 'Version'].includes(key),
      );
      assert.deepEqual(new Set(written), new Set(names), line);
      for (const name of names ?? []) assert.equal(typeof document[name], 'number');
    }
  });

  it('writes model load time and cold start on a load', () => {
    const { lines, metrics } = capture();
    metrics.recordModelLoad('iris', 2, 123.4, true);
    const document = JSON.parse(lines[0] ?? '');
    EmfDocumentSchema.parse(document);
    assert.equal(document.ModelLoadTime, 123.4);
    assert.equal(document.ColdStart, 1);
  });

  it('writes one dimension set a document: with FunctionVersion when it knows the Lambda version (a routed request, a load)', () => {
    const lines: string[] = [];
    const metrics = new EmfServingMetrics((line) => lines.push(line), '7');
    metrics.recordInference({
      model: 'iris',
      version: 3,
      status: 200,
      latencyMs: 1,
      predictions: 1,
      invalidOutputs: 0,
    });
    metrics.recordModelLoad('iris', 3, 10, false);
    for (const line of lines) {
      const document = JSON.parse(line);
      const parsed = EmfDocumentSchema.parse(document);
      // CloudWatch bills each dimension set of a metric as a metric: one set, not the model-version one besides.
      assert.deepEqual(parsed._aws.CloudWatchMetrics[0]?.Dimensions, [
        ['service', 'Model', 'Version', 'FunctionVersion'],
      ]);
      assert.equal(document.FunctionVersion, '7');
    }
    assert.equal(lines.length, 2);
  });
});

describe('readFunctionConfig: the Lambda version the function runs as', () => {
  const env = { SLUICE_BUCKET: 'models', SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '3' };

  it('takes a published version number and ignores $LATEST and its absence', () => {
    assert.equal(readFunctionConfig({ ...env, AWS_LAMBDA_FUNCTION_VERSION: '7' }).functionVersion, '7');
    assert.equal(
      readFunctionConfig({ ...env, AWS_LAMBDA_FUNCTION_VERSION: '$LATEST' }).functionVersion,
      undefined,
    );
    assert.equal(readFunctionConfig(env).functionVersion, undefined);
  });

  it("keeps a request that named its version out of the Lambda version's alarms, and a load wait out of Latency", () => {
    const lines: string[] = [];
    const metrics = new EmfServingMetrics((line) => lines.push(line), '7');
    const record = {
      model: 'iris',
      version: 3,
      status: 200,
      latencyMs: 1800,
      predictions: 1,
      invalidOutputs: 0,
    };
    metrics.recordInference({ ...record, routed: false });
    metrics.recordInference({ ...record, waitedForLoad: true });
    const [direct, waited] = lines.map((line) => JSON.parse(line));
    // The version alarms read the set with FunctionVersion: a smoke test or golden check naming v3 is not in it.
    assert.deepEqual(EmfDocumentSchema.parse(direct)._aws.CloudWatchMetrics[0]?.Dimensions, [
      ['service', 'Model', 'Version'],
    ]);
    assert.equal(direct.FunctionVersion, undefined);
    assert.equal(direct.Requests, 1);
    // Counted, with no Latency: 1.8 s of a model load is not the model's latency.
    const waitedMetrics = EmfDocumentSchema.parse(waited)._aws.CloudWatchMetrics[0]?.Metrics.map(
      (metric) => metric.Name,
    );
    assert.equal(waitedMetrics?.includes('Latency'), false);
    assert.equal(waited.Latency, undefined);
    assert.equal(waited.Requests, 1);
    assert.equal(waited.FunctionVersion, '7');
  });
});
