import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ResponseHeader } from '../../lib/core/contract/headers.js';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { ConfigError } from '../../lib/core/environment/ConfigError.js';
import { MODEL_OBJECT, versionKey } from '../../lib/core/manifest/registry-layout.js';
import { PrometheusServingMetrics } from '../../lib/local/PrometheusServingMetrics.js';
import { LOCAL_LISTING_TTL_MS } from '../../lib/local/RegistryResolver.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import {
  bodyOf,
  ErrorBodySchema,
  type HttpReply,
  readMetrics,
  sample,
  silentLogger,
  startTestStack,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel, runtimeFailureModel } from '../fixtures/models.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const IRIS_REQUEST = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [SETOSA] }] };
const X_REQUEST = { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] };

/** Asserts a JSON `{"error"}` answer with this status whose message matches, and no stack trace. */
function assertError(reply: Pick<HttpReply, 'status' | 'text'>, status: number, says: RegExp): string {
  assert.equal(reply.status, status, reply.text);
  const { error } = bodyOf(reply, ErrorBodySchema);
  assert.match(error, says);
  assert.doesNotMatch(error, /\n\s+at |\.ts:\d+|node_modules/, 'no stack trace');
  return error;
}

async function assertIrisServes(test: TestStack, path = '/v2/models/iris/infer'): Promise<void> {
  const reply = await test.request('POST', path, IRIS_REQUEST);
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.text, /"name":"label","datatype":"INT64","shape":\[1\],"data":\[0\]/);
}

let test: TestStack;

before(async () => {
  test = await startTestStack();
});

after(async () => {
  // A failed test may have left the store stopped; stop() tolerates either.
  await test?.stop();
});

describe('Faults: model bytes that do not match their checksum are never served', () => {
  it('answers 503 naming the sha256 mismatch for a tampered version, every time', async () => {
    const bytes = identityModel('FP32', [-1]);
    await publishVersion(test.stack.registry, { name: 'tampered', model: bytes });
    // Same size, one letter of the graph name changed: still a loadable model, so only the checksum can catch it.
    const tampered = Uint8Array.from(bytes);
    const at = Buffer.from(tampered).indexOf('identity_fp32');
    assert.ok(at > 0);
    tampered[at] = 'I'.charCodeAt(0);
    await test.stack.store.createClient().send(
      new PutObjectCommand({
        Bucket: test.stack.store.bucket,
        Key: versionKey('tampered', 1, MODEL_OBJECT),
        Body: tampered,
      }),
    );

    for (const path of ['/v2/models/tampered/versions/1/infer', '/v2/models/tampered/infer']) {
      const reply = await test.request('POST', path, X_REQUEST);
      assertError(reply, 503, /model "tampered" version 1 .*sha256 mismatch/);
    }
    const ready = await test.request('GET', '/v2/models/tampered/ready');
    assertError(ready, 503, /sha256 mismatch/);
    const predict = await test.request('POST', '/models/tampered/predict', { instances: [1, 2] });
    assertError(predict, 503, /sha256 mismatch/);
    assert.equal(test.stack.engine.peek('tampered', 1), undefined, 'the tampered version was never loaded');
    await assertIrisServes(test);
  });
});

describe('Faults: the model store becomes unreachable and comes back', () => {
  before(async () => {
    await publishVersion(test.stack.registry, { name: 'late', model: identityModel('FP32', [-1]) });
    await assertIrisServes(test);
  });

  after(async () => {
    await test.stack.store.start();
  });

  it('keeps serving a version that is already loaded, by both routes', async (t) => {
    await test.stack.store.stop();
    // Every cached listing expires, so requests cannot be answered from a fresh listing: their lifetime is read
    // from Date, and the test moves that clock past it instead of waiting.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.mock.timers.tick(LOCAL_LISTING_TTL_MS + 1);
    await assertIrisServes(test);
    await assertIrisServes(test, '/v2/models/iris/versions/1/infer');
    const predict = await test.request('POST', '/models/iris/predict', { instances: [SETOSA] });
    assert.equal(predict.status, 200, predict.text);
    const metadata = await test.request('GET', '/v2/models/iris');
    assert.equal(metadata.status, 200, metadata.text);
  });

  it('answers 503 for a version that is not loaded yet, and reports not ready', async () => {
    assert.equal(test.stack.store.running, false);
    for (const path of ['/v2/models/late/infer', '/v2/models/late/versions/1/infer']) {
      const reply = await test.request('POST', path, X_REQUEST);
      assertError(
        reply,
        503,
        /model "late" .*(cannot be loaded|cannot be looked up in the model store): connect ECONNREFUSED/,
      );
    }
    const metadata = await test.request('GET', '/v2/models/late/versions/1');
    assertError(metadata, 503, /model "late" .*cannot be/);
    const health = await test.request('GET', '/v2/health/ready');
    assert.equal(health.status, 503, health.text);
    assert.match(health.text, /"ready":false/);
  });

  it('loads the version on retry once the store is back', async () => {
    await test.stack.store.start();
    const reply = await test.request('POST', '/v2/models/late/versions/1/infer', X_REQUEST);
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.text, /"data":\[1,2\]/);
    const health = await test.request('GET', '/v2/health/ready');
    assert.equal(health.status, 200, health.text);
  });
});

describe('Faults: a model that fails at run time is a model fault, not bad input', () => {
  it('answers 500 with a JSON error and no stack, and keeps serving other models', async () => {
    await publishVersion(test.stack.registry, { name: 'broken', model: runtimeFailureModel() });
    const infer = await test.request('POST', '/v2/models/broken/infer', IRIS_REQUEST);
    const error = assertError(infer, 500, /model "broken" version 1 failed to run on this input/);
    assert.doesNotMatch(error, /Reshape|onnxruntime|\.cc:/i, 'no runtime internals in the answer');
    assert.equal(infer.headers.get(ResponseHeader.MODEL_VERSION), '1');
    const predict = await test.request('POST', '/models/broken/predict', { instances: [SETOSA] });
    assertError(predict, 500, /failed to run/);
    await assertIrisServes(test);
    const metrics = await readMetrics(test);
    assert.equal(metrics.get(sample('sluice_errors_total', 'broken', 1)), 2);
    assert.equal(metrics.get(sample('sluice_rejected_inputs_total', 'broken', 1)), 0);
  });
});

/** An API Gateway REST proxy event as Lambda receives it. */
function proxyEvent(method: string, path: string, body?: object): APIGatewayProxyEvent {
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: body ? { 'content-type': 'application/json' } : {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    body: body ? JSON.stringify(body) : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'integration-test',
        userArn: null,
      },
      path: `/prod${path}`,
      stage: 'prod',
      requestId: `test-${method}-${path}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'test',
      resourcePath: '/{proxy+}',
    },
  };
}

function functionEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SLUICE_BUCKET: test.stack.store.bucket,
    SLUICE_MODEL: 'iris',
    SLUICE_MODEL_VERSION: '1',
    SLUICE_S3_ENDPOINT: test.stack.store.endpoint,
    SLUICE_LOG_REQUESTS: 'false',
    AWS_REGION: 'eu-west-1',
    ...overrides,
  };
}

function startFunction(env: Record<string, string>): PredictHandler {
  const predict = createPredictHandler(readFunctionConfig(env), {
    logger: silentLogger(),
    metrics: new PrometheusServingMetrics(),
  });
  handlers.push(predict);
  return predict;
}

function headerOf(result: APIGatewayProxyResult, name: string): unknown {
  return result.headers?.[name];
}

const handlers: PredictHandler[] = [];

describe('Lambda wiring: createPredictHandler serves its configured version from the registry bucket', () => {
  after(async () => {
    await Promise.all(handlers.map((predict) => predict.engine.close()));
  });

  it('answers API Gateway proxy events from a registry at SLUICE_S3_ENDPOINT', async () => {
    const predict = startFunction(functionEnv());
    await predict.warm;
    assert.ok(predict.engine.peek('iris', 1), 'the configured version is loaded at cold start');
    const result = await predict.handler(proxyEvent('POST', '/v2/models/iris/infer', IRIS_REQUEST));
    assert.equal(result.statusCode, 200, result.body);
    assert.match(result.body, /"model_name":"iris","model_version":"1"/);
    assert.match(result.body, /"name":"label","datatype":"INT64","shape":\[1\],"data":\[0\]/);
    assert.equal(headerOf(result, ResponseHeader.MODEL_VERSION), '1');
    assert.equal(headerOf(result, ResponseHeader.REQUEST_ID), 'test-POST-/v2/models/iris/infer');

    const ready = await predict.handler(proxyEvent('GET', '/v2/health/ready'));
    assert.equal(ready.statusCode, 200, ready.body);
    const simple = await predict.handler(proxyEvent('POST', '/models/iris/predict', { instances: [SETOSA] }));
    assert.equal(simple.statusCode, 200, simple.body);
    assert.match(simple.body, /"label":"setosa"/);
    const other = await predict.handler(proxyEvent('POST', '/v2/models/late/infer', X_REQUEST));
    assertError({ status: other.statusCode, text: other.body }, 404, /unknown model "late"/);
  });

  it('reads base64-encoded bodies, and refuses bodies over the payload limit with 413', async () => {
    const predict = handlers[0] ?? startFunction(functionEnv());
    const event = proxyEvent('POST', '/v2/models/iris/infer', IRIS_REQUEST);
    const encoded = await predict.handler({
      ...event,
      body: Buffer.from(event.body ?? '').toString('base64'),
      isBase64Encoded: true,
    });
    assert.equal(encoded.statusCode, 200, encoded.body);
    const tooLarge = await predict.handler({
      ...event,
      body: `${event.body}${' '.repeat(MAX_REQUEST_BYTES)}`,
    });
    assertError({ status: tooLarge.statusCode, text: tooLarge.body }, 413, /larger than/);
  });

  it('serves the version when SLUICE_MODEL_SHA256 equals its manifest', async () => {
    const { sha256 } = await test.stack.registry.getManifest('iris', 1);
    const predict = startFunction(functionEnv({ SLUICE_MODEL_SHA256: sha256 }));
    const result = await predict.handler(proxyEvent('POST', '/v2/models/iris/infer', IRIS_REQUEST));
    assert.equal(result.statusCode, 200, result.body);
  });

  it('answers 503 and never serves the version when SLUICE_MODEL_SHA256 differs from the manifest', async () => {
    const predict = startFunction(functionEnv({ SLUICE_MODEL_SHA256: 'ab'.repeat(32) }));
    await predict.warm;
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await predict.handler(proxyEvent('POST', '/v2/models/iris/infer', IRIS_REQUEST));
      assertError({ status: result.statusCode, text: result.body }, 503, /sha256 mismatch.*abab/);
    }
    const ready = await predict.handler(proxyEvent('GET', '/v2/health/ready'));
    assert.equal(ready.statusCode, 503, ready.body);
    assert.equal(predict.engine.peek('iris', 1), undefined);
  });
});

describe('Lambda wiring: readFunctionConfig fails fast naming the variable and the value it got', () => {
  const BAD_VALUES: readonly [string, string | undefined][] = [
    ['SLUICE_MODEL_VERSION', 'two'],
    ['SLUICE_MODEL_VERSION', '0'],
    ['SLUICE_MODEL', 'Iris Model'],
    ['SLUICE_MODEL_SHA256', 'not-a-digest'],
    ['SLUICE_CACHE_BYTES', '-5'],
    ['SLUICE_S3_ENDPOINT', 'localhost 9000'],
    ['SLUICE_LOG_REQUESTS', 'yes'],
    ['SLUICE_BUCKET', undefined],
  ];

  for (const [variable, value] of BAD_VALUES) {
    it(`${variable}=${value === undefined ? '(unset)' : JSON.stringify(value)}`, () => {
      const env: Record<string, string | undefined> = { ...functionEnv(), [variable]: value };
      assert.throws(
        () => readFunctionConfig(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.ok(error.message.includes(variable), error.message);
          assert.ok(
            error.message.includes(value === undefined ? 'null' : JSON.stringify(value)),
            error.message,
          );
          return true;
        },
      );
    });
  }

  it('reads a good environment into a typed configuration', () => {
    const config = readFunctionConfig(functionEnv({ SLUICE_CACHE_BYTES: '1048576' }));
    assert.equal(config.model, 'iris');
    assert.equal(config.version, 1);
    assert.equal(config.cacheBytes, 1048576);
    assert.equal(config.region, 'eu-west-1');
    assert.equal(config.logRequests, false);
  });
});
