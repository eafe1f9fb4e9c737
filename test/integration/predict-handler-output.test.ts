import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { BatchEventSchema } from '../../lib/core/batch/batch-event.js';
import { BatchResultSchema } from '../../lib/core/batch/batch-results.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';

/** A value no log or metric line may contain: it only appears in a request body. */
const PAYLOAD_MARKER = 'do-not-log-this-payload';

/** The EMF fields every document of the function carries. */
const EmfSchema = z.looseObject({
  _aws: z.object({
    Timestamp: z.number(),
    CloudWatchMetrics: z.array(
      z.object({
        Namespace: z.literal('Sluice'),
        Dimensions: z.array(z.array(z.string())),
        Metrics: z.array(z.object({ Name: z.string(), Unit: z.string() })),
      }),
    ),
  }),
  service: z.literal('sluice'),
  Model: z.string(),
  Version: z.string(),
  ModelLoadTime: z.number().optional(),
  ColdStart: z.number().optional(),
  Requests: z.number().optional(),
  Latency: z.number().optional(),
  Predictions: z.number().optional(),
  RejectedInputs: z.number().optional(),
  Errors: z.number().optional(),
  FunctionVersion: z.string().optional(),
});

/**
 * What the Lambda runtime would ship to CloudWatch: every JSON line the function writes to stdout and stderr.
 * Anything else (the test runner's own messages share this process's stdout) goes through untouched.
 */
function captureOutput(): { lines: () => unknown[]; raw: () => string; restore: () => void } {
  let text = '';
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const collecting =
    (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      const line = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (!line.startsWith('{')) return Reflect.apply(original, stream, [chunk, ...rest]);
      text += line.endsWith('\n') ? line : `${line}\n`;
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  process.stdout.write = collecting(process.stdout, originals.out) as typeof process.stdout.write;
  process.stderr.write = collecting(process.stderr, originals.err) as typeof process.stderr.write;
  return {
    raw: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as unknown),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

function event(body: unknown, requestId: string): APIGatewayProxyEvent {
  return buildProxyEvent({
    method: 'POST',
    path: '/v2/models/iris/infer',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    requestId,
    requestTimeEpoch: Date.now(),
  });
}

let home: string;
let store: LocalObjectStore;

/** The function's configuration serving iris v1 from the test's store, with `extra` variables. */
function irisConfig(extra: Record<string, string> = {}) {
  return readFunctionConfig({
    SLUICE_BUCKET: store.bucket,
    SLUICE_MODEL: 'iris',
    SLUICE_MODEL_VERSION: '1',
    SLUICE_MODEL_SHA256: sha256,
    SLUICE_S3_ENDPOINT: store.endpoint,
    AWS_REGION: 'us-east-1',
    ...extra,
  });
}
let sha256: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-handler-output-'));
  store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
  const iris = SAMPLE_MODELS[0];
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  const registry = new ModelRegistry({ store: store.objects() });
  sha256 = (await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras })).sha256;
});

after(async () => {
  await store.stop();
  await rm(home, { recursive: true, force: true });
});

describe('functions/predict wiring: what the Lambda function writes for CloudWatch', () => {
  it('emits EMF per model and version (load, cold start, latency, predictions, rejections) and JSON logs with the request id, never the payload', async () => {
    const output = captureOutput();
    let lines: unknown[];
    let raw: string;
    try {
      const predict = createPredictHandler(irisConfig({ AWS_LAMBDA_FUNCTION_VERSION: '7' }));
      await predict.warm;
      const good = {
        id: PAYLOAD_MARKER,
        inputs: [
          { name: 'features', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 6.7, 3, 5.2, 2.3] },
        ],
      };
      assert.equal((await predict.handler(event(good, 'req-good'))).statusCode, 200);
      const bad = { inputs: [{ name: PAYLOAD_MARKER, shape: [1], datatype: 'FP32', data: [1] }] };
      assert.equal((await predict.handler(event(bad, 'req-bad'))).statusCode, 400);
      await predict.engine.close();
    } finally {
      lines = output.lines();
      raw = output.raw();
      output.restore();
    }

    const emf = lines.flatMap((line) => {
      const parsed = EmfSchema.safeParse(line);
      return parsed.success ? [parsed.data] : [];
    });
    const load = emf.filter((document) => document.ModelLoadTime !== undefined);
    assert.equal(load.length, 1, `one model load at cold start: ${raw}`);
    assert.equal(load[0]?.ColdStart, 1);
    assert.ok((load[0]?.ModelLoadTime ?? 0) > 0);
    const requests = emf.filter((document) => document.Requests !== undefined);
    assert.equal(requests.length, 2, 'one EMF document per request');
    for (const document of requests) {
      assert.deepEqual([document.Model, document.Version], ['iris', '1']);
      // One dimension set: the routed request's, naming the Lambda version.
      assert.deepEqual(document._aws.CloudWatchMetrics[0]?.Dimensions, [
        ['service', 'Model', 'Version', 'FunctionVersion'],
      ]);
      assert.equal(document.FunctionVersion, '7', 'the Lambda version, which its alarms watch');
      assert.ok((document.Latency ?? 0) > 0);
    }
    assert.deepEqual(
      // A minute's first document writes every count, later ones leave zeros out (the unit test pins which).
      requests.map((document) => [
        document.Predictions ?? 0,
        document.RejectedInputs ?? 0,
        document.Errors ?? 0,
      ]),
      [
        [2, 0, 0],
        [0, 1, 0],
      ],
    );

    const logs = lines.filter(
      (line): line is Record<string, unknown> =>
        typeof line === 'object' && line !== null && 'message' in line && 'level' in line,
    );
    const loaded = logs.find((log) => log.message === 'model loaded');
    assert.equal(loaded?.coldStart, true);
    const refused = logs.find((log) => log.message === 'request refused');
    assert.ok(refused, `a refusal is logged: ${JSON.stringify(logs)}`);
    assert.equal(refused.requestId, 'req-bad');
    assert.equal(refused.status, 400);
    assert.equal(refused.model, 'iris');
    assert.equal(
      logs.some((log) => log.requestId === 'req-good'),
      false,
      'successful requests are not logged by default',
    );
    assert.equal(raw.includes(PAYLOAD_MARKER), false, 'no payload in any log or metric line');
  });
});

describe('functions/predict behind a REST API with api.cors: the function names the allowed origin', () => {
  it('adds Access-Control-Allow-Origin and the readable headers for an allowed Origin, only Vary for another', async () => {
    const output = captureOutput();
    try {
      const cors = { allowOrigins: ['https://app.example.com'], maxAgeSeconds: 600 };
      const predict = createPredictHandler(irisConfig({ SLUICE_CORS: JSON.stringify(cors) }));
      await predict.warm;
      const request = {
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      };
      const from = (origin: string) => {
        const sent = event(request, `req-${origin}`);
        return predict.handler({ ...sent, headers: { ...sent.headers, Origin: origin } });
      };
      const allowed = await from('https://app.example.com');
      assert.equal(allowed.statusCode, 200);
      assert.equal(allowed.headers?.['access-control-allow-origin'], 'https://app.example.com');
      assert.match(String(allowed.headers?.['access-control-expose-headers']), /x-sluice-model-version/);
      assert.equal(allowed.headers?.vary, 'Origin');
      const other = await from('https://evil.example');
      assert.equal(other.statusCode, 200);
      assert.equal(other.headers?.['access-control-allow-origin'], undefined);
      const refused = await predict.handler({
        ...event({ inputs: [] }, 'req-bad'),
        headers: { 'content-type': 'application/json', origin: 'https://app.example.com' },
      });
      assert.equal(refused.statusCode, 400);
      assert.equal(
        refused.headers?.['access-control-allow-origin'],
        'https://app.example.com',
        'errors are readable too',
      );
      await predict.engine.close();
    } finally {
      output.restore();
    }
  });

  it('refuses SLUICE_CORS that is not JSON or not CORS settings, naming the variable', () => {
    const env = {
      SLUICE_BUCKET: 'bucket',
      SLUICE_MODEL: 'iris',
      SLUICE_MODEL_VERSION: '1',
      SLUICE_MODEL_SHA256: 'a'.repeat(64),
    };
    assert.throws(
      () => readFunctionConfig({ ...env, SLUICE_CORS: 'https://app.example.com' }),
      /SLUICE_CORS.*JSON/s,
    );
    assert.throws(() => readFunctionConfig({ ...env, SLUICE_CORS: '{"allowOrigins":[]}' }), /SLUICE_CORS/);
  });
});

describe('functions/predict with a batch of a Distributed Map run: rows scored in process, results as one part', () => {
  it('scores the rows by one request, names the refused ones, and writes the same part when the batch is retried', async () => {
    const output = captureOutput();
    try {
      const predict = createPredictHandler(irisConfig());
      await predict.warm;
      const event = BatchEventSchema.parse({
        Items: [
          { index: 40, value: [5.1, 3.5, 1.4, 0.2] },
          { index: 41, value: { id: 'v', row: [6.7, 3.0, 5.2, 2.3] } },
          { index: 42, value: { id: 'short', row: [1, 2] } },
          { index: 43, value: 'not a row' },
        ],
        BatchInput: {
          sluiceBatch: { runId: 'run-1', key: 'batch/iris/input/run-1/rows.jsonl', format: 'jsonl' },
        },
      });
      const outcome = await predict.batch(event);
      assert.deepEqual(outcome, {
        part: 'batch/iris/output/run-1/parts/part-0000000040.jsonl',
        rows: 4,
        succeeded: 2,
        failed: 2,
      });
      const text = new TextDecoder().decode(await store.objects().get(outcome.part));
      const lines = text
        .trim()
        .split('\n')
        .map((line) => BatchResultSchema.parse(JSON.parse(line)));
      assert.deepEqual(
        lines.map((line) => [
          line.line,
          'prediction' in line ? (line.prediction as { label: string }).label : line.error.slice(0, 20),
        ]),
        [
          [41, 'setosa'],
          [42, 'virginica'],
          [43, 'input "features": di'],
          [44, 'a line is a row (an '],
        ],
      );
      assert.ok(
        lines[2] && 'error' in lines[2] && lines[2].status === 400,
        'the short row was refused by the model',
      );
      // A retry finds the part an earlier attempt wrote (here replaced by a marker of one row): it writes nothing
      // and answers the stored part's counts.
      const objects = store.objects();
      await objects.delete(outcome.part);
      const marker = `${JSON.stringify({ source: 'marker', line: 1, error: 'an earlier attempt' })}\n`;
      await objects.putIfAbsent(outcome.part, marker);
      assert.deepEqual(await predict.batch(event), { part: outcome.part, rows: 1, succeeded: 0, failed: 1 });
      assert.equal(
        new TextDecoder().decode(await objects.get(outcome.part)),
        marker,
        'the part is not written again',
      );
      await predict.engine.close();
    } finally {
      output.restore();
    }
  });
});
