import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import type { ServingMetrics } from '../../lib/serving/metrics/ServingMetrics.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';

/** Metrics that go nowhere: this file is about the start, not the EMF lines. */
const silentMetrics: ServingMetrics = new Proxy({} as ServingMetrics, { get: () => () => undefined });

describe('createPredictHandler: the request pipeline loads after the model requests go out', () => {
  let home: string;
  let store: LocalObjectStore;
  let env: Record<string, string>;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-predict-start-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    const [iris] = SAMPLE_MODELS;
    const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
    const manifest = await publishVersion(new ModelRegistry({ store: store.objects() }), {
      name: 'iris',
      model: iris.modelPath,
      extras,
    });
    env = {
      SLUICE_BUCKET: store.bucket,
      SLUICE_MODEL: 'iris',
      SLUICE_MODEL_VERSION: String(manifest.version),
      SLUICE_MODEL_SHA256: manifest.sha256,
      SLUICE_S3_ENDPOINT: store.endpoint,
    };
  });

  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('answers a request sent the moment it returns, before the pipeline or the model is loaded', async () => {
    const predict = createPredictHandler(readFunctionConfig(env), {
      metrics: silentMetrics,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
    try {
      const result = await predict.handler(
        buildProxyEvent({
          method: 'POST',
          path: '/models/iris/predict',
          body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
          requestId: 'first',
          requestTimeEpoch: 0,
        }),
      );
      assert.equal(result.statusCode, 200, result.body);
      assert.equal((JSON.parse(result.body) as { model: string }).model, 'iris');
    } finally {
      await predict.warm;
      await predict.engine.close();
    }
  });

  it('counts the pipeline in warm: once warm settles, the handler has it and the model loaded', async () => {
    const predict = createPredictHandler(readFunctionConfig(env), {
      metrics: silentMetrics,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
    try {
      await predict.warm;
      assert.ok(predict.engine.peek('iris', Number(env.SLUICE_MODEL_VERSION)), 'the model is loaded');
      const result = await predict.handler(
        buildProxyEvent({ method: 'GET', path: '/v2/health/ready', requestId: 'ready', requestTimeEpoch: 0 }),
      );
      assert.equal(result.statusCode, 200, result.body);
    } finally {
      await predict.engine.close();
    }
  });

  it("answers every request with the contract's JSON 500 when the pipeline cannot load, and logs why", async () => {
    const logged: string[] = [];
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    logger.error = (message: unknown, ..._extra: unknown[]) => {
      logged.push(String(message));
    };
    const predict = createPredictHandler(readFunctionConfig(env), {
      metrics: silentMetrics,
      logger,
      loadPipeline: () => Promise.reject(new Error('Cannot find module ./InferenceApp.js')),
    });
    try {
      await predict.warm;
      for (const requestId of ['one', 'two']) {
        const result = await predict.handler(
          buildProxyEvent({ method: 'GET', path: '/v2/health/ready', requestId, requestTimeEpoch: 0 }),
        );
        assert.equal(result.statusCode, 500);
        assert.equal(result.headers?.['content-type'], 'application/json');
        const body = JSON.parse(result.body) as { error: string };
        assert.doesNotMatch(body.error, /InferenceApp/, 'nothing of internals in the answer');
      }
      assert.equal(logged.filter((line) => /pipeline did not load/.test(line)).length, 2);
    } finally {
      await predict.engine.close();
    }
  });
});
