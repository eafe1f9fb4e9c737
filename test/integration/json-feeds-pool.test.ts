import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { decodeJsonFeeds, type JsonFeedsTask, JsonForm } from '../../lib/serving/json-feeds.js';
import { JsonFeedsPool } from '../../lib/serving/private/JsonFeedsPool.js';

/** A V2 body of `rows` iris rows, as API Gateway hands it over (text, not base64). */
function irisTask(rows: number, first = 5.1): JsonFeedsTask {
  const data = Array.from({ length: rows }, (_, row) => [first + row / 1000, 3.5, 1.4, 0.2]);
  return {
    form: JsonForm.INFER,
    body: {
      body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 4], data }] }),
      isBase64Encoded: false,
      headers: { 'content-type': 'application/json' },
    },
    model: { name: 'iris', inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }] },
  };
}

/** The feeds as plain values, to compare a worker's answer with the request thread's. */
function plain(feeds: Awaited<ReturnType<JsonFeedsPool['decode']>>) {
  return feeds.feeds.map(([name, tensor]) => [
    name,
    tensor.type,
    [...tensor.dims],
    Array.from(tensor.data as Float32Array),
  ]);
}

describe('JsonFeedsPool: big JSON bodies decoded off the request thread, and what happens when workers fail', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-feeds-pool-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes on a worker exactly what the request thread decodes, and refuses bad bodies the same way', async () => {
    const pool = new JsonFeedsPool({ minOffThreadChars: 0, workers: 1 });
    try {
      const tasks = [irisTask(3), irisTask(500, 6), irisTask(1)];
      const decoded = await Promise.all(tasks.map((task) => pool.decode(task)));
      assert.deepEqual(
        decoded.map(plain),
        tasks.map((task) => plain(decodeJsonFeeds(task))),
      );
      const bad = irisTask(2);
      const broken = { ...bad, body: { ...bad.body, body: '{"inputs": [' } };
      const onThread = (() => {
        try {
          decodeJsonFeeds(broken);
          return undefined;
        } catch (error) {
          return error as Error;
        }
      })();
      await assert.rejects(pool.decode(broken), (error: Error) => {
        assert.equal(error.message, onThread?.message);
        assert.equal(error.constructor.name, onThread?.constructor.name);
        return true;
      });
    } finally {
      await pool.close();
    }
  });

  it('falls back to the request thread for good when a worker cannot start: the waiting bodies are answered, not lost', async () => {
    const entry = join(dir, 'broken-worker.mjs');
    await writeFile(entry, "throw new Error('this worker cannot start');\n");
    const pool = new JsonFeedsPool({ minOffThreadChars: 0, workers: 1, entry: pathToFileURL(entry) });
    try {
      const tasks = [irisTask(4), irisTask(2, 7), irisTask(9)];
      const decoded = await Promise.all(tasks.map((task) => pool.decode(task)));
      assert.deepEqual(
        decoded.map(plain),
        tasks.map((task) => plain(decodeJsonFeeds(task))),
      );
      assert.equal(pool.inFlight, 0);
      // Later bodies do not try a worker again.
      assert.deepEqual(plain(await pool.decode(irisTask(2))), plain(decodeJsonFeeds(irisTask(2))));
    } finally {
      await pool.close();
    }
  });

  it('close() refuses the bodies still waiting, stops its workers, and decodes later bodies in line', async () => {
    const pool = new JsonFeedsPool({ minOffThreadChars: 0, workers: 1 });
    // Each outcome is taken as it comes, so a refusal is never an unhandled rejection.
    const waiting = [irisTask(20_000), irisTask(20_000, 6)].map((task) =>
      pool.decode(task).then(
        () => 'answered',
        (error: Error) => error.message,
      ),
    );
    await pool.whenInFlight(2);
    await pool.close();
    const outcomes = await Promise.all(waiting);
    assert.equal(outcomes[1], 'the body decoder was closed');
    assert.notEqual(outcomes[0], 'answered', 'the body on the stopped worker is not answered either');
    assert.equal(pool.inFlight, 0);
    assert.deepEqual(plain(await pool.decode(irisTask(3))), plain(decodeJsonFeeds(irisTask(3))));
  });
});
