/**
 * The predict function behind the HTTP API and function URL doors: payload format 2.0 events, as those doors send
 * them (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html), through the handler functions/predict exports
 * (acceptEveryDoor over createPredictHandler), on a real embedded S3 store and real onnxruntime: the same answers as
 * the REST door, binary tensors both ways.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { acceptEveryDoor, type HttpEventV2 } from '../../lib/serving/http-event-format.js';
import { NO_METRICS } from '../../lib/serving/metrics/ServingMetrics.js';
import { silentLogger, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { identityModel } from '../fixtures/models.js';

let test: TestStack;
/** A model's handler as functions/predict exports it, fed 2.0 events. */
type DoorHandler = (event: HttpEventV2) => Promise<unknown>;
let door: { iris: DoorHandler; fp32: DoorHandler };

async function doorHandler(model: string): Promise<DoorHandler> {
  const manifest = await test.stack.registry.getManifest(model, 1);
  const predict = createPredictHandler(
    readFunctionConfig({
      SLUICE_BUCKET: test.stack.store.bucket,
      SLUICE_MODEL: model,
      SLUICE_MODEL_VERSION: '1',
      SLUICE_MODEL_SHA256: manifest.sha256,
      SLUICE_S3_ENDPOINT: test.stack.store.endpoint,
      AWS_REGION: 'us-east-1',
    }),
    { logger: silentLogger(), metrics: NO_METRICS },
  );
  await predict.warm;
  const handler = acceptEveryDoor(predict.handler);
  return (request) => handler(request);
}

/** A 2.0 event: an HTTP API route's (routeKey `ANY <path template>`) or a function URL's (`$default`). */
function event(options: {
  method: string;
  path: string;
  routeKey?: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  binary?: boolean;
}): HttpEventV2 {
  const binary = options.binary ?? false;
  return {
    version: '2.0',
    routeKey: options.routeKey ?? '$default',
    rawPath: options.path,
    rawQueryString: '',
    headers: options.headers ?? {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      requestId: `door-${options.path}`,
      stage: '$default',
      timeEpoch: Date.now(),
      http: { method: options.method, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1' },
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(options.body ? { body: options.body.toString(binary ? 'base64' : 'utf8') } : {}),
    isBase64Encoded: binary,
  };
}

function structured(result: unknown): APIGatewayProxyStructuredResultV2 {
  assert.ok(
    typeof result === 'object' && result !== null && 'statusCode' in result,
    'a structured 2.0 result',
  );
  return result as APIGatewayProxyStructuredResultV2;
}

before(async () => {
  test = await startTestStack();
  await publishVersion(test.stack.registry, { name: 'fp32', model: identityModel('FP32', [-1]) });
  door = { iris: await doorHandler('iris'), fp32: await doorHandler('fp32') };
});

after(async () => {
  await test.stop();
});

describe('HTTP API and function URL events: the predict function answers them as it answers REST events', () => {
  it('HTTP API route ANY /models/iris/{proxy+}: the simple form, JSON as text (application/json is not binary)', async () => {
    const result = structured(
      await door.iris(
        event({
          method: 'POST',
          path: '/models/iris/predict',
          routeKey: 'ANY /models/iris/{proxy+}',
          pathParameters: { proxy: 'predict' },
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"instances": [[5.1, 3.5, 1.4, 0.2]]}'),
        }),
      ),
    );
    assert.equal(result.statusCode, 200, result.body);
    assert.equal(result.isBase64Encoded, false);
    assert.match(String(result.body), /"label":"setosa"/);
    assert.equal(result.headers?.['x-sluice-model-version'], '1');
  });

  it('function URL ($default): binary tensors in, base64 in the event, and binary outputs out with isBase64Encoded', async () => {
    const values = new Float32Array([1.5, -2, Number.NaN, 3.25]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', shape: [4], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const result = structured(
      await door.fp32(
        event({
          method: 'POST',
          path: '/v2/models/fp32/infer',
          headers: {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(header.byteLength),
          },
          body: Buffer.concat([header, Buffer.from(values.buffer)]),
          binary: true,
        }),
      ),
    );
    assert.equal(result.statusCode, 200, result.body);
    assert.equal(result.isBase64Encoded, true);
    const bytes = Buffer.from(String(result.body), 'base64');
    const jsonLength = Number(result.headers?.['inference-header-content-length']);
    const answer = bytes.subarray(jsonLength);
    assert.deepEqual(Buffer.from(answer), Buffer.from(values.buffer));
  });

  it('the $default route: server routes and sluice JSON 404s for unknown models', async () => {
    const ready = structured(await door.iris(event({ method: 'GET', path: '/v2/health/ready' })));
    assert.equal(ready.statusCode, 200, ready.body);
    assert.match(String(ready.body), /"ready":true/);
    const unknown = structured(
      await door.iris(
        event({
          method: 'POST',
          path: '/v2/models/nope/infer',
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{}'),
        }),
      ),
    );
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.match(String(unknown.body), /^\{"error":/);
  });
});
