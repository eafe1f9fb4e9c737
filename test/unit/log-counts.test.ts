import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  answeredClassesQueryString,
  countAnsweredClasses,
  countDisagreedOutputs,
  disagreedOutputsQueryString,
} from '../../lib/aws/cloudwatch/log-counts.js';
import { EmfServingMetrics } from '../../lib/serving/metrics/EmfServingMetrics.js';
import { FakeLogsInsights } from '../fixtures/fake-logs-insights.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const GROUP = '/aws/lambda/fn';
const T0 = Date.parse('2026-06-01T10:00:00Z');

/** The EMF lines the predict function writes for `answers` (build -> answered classes), at T0 + index seconds. */
function served(
  insights: FakeLogsInsights,
  build: string,
  version: number,
  answers: readonly (string | undefined)[],
) {
  answers.forEach((answered, index) => {
    const metrics = new EmfServingMetrics(
      (line) => insights.ingest(GROUP, line.trimEnd(), T0 + index * 1000),
      build,
      () => T0 + index * 1000,
    );
    metrics.recordInference({
      model: 'iris',
      version,
      status: 200,
      latencyMs: 1,
      predictions: 1,
      invalidOutputs: 0,
      ...(answered === undefined ? {} : { answeredClass: answered }),
    });
  });
}

describe('Counts from the logs through Logs Insights: the class shares of a step, the outputs a shadow phase disagreed on', () => {
  const noWait = async () => {};

  it('counts requests per build and answered class in the window; requests without a class are not counted', async () => {
    const insights = new FakeLogsInsights();
    served(insights, '5', 1, ['0', '0', '1', undefined]);
    served(insights, '6', 2, ['2', '2']);
    served(insights, '7', 3, ['0']);
    const counted = await countAnsweredClasses(
      insights.logs,
      { logGroup: GROUP, model: 'iris', builds: ['5', '6'], startMs: T0, endMs: T0 + 10_000 },
      noWait,
    );
    assert.deepEqual(counted, { ok: true, counts: { '5': { '0': 2, '1': 1 }, '6': { '2': 2 } } });
    assert.deepEqual(insights.started[0], {
      logGroupName: GROUP,
      startTime: T0 / 1000,
      endTime: T0 / 1000 + 10,
      queryString: answeredClassesQueryString('iris', ['5', '6']),
      limit: 10_000,
    });
  });

  it('counts only the window: both ends inclusive, in whole seconds', async () => {
    const insights = new FakeLogsInsights();
    served(insights, '5', 1, ['0', '1', '2']);
    const counted = await countAnsweredClasses(
      insights.logs,
      { logGroup: GROUP, model: 'iris', builds: ['5'], startMs: T0 + 1000, endMs: T0 + 1500 },
      noWait,
    );
    assert.deepEqual(counted, { ok: true, counts: { '5': { '1': 1 } } });
  });

  it('reports a query that fails, one that never completes and a missing log group, instead of counts', async () => {
    const failing = new FakeLogsInsights();
    failing.createLogGroup(GROUP);
    failing.endStatus = 'Failed';
    const query = { logGroup: GROUP, model: 'iris', builds: ['5'], startMs: T0, endMs: T0 + 1000 };
    assert.deepEqual(await countAnsweredClasses(failing.logs, query, noWait), {
      ok: false,
      reason: 'the Logs Insights query query-1 ended Failed',
    });
    const slow = new FakeLogsInsights();
    slow.createLogGroup(GROUP);
    const waits: number[] = [];
    assert.deepEqual(
      await countAnsweredClasses(slow.logs, query, async (ms) => void waits.push(ms), { maxPolls: 1 }),
      { ok: false, reason: 'the Logs Insights query query-1 was not complete after 1 reads (stopped)' },
    );
    assert.deepEqual(waits, [], 'no wait after the last read');
    assert.deepEqual(slow.stopped, ['query-1'], 'an abandoned query is stopped, not left running');
    const missing = await countAnsweredClasses(new FakeLogsInsights().logs, query, noWait);
    assert.equal(missing.ok, false);
    assert.match(
      missing.ok ? '' : missing.reason,
      /ResourceNotFoundException: Log group \/aws\/lambda\/fn does not exist/,
    );
  });

  it("counts the compared requests each output disagreed on, from the shadow build's lines", async () => {
    const insights = new FakeLogsInsights();
    const write = (at: number) =>
      new EmfServingMetrics(
        (line) => insights.ingest(GROUP, line.trimEnd(), at),
        '9',
        () => at,
      );
    const output = (name: string, disagreements: number) => ({
      output: name,
      kind: 'exact' as const,
      rows: 2,
      disagreements,
      maxAbsDifference: 0,
      maxRelativeDifference: 0,
    });
    write(T0).recordComparison('iris', 4, {
      rows: 2,
      disagreements: 2,
      outputs: [output('label', 2), output('scores', 1)],
    });
    write(T0 + 1000).recordComparison('iris', 4, {
      rows: 2,
      disagreements: 1,
      outputs: [output('label', 1), output('scores', 0)],
    });
    write(T0 + 2000).recordComparison('iris', 4, {
      rows: 2,
      disagreements: 0,
      outputs: [output('label', 0)],
    });
    const counted = await countDisagreedOutputs(
      insights.logs,
      { logGroup: GROUP, model: 'iris', candidate: 4, shadowBuild: '9', startMs: T0, endMs: T0 + 5000 },
      noWait,
    );
    assert.deepEqual(counted, { ok: true, counts: { label: 2, scores: 1 } });
    assert.equal(insights.started[0]?.queryString, disagreedOutputsQueryString('iris', 4, '9'));
  });

  it('the fake refuses what StartQuery refuses, and a query it cannot read', async () => {
    const insights = new FakeLogsInsights();
    insights.createLogGroup(GROUP);
    const start = (input: object) =>
      insights.logs.send(new StartQueryCommand({ startTime: 1, endTime: 2, queryString: 'x', ...input }));
    await assert.rejects(start({}), /exactly one of logGroupName/);
    await assert.rejects(
      start({ logGroupName: GROUP, logGroupNames: [GROUP] }),
      /exactly one of logGroupName/,
    );
    await assert.rejects(start({ logGroupName: GROUP, limit: 10_001 }), /limit must be between 1 and 10000/);
    await assert.rejects(
      start({ logGroupName: GROUP, startTime: 3 }),
      /endTime must not be before startTime/,
    );
    await assert.rejects(start({ logGroupName: GROUP, queryString: 'fields @message' }), {
      name: 'MalformedQueryException',
    });
  });
});
