import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchesOf, formatOf, parseCsv, parseJsonLines } from '../../lib/core/batch/batch-items.js';
import { partName, summarize } from '../../lib/core/batch/batch-results.js';

describe('batch items: JSON lines and CSV rows, each bad line reported with its place', () => {
  it('reads a row, {id,row} and {id,inputs}; blank lines are skipped, lines keep their numbers', () => {
    const text = '[1,2]\n\n{"id": 7, "row": [3,4]}\n{"id": "x", "inputs": {"features": [5,6]}}\n';
    const { items, errors } = parseJsonLines(text, 'a.jsonl', ['features']);
    assert.deepEqual(errors, []);
    assert.deepEqual(items, [
      { source: 'a.jsonl', line: 1, inputs: { features: [1, 2] } },
      { source: 'a.jsonl', line: 3, id: '7', inputs: { features: [3, 4] } },
      { source: 'a.jsonl', line: 4, id: 'x', inputs: { features: [5, 6] } },
    ]);
  });

  it('names what is wrong with a line: not JSON, another shape, other inputs, a bare row for a model of two inputs', () => {
    const single = parseJsonLines('nope\n{"rows": []}\n{"inputs": {"other": [1]}}\n', 'a.jsonl', [
      'features',
    ]);
    assert.deepEqual(
      single.errors.map((error) => [error.line, error.error.split(':')[0]]),
      [
        [1, 'not JSON'],
        [2, 'a line is a row (an array), {"id", "row"} or {"id", "inputs"'],
        [3, 'inputs must be features; got other'],
      ],
    );
    const pair = parseJsonLines('[1,2,3]\n{"inputs": {"b": [1], "a": [2]}}\n', 'p.jsonl', ['a', 'b']);
    assert.equal(pair.items.length, 1);
    assert.match(pair.errors[0]?.error ?? '', /inputs a, b: give each as \{"inputs"/);
  });

  it('reads CSV by its header (id optional), refusing a wrong field count, a value that is no number, a model of two inputs', () => {
    const { items, errors } = parseCsv('a,b,id\n1,2,first\n3,,second\n4,5\n6,7,\n', 'r.csv', ['x']);
    assert.deepEqual(items, [
      { source: 'r.csv', line: 2, id: 'first', inputs: { x: [1, 2] } },
      { source: 'r.csv', line: 5, inputs: { x: [6, 7] } },
    ]);
    assert.deepEqual(
      errors.map((error) => [error.line, error.error]),
      [
        [3, 'column b is not a number: ""'],
        [4, '2 fields; the header has 3'],
      ],
    );
    assert.match(parseCsv('a\n1\n', 'r.csv', ['x', 'y']).errors[0]?.error ?? '', /single-input model/);
    assert.equal(formatOf('R.CSV'), 'csv');
    assert.equal(formatOf('rows.jsonl'), 'jsonl');
  });

  it('cuts batches in order, the last one short; parts are named so a resumed run finds them', () => {
    assert.deepEqual(batchesOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.equal(partName(3, 12), 'part-0003-000012.jsonl');
  });

  it('summarizes rows per version and lists failures with their reasons', () => {
    const summary = summarize(
      'iris',
      [
        { source: 'a', line: 1, model: 'iris', version: 2, prediction: 'setosa' },
        { source: 'a', line: 2, model: 'iris', version: 1, prediction: 'setosa' },
        { source: 'a', line: 3, id: 'z', error: 'bad shape', status: 400 },
      ],
      { batches: 1, resumedBatches: 0, startedAt: 0, finishedAt: 1500 },
    );
    assert.deepEqual(
      {
        versions: summary.versions,
        succeeded: summary.succeeded,
        failed: summary.failed,
        durationMs: summary.durationMs,
      },
      { versions: { '1': 1, '2': 1 }, succeeded: 2, failed: 1, durationMs: 1500 },
    );
    assert.deepEqual(summary.failures, [{ source: 'a', line: 3, id: 'z', error: 'bad shape' }]);
  });
});
