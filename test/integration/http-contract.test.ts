import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { ResponseHeader } from '../../lib/core/contract/headers.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { ONNX_PLATFORM } from '../../lib/serving/InferenceApp.js';
import {
  bodyOf,
  ErrorBodySchema,
  type HttpReply,
  readMetrics,
  sample,
  startTestStack,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel, twoInputModel } from '../fixtures/models.js';

/** Iris rows with a clear species each: setosa, versicolor, virginica. */
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VERSICOLOR = [5.9, 3.0, 4.2, 1.5];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const IRIS_LABELS = ['setosa', 'versicolor', 'virginica'];

const TensorSpecSchema = z.strictObject({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number()),
});

const ModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(TensorSpecSchema),
  outputs: z.array(TensorSpecSchema),
});

const ResponseTensorSchema = z.strictObject({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number()),
  data: z.array(z.unknown()),
});

const InferResponseSchema = z.strictObject({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(ResponseTensorSchema),
});
type InferResponse = z.infer<typeof InferResponseSchema>;

const PredictResponseSchema = z.strictObject({
  model: z.string(),
  version: z.number(),
  predictions: z.array(z.unknown()),
});

const IrisPredictionSchema = z.strictObject({
  label: z.enum(IRIS_LABELS),
  probabilities: z.strictObject({ setosa: z.number(), versicolor: z.number(), virginica: z.number() }),
});

function irisRequest(data: unknown, shape: number[], extra: Record<string, unknown> = {}): object {
  return { ...extra, inputs: [{ name: 'features', shape, datatype: 'FP32', data }] };
}

function output(response: InferResponse, name: string) {
  const found = response.outputs.find((tensor) => tensor.name === name);
  assert.ok(found, `output "${name}" missing from ${JSON.stringify(response.outputs.map((t) => t.name))}`);
  return found;
}

function assertServedBy(reply: HttpReply, version: number): void {
  assert.equal(
    reply.headers.get(ResponseHeader.MODEL_VERSION),
    String(version),
    `version header on ${reply.text.slice(0, 200)}`,
  );
}

function assertOk(reply: HttpReply): void {
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
}

let test: TestStack;

before(async () => {
  test = await startTestStack();
  await publishVersion(test.stack.registry, { name: 'adder', model: twoInputModel() });
});

after(async () => {
  await test?.stop();
});

describe('V2 inference over HTTP: server health and metadata', () => {
  it('is live', async () => {
    const reply = await test.request('GET', '/v2/health/live');
    assertOk(reply);
    assert.deepEqual(JSON.parse(reply.text), { live: true });
  });

  it('is ready once the registry answers', async () => {
    const reply = await test.request('GET', '/v2/health/ready');
    assertOk(reply);
    assert.deepEqual(JSON.parse(reply.text), { ready: true });
  });

  it('describes the server at GET /v2', async () => {
    const reply = await test.request('GET', '/v2');
    assertOk(reply);
    const body = bodyOf(
      reply,
      z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
    );
    assert.equal(body.name, 'sluice');
  });

  it('describes a model: name, versions, platform onnx_onnxv1, inputs and outputs with -1 for dynamic dims', async () => {
    const reply = await test.request('GET', '/v2/models/iris');
    assertOk(reply);
    assertServedBy(reply, 1);
    const metadata = bodyOf(reply, ModelMetadataSchema);
    assert.equal(metadata.name, 'iris');
    assert.deepEqual(metadata.versions, ['1']);
    assert.equal(metadata.platform, ONNX_PLATFORM);
    assert.equal(metadata.platform, 'onnx_onnxv1');
    assert.deepEqual(metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(metadata.outputs, [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ]);
  });

  it('describes one version at GET /v2/models/{m}/versions/{v}', async () => {
    const reply = await test.request('GET', '/v2/models/iris/versions/1');
    assertOk(reply);
    assertServedBy(reply, 1);
    const metadata = bodyOf(reply, ModelMetadataSchema);
    assert.equal(metadata.name, 'iris');
    assert.equal(metadata.platform, 'onnx_onnxv1');
    assert.deepEqual(metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
  });

  it('reports a model and a version ready once loaded', async () => {
    for (const path of ['/v2/models/iris/ready', '/v2/models/iris/versions/1/ready']) {
      const reply = await test.request('GET', path);
      assertOk(reply);
      assertServedBy(reply, 1);
      assert.deepEqual(JSON.parse(reply.text), { name: 'iris', version: '1', ready: true });
    }
  });
});

describe('V2 inference over HTTP: iris through the Open Inference Protocol', () => {
  it('predicts each species from nested data and echoes the request id', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/iris/infer',
      irisRequest([SETOSA, VERSICOLOR, VIRGINICA], [3, 4], { id: 'request-42' }),
    );
    assertOk(reply);
    assertServedBy(reply, 1);
    const body = bodyOf(reply, InferResponseSchema);
    assert.equal(body.model_name, 'iris');
    assert.equal(body.model_version, '1');
    assert.equal(body.id, 'request-42');
    assert.deepEqual(
      body.outputs.map((tensor) => tensor.name),
      ['label', 'probabilities'],
    );
    const label = output(body, 'label');
    assert.equal(label.datatype, 'INT64');
    assert.deepEqual(label.shape, [3]);
    assert.deepEqual(label.data, [0, 1, 2]);
    const probabilities = output(body, 'probabilities');
    assert.equal(probabilities.datatype, 'FP32');
    assert.deepEqual(probabilities.shape, [3, 3]);
    assert.equal(probabilities.data.length, 9, 'response data is flat, row-major');
    for (let row = 0; row < 3; row++) {
      const values = probabilities.data.slice(row * 3, row * 3 + 3).map(Number);
      const sum = values.reduce((total, value) => total + value, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} sums to ${sum}`);
      assert.equal(values.indexOf(Math.max(...values)), row);
    }
  });

  it('answers flat data exactly as it answers the same data nested', async () => {
    const nested = await test.request(
      'POST',
      '/v2/models/iris/infer',
      irisRequest([SETOSA, VIRGINICA], [2, 4]),
    );
    const flat = await test.request(
      'POST',
      '/v2/models/iris/infer',
      irisRequest([...SETOSA, ...VIRGINICA], [2, 4]),
    );
    assertOk(nested);
    assertOk(flat);
    assert.deepEqual(bodyOf(flat, InferResponseSchema), bodyOf(nested, InferResponseSchema));
  });

  it('returns only the outputs the request selects, in the order asked', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/iris/infer',
      irisRequest([SETOSA], [1, 4], { outputs: [{ name: 'probabilities' }] }),
    );
    assertOk(reply);
    const body = bodyOf(reply, InferResponseSchema);
    assert.deepEqual(
      body.outputs.map((tensor) => tensor.name),
      ['probabilities'],
    );
    assert.equal(body.id, undefined, 'no id is invented when the request has none');

    const reversed = await test.request(
      'POST',
      '/v2/models/iris/infer',
      irisRequest([SETOSA], [1, 4], { outputs: [{ name: 'probabilities' }, { name: 'label' }] }),
    );
    assert.deepEqual(
      bodyOf(reversed, InferResponseSchema).outputs.map((tensor) => tensor.name),
      ['probabilities', 'label'],
    );
  });

  it('serves an explicit version at /v2/models/{m}/versions/{v}/infer', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/iris/versions/1/infer',
      irisRequest([VIRGINICA], [1, 4]),
    );
    assertOk(reply);
    assertServedBy(reply, 1);
    assert.deepEqual(output(bodyOf(reply, InferResponseSchema), 'label').data, [2]);
  });
});

describe('V2 inference over HTTP: the simple form maps class labels to names', () => {
  it('predicts rows sent as "instances"', async () => {
    const reply = await test.request('POST', '/models/iris/predict', {
      instances: [SETOSA, VERSICOLOR, VIRGINICA],
    });
    assertOk(reply);
    assertServedBy(reply, 1);
    const body = bodyOf(reply, PredictResponseSchema);
    assert.equal(body.model, 'iris');
    assert.equal(body.version, 1);
    const predictions = body.predictions.map((prediction) => IrisPredictionSchema.parse(prediction));
    assert.deepEqual(
      predictions.map((prediction) => prediction.label),
      IRIS_LABELS,
    );
    for (const prediction of predictions) {
      const best = Object.entries(prediction.probabilities).sort(([, a], [, b]) => b - a)[0]?.[0];
      assert.equal(best, prediction.label);
    }
  });

  it('predicts named inputs sent as "inputs", the same as "instances"', async () => {
    const named = await test.request('POST', '/models/iris/predict', { inputs: { features: [SETOSA] } });
    const rows = await test.request('POST', '/models/iris/predict', { instances: [SETOSA] });
    assertOk(named);
    assertServedBy(named, 1);
    assert.deepEqual(JSON.parse(named.text), JSON.parse(rows.text));
    const [prediction] = bodyOf(named, PredictResponseSchema).predictions;
    assert.equal(IrisPredictionSchema.parse(prediction).label, 'setosa');
  });

  it('serves an explicit version at /models/{m}/versions/{v}/predict', async () => {
    const reply = await test.request('POST', '/models/iris/versions/1/predict', { instances: [VIRGINICA] });
    assertOk(reply);
    assertServedBy(reply, 1);
  });
});

describe('V2 inference over HTTP: every model response names the version that served it', () => {
  it('sets x-sluice-model-version on metadata, readiness, inference, predictions and refusals', async () => {
    const replies = [
      await test.request('GET', '/v2/models/iris'),
      await test.request('GET', '/v2/models/iris/versions/1'),
      await test.request('GET', '/v2/models/iris/ready'),
      await test.request('POST', '/v2/models/iris/infer', irisRequest([SETOSA], [1, 4])),
      await test.request('POST', '/v2/models/iris/versions/1/infer', irisRequest([SETOSA], [1, 4])),
      await test.request('POST', '/models/iris/predict', { instances: [SETOSA] }),
      await test.request('POST', '/v2/models/iris/infer', irisRequest([SETOSA], [1, 3])),
      await test.request('POST', '/models/iris/predict', '{"instances": ['),
    ];
    for (const reply of replies) {
      assertServedBy(reply, 1);
      assert.equal(reply.headers.get(ResponseHeader.MODEL), 'iris');
      assert.ok(reply.headers.get(ResponseHeader.REQUEST_ID), 'every response carries a request id');
    }
    assert.deepEqual(
      replies.map((reply) => reply.status),
      [200, 200, 200, 200, 200, 200, 400, 400],
    );
  });
});

describe('V2 inference over HTTP: a version published while the stack runs is served without a restart', () => {
  it('serves the new version at its own route and lists it at once (the store tells the stack); the model route stays on the pinned version', async () => {
    await publishVersion(test.stack.registry, { name: 'hot', model: identityModel('FP32', [-1]) });
    const first = await test.request('POST', '/v2/models/hot/infer', {
      inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1.5, -2] }],
    });
    assertOk(first);
    assertServedBy(first, 1);

    const second = await publishVersion(test.stack.registry, {
      name: 'hot',
      model: identityModel('INT32', [-1, 2]),
    });
    assert.equal(second.version, 2);
    const explicit = await test.request('POST', '/v2/models/hot/versions/2/infer', {
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'INT32', data: [[7, -7]] }],
    });
    assertOk(explicit);
    assertServedBy(explicit, 2);
    const tensor = output(bodyOf(explicit, InferResponseSchema), 'y');
    assert.deepEqual(tensor, { name: 'y', datatype: 'INT32', shape: [1, 2], data: [7, -7] });

    // Version 1 stays servable by its own route.
    const old = await test.request('POST', '/v2/models/hot/versions/1/infer', {
      inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [0.25] }],
    });
    assertOk(old);
    assertServedBy(old, 1);

    // The model lists the new version at once, but its unversioned routes keep the version the first request
    // pinned, as a Lambda alias does: `sluice deploy` moves them (see rollout tests).
    const latest = await test.request('GET', '/v2/models/hot');
    assertServedBy(latest, 1);
    const metadata = bodyOf(latest, ModelMetadataSchema);
    assert.deepEqual(metadata.versions, ['1', '2']);
    assert.deepEqual(metadata.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1] }]);
  });
});

describe('V2 inference over HTTP: concurrent first requests share one load', () => {
  it('answers a burst of requests to a version never loaded, loading it once', async () => {
    await publishVersion(test.stack.registry, { name: 'burst', model: identityModel('FP64', [-1]) });
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        test.request('POST', '/v2/models/burst/versions/1/infer', {
          id: `burst-${index}`,
          inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [index / 3] }],
        }),
      ),
    );
    replies.forEach((reply, index) => {
      assertOk(reply);
      const body = bodyOf(reply, InferResponseSchema);
      assert.equal(body.id, `burst-${index}`);
      assert.deepEqual(output(body, 'y').data, [index / 3]);
    });
    const metrics = await readMetrics(test);
    assert.equal(metrics.get(sample('sluice_model_load_seconds_count', 'burst', 1)), 1);
    assert.equal(metrics.get(sample('sluice_requests_total', 'burst', 1)), 16);
  });
});

describe('V2 inference over HTTP: a model with two inputs', () => {
  it('takes both inputs by name, in any order', async () => {
    const a = [
      [1, 2, 3],
      [10, 20, 30],
    ];
    const b = [
      [0.5, 0.25, -3],
      [1, 1, 1],
    ];
    for (const inputs of [
      [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: a },
        { name: 'b', shape: [2, 3], datatype: 'FP32', data: b },
      ],
      [
        { name: 'b', shape: [2, 3], datatype: 'FP32', data: b.flat() },
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: a.flat() },
      ],
    ]) {
      const reply = await test.request('POST', '/v2/models/adder/infer', { inputs });
      assertOk(reply);
      assertServedBy(reply, 1);
      assert.deepEqual(output(bodyOf(reply, InferResponseSchema), 'sum'), {
        name: 'sum',
        datatype: 'FP32',
        shape: [2, 3],
        data: [1.5, 2.25, 0, 11, 21, 31],
      });
    }
  });

  it('takes named inputs in the simple form, and refuses "instances" naming the inputs it needs', async () => {
    const reply = await test.request('POST', '/models/adder/predict', {
      inputs: { a: [[1, 2, 3]], b: [[3, 2, 1]] },
    });
    assertOk(reply);
    assert.deepEqual(bodyOf(reply, PredictResponseSchema).predictions, [[4, 4, 4]]);

    const refused = await test.request('POST', '/models/adder/predict', { instances: [[1, 2, 3]] });
    assert.equal(refused.status, 400);
    assert.match(bodyOf(refused, ErrorBodySchema).error, /single-input.*a, b/);
  });
});

describe('V2 inference over HTTP: GET /metrics shows per-model, per-version figures', () => {
  it('counts requests, predictions, loads and latency per model and version in Prometheus text', async () => {
    const reply = await test.request('GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(reply.text, /^# TYPE sluice_requests_total counter$/m);
    const metrics = await readMetrics(test);
    const figure = (metric: string, model: string, version: number): number => {
      const value = metrics.get(sample(metric, model, version));
      assert.ok(value !== undefined, `no ${sample(metric, model, version)} in /metrics`);
      return value;
    };
    assert.ok(figure('sluice_requests_total', 'iris', 1) >= 10);
    assert.ok(figure('sluice_predictions_total', 'iris', 1) >= 10);
    assert.ok(figure('sluice_rejected_inputs_total', 'iris', 1) >= 2);
    assert.equal(figure('sluice_errors_total', 'iris', 1), 0);
    assert.equal(
      figure('sluice_model_load_seconds_count', 'iris', 1),
      1,
      'a version is loaded once and reused',
    );
    assert.ok(figure('sluice_request_duration_seconds_sum', 'iris', 1) > 0);
    assert.equal(
      metrics.get(sample('sluice_request_duration_seconds_bucket', 'iris', 1, { le: '+Inf' })),
      figure('sluice_requests_total', 'iris', 1),
    );
    // Drift is a figure per window of answers against the reference set (the behaviour-gates tests), not a mean.
    assert.ok(![...metrics.keys()].some((key) => key.startsWith('sluice_output_mean')));
    assert.ok(figure('sluice_requests_total', 'hot', 1) >= 1);
    assert.ok(figure('sluice_requests_total', 'hot', 2) >= 1);
    assert.equal(figure('sluice_model_load_seconds_count', 'hot', 2), 1);
    assert.equal(figure('sluice_requests_total', 'adder', 1), 4);
  });
});
