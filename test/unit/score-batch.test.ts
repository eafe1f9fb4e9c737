import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchItem } from '../../lib/core/batch/batch-items.js';
import { type BatchAnswer, scoreBatch } from '../../lib/serving/score-batch.js';

/** Rows of a single-input model, numbered by their line. */
function rows(count: number): BatchItem[] {
  return Array.from({ length: count }, (_, index) => ({
    source: 'r.jsonl',
    line: index + 1,
    inputs: { x: [index] },
  }));
}

/** A model that predicts each row's first value, refusing the rows `bad` names and batches over `maxRows`. */
function model(options: { bad?: number[]; maxRows?: number; failures?: number } = {}) {
  const sent: number[] = [];
  let failures = options.failures ?? 0;
  const transport = async (body: object): Promise<BatchAnswer> => {
    const instances = (body as { instances: number[][] }).instances;
    sent.push(instances.length);
    if (failures > 0) {
      failures--;
      return { kind: 'answered', status: 503, json: { error: 'the model cannot be loaded' } };
    }
    if (instances.length > (options.maxRows ?? Number.POSITIVE_INFINITY)) {
      return { kind: 'answered', status: 413, json: { error: 'too large' } };
    }
    if (instances.some((row) => options.bad?.includes(row[0] as number))) {
      return { kind: 'answered', status: 400, json: { error: 'bad row' } };
    }
    return {
      kind: 'answered',
      status: 200,
      json: { model: 'm', version: 2, predictions: instances.map((row) => row[0]) },
    };
  };
  return { transport, sent };
}

const context = { inputNames: ['x'], model: 'm', sleep: async () => undefined };

describe('scoreBatch: every row one result, the batch sent as few times as its answers allow', () => {
  it('one request for the whole batch when it is answered', async () => {
    const { transport, sent } = model();
    const results = await scoreBatch(rows(5), { ...context, transport });
    assert.deepEqual(sent, [5]);
    assert.deepEqual(
      results.map((result) => ('prediction' in result ? result.prediction : result.error)),
      [0, 1, 2, 3, 4],
    );
  });

  it('a batch refused for its input is sent again row by row: the bad row is named, the others scored', async () => {
    const { transport, sent } = model({ bad: [2] });
    const results = await scoreBatch(rows(4), { ...context, transport });
    assert.deepEqual(sent, [4, 1, 1, 1, 1]);
    assert.deepEqual(
      results.map((result) =>
        'prediction' in result ? result.prediction : `${result.status} ${result.error}`,
      ),
      [0, 1, '400 bad row', 3],
    );
  });

  it('a batch over the size limit is split in halves until it fits', async () => {
    const { transport, sent } = model({ maxRows: 2 });
    const results = await scoreBatch(rows(5), { ...context, transport });
    assert.deepEqual(sent, [5, 3, 2, 1, 2]);
    assert.equal(results.filter((result) => 'prediction' in result).length, 5);
  });

  it('a 5xx is tried again, and after the last attempt every row of the batch carries it', async () => {
    const recovered = model({ failures: 2 });
    assert.equal((await scoreBatch(rows(3), { ...context, transport: recovered.transport })).length, 3);
    assert.deepEqual(recovered.sent, [3, 3, 3], 'two failures, then an answer: three attempts');
    const down = model({ failures: 10 });
    const results = await scoreBatch(rows(2), { ...context, transport: down.transport, attempts: 3 });
    assert.deepEqual(down.sent, [2, 2, 2]);
    assert.deepEqual(
      results.map((result) => ('error' in result ? `${result.status} ${result.error}` : 'scored')),
      ['503 the model cannot be loaded', '503 the model cannot be loaded'],
    );
  });
});
