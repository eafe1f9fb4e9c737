import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { versionAlarmInput } from '../../lib/aws/cloudwatch/version-alarm-input.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import { parseDeployConfig } from '../../lib/core/config/deploy-config.js';
import { versionAlarmSpecs } from '../../lib/core/gates/version-alarm-specs.js';

const TARGET = {
  functionName: 'Sluice-Fn',
  alias: 'live',
  lambdaVersion: '7',
  model: 'iris',
  modelVersion: 4,
};
const specs = versionAlarmSpecs(TARGET, AlarmThresholdsSchema.parse({}));
const byKind = (kind: string) => specs.find((spec) => spec.kind === kind) ?? assert.fail(`no ${kind} alarm`);

describe('version alarms: one slow or failed minute never rolls a version back, and no data is no evidence', () => {
  it('evaluates every alarm 2 out of 3 one-minute periods by default (M out of N)', () => {
    for (const spec of specs) {
      assert.equal(spec.periodSeconds, 60, spec.alarmName);
      assert.equal(spec.evaluationPeriods, 3, spec.alarmName);
      assert.equal(spec.datapointsToAlarm, 2, spec.alarmName);
    }
  });

  it('treats missing data as missing (INSUFFICIENT_DATA, which the engine reads as unknown), never as not breaching', () => {
    for (const spec of specs) assert.equal(spec.treatMissingData, 'missing', spec.alarmName);
  });

  it("evaluates the p99 also on few samples: with 'ignore' a canary under 1,000 requests a minute would never leave INSUFFICIENT_DATA", () => {
    const p99 = byKind('p99');
    assert.equal(p99.evaluateLowSampleCountPercentile, 'evaluate');
    assert.deepEqual(
      p99.metrics.map((metric) => [
        metric.namespace,
        metric.metricName,
        metric.statistic,
        metric.dimensions.FunctionVersion,
      ]),
      [['Sluice', 'Latency', 'p99', '7']],
    );
    for (const spec of specs.filter((other) => other.kind !== 'p99'))
      assert.equal(spec.evaluateLowSampleCountPercentile, undefined, spec.alarmName);
  });

  it("alarms on error and refusal rates (percent of the same minute's requests), NaN outputs on a count", () => {
    assert.equal(byKind('errors').expression, '100 * FILL(errors, 0) / invocations');
    assert.deepEqual(
      byKind('errors').metrics.map((metric) => `${metric.namespace}/${metric.metricName}`),
      ['AWS/Lambda/Errors', 'AWS/Lambda/Invocations'],
    );
    assert.equal(byKind('model-errors').expression, '100 * FILL(errors, 0) / requests');
    assert.equal(byKind('rejected-inputs').expression, '100 * FILL(rejected, 0) / requests');
    assert.equal(byKind('errors').threshold, 5);
    assert.equal(byKind('rejected-inputs').threshold, 50);
    assert.equal(byKind('invalid-outputs').expression, undefined);
  });

  it('renders a rate as PutMetricAlarm Metrics without the single-metric parameters, and every alarm with the topic', () => {
    const input = versionAlarmInput(byKind('errors'), ['topic']);
    assert.equal(input.Namespace, undefined);
    assert.equal(input.MetricName, undefined);
    assert.equal(input.Period, undefined);
    assert.equal(input.Statistic, undefined);
    assert.deepEqual(
      input.Metrics?.map((query) => [query.Id, query.ReturnData]),
      [
        ['errors', false],
        ['invocations', false],
        ['value', true],
      ],
    );
    for (const spec of specs) assert.deepEqual(versionAlarmInput(spec, ['topic']).AlarmActions, ['topic']);
  });

  it('refuses the per-minute counts of earlier releases in sluice.config.json, naming the replacement', () => {
    assert.throws(
      () =>
        parseDeployConfig(
          { models: [{ name: 'iris', version: 1, sha256: 'a'.repeat(64), alarms: { errors: 1 } }] },
          'sluice.config.json',
        ),
      /models\[0\]\.alarms\.errors: was a count per minute and is replaced by errorRatePercent/,
    );
    assert.throws(
      () => AlarmThresholdsSchema.parse({ evaluationPeriods: 2, datapointsToAlarm: 3 }),
      /datapointsToAlarm \(M\) must not exceed evaluationPeriods \(N\)/,
    );
    assert.equal(AlarmThresholdsSchema.parse({ evaluationPeriods: 1 }).datapointsToAlarm, 1);
  });
});
