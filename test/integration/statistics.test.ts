import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { SERVED_EXTENSIONS } from '../../lib/core/contract/extensions.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { bodyOf, ErrorBodySchema, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { runtimeFailureModel } from '../fixtures/models.js';

const DurationSchema = z.strictObject({ count: z.number().int(), ns: z.number().int() });

/** Triton's statistics extension response, as `GET /v2/models/{m}/stats` must answer it. */
const StatsSchema = z.strictObject({
  model_stats: z.array(
    z.strictObject({
      name: z.string(),
      version: z.string(),
      last_inference: z.number(),
      inference_count: z.number().int(),
      execution_count: z.number().int(),
      inference_stats: z.strictObject({
        success: DurationSchema,
        fail: DurationSchema,
        queue: DurationSchema,
        compute_input: DurationSchema,
        compute_infer: DurationSchema,
        compute_output: DurationSchema,
        cache_hit: DurationSchema,
        cache_miss: DurationSchema,
      }),
      batch_stats: z.array(z.unknown()),
    }),
  ),
});

const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];

let test: TestStack;

before(async () => {
  test = await startTestStack();
  await publishVersion(test.stack.registry, { name: 'iris', model: runtimeFailureModel() }); // iris v2 fails at run time
});

after(async () => {
  await test?.stop();
});

describe('Statistics extension: GET /v2/models/{m}/stats reports counts and cumulative nanoseconds per phase', () => {
  it('GET /v2 lists the binary tensor and statistics extensions', async () => {
    const reply = await test.request('GET', '/v2');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text).extensions, [...SERVED_EXTENSIONS]);
    assert.deepEqual([...SERVED_EXTENSIONS], ['binary_tensor_data', 'statistics', 'sluice_object']);
  });

  it('counts successes (rows as inferences), failures and the time of each phase after traffic', async () => {
    const before = bodyOf(await test.request('GET', '/v2/models/iris/versions/1/stats'), StatsSchema);
    assert.equal(before.model_stats[0]?.inference_stats.success.count, 0);
    for (let index = 0; index < 3; index++) {
      const reply = await test.request('POST', '/v2/models/iris/versions/1/infer', {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [IRIS_ROW, IRIS_ROW] }],
      });
      assert.equal(reply.status, 200, reply.text);
    }
    const simple = await test.request('POST', '/models/iris/versions/1/predict', { instances: [IRIS_ROW] });
    assert.equal(simple.status, 200, simple.text);
    const refused = await test.request('POST', '/v2/models/iris/versions/1/infer', { inputs: [] });
    assert.equal(refused.status, 400);
    const failed = await test.request('POST', '/v2/models/iris/versions/2/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [IRIS_ROW] }],
    });
    assert.equal(failed.status, 500, failed.text);

    const reply = await test.request('GET', '/v2/models/iris/versions/1/stats');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('x-sluice-model-version'), '1');
    const [v1] = bodyOf(reply, StatsSchema).model_stats;
    assert.ok(v1);
    assert.equal(v1.name, 'iris');
    assert.equal(v1.version, '1');
    assert.equal(v1.execution_count, 4);
    assert.equal(v1.inference_count, 7, '3 requests of 2 rows and 1 of 1 row');
    const stats = v1.inference_stats;
    for (const phase of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output'] as const) {
      assert.equal(stats[phase].count, 4, phase);
      assert.ok(stats[phase].ns >= 0, phase);
    }
    assert.ok(stats.success.ns > 0 && stats.compute_infer.ns > 0);
    assert.ok(stats.success.ns >= stats.compute_infer.ns, 'a request takes at least its run');
    assert.deepEqual(stats.fail, { count: 1, ns: stats.fail.ns }, 'the refused request');
    assert.ok(v1.last_inference > 0);

    const all = bodyOf(await test.request('GET', '/v2/models/iris/stats'), StatsSchema);
    assert.deepEqual(
      all.model_stats.map((entry) => [entry.version, entry.inference_stats.fail.count]),
      [
        ['1', 1],
        ['2', 1],
      ],
      'every version with traffic, the model failure counted as a fail',
    );
  });

  it('answers 404 for an unknown model or version, 405 for POST', async () => {
    assert.equal((await test.request('GET', '/v2/models/nope/stats')).status, 404);
    const version = await test.request('GET', '/v2/models/iris/versions/9/stats');
    assert.equal(version.status, 404);
    assert.match(bodyOf(version, ErrorBodySchema).error, /no version 9/);
    assert.equal((await test.request('POST', '/v2/models/iris/stats', {})).status, 405);
  });
});
