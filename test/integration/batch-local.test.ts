import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { BatchResultSchema, BatchSummarySchema } from '../../lib/core/batch/batch-results.js';
import { HomeLock } from '../../lib/local/HomeLock.js';
import { readMetrics, sample, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { describeRun, runSluiceInProcess, startSluice } from '../fixtures/sluice-cli.js';

/** One row of each species, in turn, as the iris sample tells them apart. */
const ROWS = [
  { row: [5.1, 3.5, 1.4, 0.2], label: 'setosa' },
  { row: [5.9, 3.0, 4.2, 1.5], label: 'versicolor' },
  { row: [6.7, 3.0, 5.2, 2.3], label: 'virginica' },
] as const;

/** `count` JSON lines of iris rows, `{"id", "row"}`, with the species each should get. */
function irisLines(count: number): { text: string; labels: string[] } {
  const lines: string[] = [];
  const labels: string[] = [];
  for (let index = 0; index < count; index++) {
    const { row, label } = ROWS[index % ROWS.length] as (typeof ROWS)[number];
    lines.push(JSON.stringify({ id: `r${index}`, row }));
    labels.push(label);
  }
  return { text: `${lines.join('\n')}\n`, labels };
}

async function resultsOf(output: string): Promise<z.infer<typeof BatchResultSchema>[]> {
  const text = await readFile(join(output, 'results.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => BatchResultSchema.parse(JSON.parse(line)));
}

/** The rows' places (source:line), each once: what "no row scored twice, none lost" means. */
function assertEachRowOnce(results: readonly { source: string; line: number }[], expected: number): void {
  const places = results.map((result) => `${result.source}:${result.line}`);
  assert.equal(places.length, expected);
  assert.equal(new Set(places).size, expected, 'no row twice');
}

describe('sluice batch --local: files of rows scored in batches against the local stack', () => {
  let test: TestStack;
  let work: string;
  before(async () => {
    test = await startTestStack();
    work = await mkdtemp(join(tmpdir(), 'sluice-batch-'));
  });
  after(async () => {
    await test.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('scores 3,000 rows with one request per batch; a bad row and a line that is no JSON are reported, not lost', async () => {
    const { text, labels } = irisLines(3000);
    // The short row in the middle of the first batch: that batch is refused and sent again row by row.
    const lines = text.trimEnd().split('\n');
    lines.splice(49, 0, '{"id": "short", "row": [1, 2]}');
    const bad = `${lines.join('\n')}\nnot json\n`;
    const input = join(work, 'rows.jsonl');
    await writeFile(input, bad);
    const output = join(work, 'scored');
    const before = (await readMetrics(test)).get(sample('sluice_requests_total', 'iris', 1)) ?? 0;
    const run = await runSluiceInProcess(
      ['batch', 'iris', '--input', input, '--output', output, '--local', '--batch-size', '100', '--json'],
      test.home,
    );
    assert.equal(run.code, 1, describeRun(run));
    // --json: the summary, then the failure as every error is with --json, a JSON line on stdout.
    const [summaryLine, errorLine] = run.stdout.trim().split('\n');
    assert.match(
      JSON.parse(errorLine ?? '{}').error,
      /2 of 3002 rows failed \(0\.07%\), more than --tolerate-failures 0%/,
    );
    const summary = BatchSummarySchema.parse(JSON.parse(summaryLine ?? ''));
    assert.deepEqual(
      {
        rows: summary.rows,
        succeeded: summary.succeeded,
        failed: summary.failed,
        batches: summary.batches,
        versions: summary.versions,
      },
      { rows: 3002, succeeded: 3000, failed: 2, batches: 31, versions: { '1': 3000 } },
    );
    const results = await resultsOf(output);
    assertEachRowOnce(results, 3002);
    results
      .filter((result) => result.id !== 'short' && result.line !== 3002)
      .forEach((result, index) => {
        assert.ok('prediction' in result, JSON.stringify(result));
        assert.equal(result.id, `r${index}`);
        assert.equal((result.prediction as { label: string }).label, labels[index]);
      });
    const short = results.find((result) => result.id === 'short');
    assert.ok(short && 'error' in short);
    assert.equal(short.status, 400);
    assert.equal(short.line, 50);
    assert.match(short.error, /shape|4/);
    const notJson = results.find((result) => result.line === 3002);
    assert.ok(notJson && 'error' in notJson);
    assert.match(notJson.error, /not JSON/);
    // 31 batch requests (30 of 100 rows, the last of 1), and the 100 rows of the refused first batch one by one.
    const after = (await readMetrics(test)).get(sample('sluice_requests_total', 'iris', 1)) ?? 0;
    assert.equal(after - before, 131);
  });

  it('reads CSV with a header and an id column, and exits 0 within --tolerate-failures', async () => {
    const input = join(work, 'rows.csv');
    await writeFile(
      input,
      'id,sepal_length,sepal_width,petal_length,petal_width\na,5.1,3.5,1.4,0.2\nb,6.7,3.0,5.2,2.3\nc,x,1,1,1\n',
    );
    const output = join(work, 'csv');
    const run = await runSluiceInProcess(
      ['batch', 'iris', '--input', input, '--output', output, '--local', '--tolerate-failures', '50'],
      test.home,
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /iris: 2 of 3 rows scored \(v1: 2\), 1 failed/);
    const results = await resultsOf(output);
    assert.deepEqual(
      results.map((result) => [
        result.id,
        'prediction' in result ? (result.prediction as { label: string }).label : result.error,
      ]),
      [
        ['a', 'setosa'],
        ['b', 'virginica'],
        [undefined, 'column sepal_length is not a number: "x"'],
      ],
    );
  });

  it('resumes a run killed halfway: the batches done are not sent again, and each row is in the results once', async (t) => {
    const { text } = irisLines(3000);
    const input = join(work, 'long.jsonl');
    await writeFile(input, text);
    const output = join(work, 'resumed');
    const parts = join(output, 'parts');
    const args = [
      'batch',
      'iris',
      '--input',
      input,
      '--output',
      output,
      '--local',
      '--batch-size',
      '25',
      '--concurrency',
      '1',
    ];
    const first = startSluice(args, test.home, t.signal);
    // Killed once three batches are written whole: watched, not waited for.
    await new Promise<void>((resolve, reject) => {
      const done = (name: string | null) => name !== null && /^part-0000-[0-9]{6}\.jsonl$/.test(name);
      let seen = 0;
      const check = () => {
        readdir(parts)
          .then((names) => {
            seen = names.filter(done).length;
            if (seen >= 3) {
              watcher?.close();
              first.child.kill('SIGKILL');
              resolve();
            }
          })
          .catch(() => {});
      };
      let watcher: ReturnType<typeof watch> | undefined;
      const start = () => {
        try {
          watcher = watch(parts, check);
          check();
        } catch {
          setImmediate(start);
        }
      };
      start();
      first.done.then((run) => {
        if (seen < 3) reject(new Error(`the run ended before it was killed: ${describeRun(run)}`));
      });
    });
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    const written = (await readdir(parts)).filter((name) => /^part-0000-[0-9]{6}\.jsonl$/.test(name)).length;
    assert.ok(written >= 3 && written < 120, `${written} of 120 batches written before the kill`);
    const second = await runSluiceInProcess([...args, '--json'], test.home);
    assert.equal(second.code, 0, describeRun(second));
    const summary = BatchSummarySchema.parse(JSON.parse(second.stdout));
    assert.equal(summary.resumedBatches, written);
    assert.equal(summary.succeeded, 3000);
    assertEachRowOnce(await resultsOf(output), 3000);
    const other = await runSluiceInProcess(
      ['batch', 'iris', '--input', input, '--output', output, '--local', '--batch-size', '50'],
      test.home,
    );
    assert.equal(other.code, 1);
    assert.match(other.stderr, /holds another run/);
  });

  it('refuses a second run on an output folder another run is writing (a killed one is taken over, above)', async () => {
    const input = join(work, 'two.jsonl');
    await writeFile(input, '[5.1, 3.5, 1.4, 0.2]\n');
    const output = join(work, 'busy');
    await mkdir(output, { recursive: true });
    const lock = await HomeLock.acquire(output, { file: 'batch.lock' });
    try {
      const run = await runSluiceInProcess(
        ['batch', 'iris', '--input', input, '--output', output, '--local'],
        test.home,
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /another sluice batch \(pid [0-9]+, started .*\) is writing/);
    } finally {
      await lock.release();
    }
    const free = await runSluiceInProcess(
      ['batch', 'iris', '--input', input, '--output', output, '--local'],
      test.home,
    );
    assert.equal(free.code, 0, describeRun(free));
    assert.deepEqual(
      (await readdir(output)).filter((name) => name.endsWith('.lock')),
      [],
      'the run let the folder go',
    );
  });

  it('refuses what it cannot do: on AWS without a state machine, a bad batch size, a missing input', async () => {
    const missing = await runSluiceInProcess(
      ['batch', 'iris', '--input', join(work, 'nope.jsonl'), '--output', join(work, 'x'), '--local'],
      test.home,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no input at/);
    const aws = await runSluiceInProcess(
      ['batch', 'iris', '--input', 'a.jsonl', '--output', 'out', '--bucket', 'b'],
      test.home,
    );
    assert.equal(aws.code, 2);
    assert.match(aws.stderr, /pass --state-machine ARN .*or use --local/);
    const noWait = await runSluiceInProcess(
      ['batch', 'iris', '--input', 'a.jsonl', '--output', 'out', '--local', '--no-wait'],
      test.home,
    );
    assert.equal(noWait.code, 2);
    assert.match(noWait.stderr, /--no-wait is for runs on AWS/);
    const size = await runSluiceInProcess(
      ['batch', 'iris', '--input', 'a.jsonl', '--output', 'out', '--local', '--batch-size', '0'],
      test.home,
    );
    assert.equal(size.code, 2);
    assert.match(size.stderr, /--batch-size must be a whole number from 1 to 10000/);
  });

  it('takes the model as --model too: a model named status reaches the batch, not the subcommand', async () => {
    // On AWS without a state machine: a refusal only the batch itself makes, after reading its model.
    const named = await runSluiceInProcess(
      ['batch', '--model', 'status', '--input', 'a.jsonl', '--output', 'out', '--bucket', 'b'],
      test.home,
    );
    assert.equal(named.code, 2);
    assert.match(named.stderr, /pass --state-machine ARN .*or use --local/);
    const both = await runSluiceInProcess(
      ['batch', 'iris', '--model', 'digits', '--input', 'a.jsonl', '--output', 'out', '--local'],
      test.home,
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /two models given: "iris" and --model "digits"/);
    const none = await runSluiceInProcess(
      ['batch', '--input', 'a.jsonl', '--output', 'out', '--local'],
      test.home,
    );
    assert.equal(none.code, 2);
    assert.match(none.stderr, /name the model/);
  });
});
