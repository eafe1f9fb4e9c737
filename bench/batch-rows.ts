/**
 * The batch row: rows per second of `sluice batch --local`'s runner (batches of 256 rows, one simple-form request
 * and one session.run each, two in flight) against a plain loop of single-row HTTP requests, both over the same
 * rows to the same server in this run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLocalBatch } from '../lib/cli/local-batch.js';
import { DEFAULT_BATCH_ROWS } from '../lib/core/batch/batch-items.js';
import { median, quick, type Row, ratioRow } from './row.js';

/** Rows per run: enough batches that the runner's own start is a small part. */
const ROWS = quick ? 2048 : 4096;

/** Runs of each side, alternating. */
const RUNS = quick ? 1 : 3;

/**
 * Least the runner's rows per second may be, as a multiple of the single-row loop's: a request costs about a
 * millisecond of HTTP and pipeline here whatever its rows, and the iris model's run is microseconds per row, so
 * batching should pay at least tenfold.
 */
const TARGET = 10;

/** The row, against the server on `port` that serves the sample iris model. */
export async function batchRow(port: number): Promise<Row> {
  const folder = await mkdtemp(join(tmpdir(), 'sluice-bench-batch-'));
  try {
    const input = join(folder, 'rows.jsonl');
    const rows = Array.from({ length: ROWS }, (_, index) => [5 + (index % 3), 3, 1.4 + (index % 5), 0.2]);
    await writeFile(input, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
    const url = `http://127.0.0.1:${port}`;
    const batched: number[] = [];
    const single: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let started = performance.now();
      const summary = await runLocalBatch({
        apiUrl: url,
        model: 'iris',
        inputs: [input],
        output: join(folder, `out-${run}`),
        batchSize: DEFAULT_BATCH_ROWS,
        concurrency: 2,
      });
      if (summary.succeeded !== ROWS)
        throw new Error(`the batch run scored ${summary.succeeded} of ${ROWS} rows`);
      batched.push(ROWS / ((performance.now() - started) / 1000));
      started = performance.now();
      for (const row of rows) {
        const response = await fetch(`${url}/models/iris/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [row] }),
        });
        if (response.status !== 200) throw new Error(`a single-row request answered ${response.status}`);
        await response.arrayBuffer();
      }
      single.push(ROWS / ((performance.now() - started) / 1000));
    }
    const ours = median(batched);
    const loop = median(single);
    return ratioRow(
      `sluice batch --local (${DEFAULT_BATCH_ROWS} rows a request, 2 in flight) vs a loop of single-row requests, rows/s`,
      ours / loop,
      TARGET,
      `${ours.toFixed(0)} vs ${loop.toFixed(0)} rows/s, ${ROWS} iris rows`,
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
