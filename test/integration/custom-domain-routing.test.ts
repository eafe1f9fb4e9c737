import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { resourcePath } from '../../lib/core/contract/resource-path.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';

let test: TestStack;

before(async () => {
  test = await startTestStack();
});

after(async () => {
  await test?.stop();
});

/**
 * The proxy event API Gateway sends for a request through a custom domain whose base path mapping is `api`:
 * `path` carries the base path, `resource` is the API's own resource template and `pathParameters` fill it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
 */
function customDomainEvent(
  method: string,
  resource: string,
  path: string,
  proxy: string | undefined,
  body?: object,
): APIGatewayProxyEvent {
  return buildProxyEvent({
    method,
    path,
    resource,
    pathParameters: proxy === undefined ? null : { proxy },
    headers: { 'content-type': 'application/json', Host: 'ml.example.com' },
    body: body === undefined ? undefined : JSON.stringify(body),
    requestId: 'custom-domain-test',
    requestTimeEpoch: 0,
    domainName: 'ml.example.com',
    accountId: '123456789012',
    apiId: 'abc123',
    resourceId: 'r1',
  });
}

describe('Routing by resource path: a custom domain with a base path reaches every route', () => {
  it('fills the resource template from the path parameters and ignores the base path', () => {
    assert.equal(
      resourcePath({
        resource: '/v2/models/iris/{proxy+}',
        pathParameters: { proxy: 'versions/1/infer' },
        path: '/api/v2/models/iris/versions/1/infer',
      }),
      '/v2/models/iris/versions/1/infer',
    );
    assert.equal(
      resourcePath({ resource: '/v2/models/iris', pathParameters: null, path: '/api/v2/models/iris' }),
      '/v2/models/iris',
    );
    assert.equal(
      resourcePath({ resource: '', pathParameters: null, path: '/v2' }),
      '/v2',
      'no resource: the path',
    );
    assert.equal(
      resourcePath({ resource: '/models/{m}/predict', pathParameters: {}, path: '/x/models/iris/predict' }),
      '/x/models/iris/predict',
      'a parameter the event lacks: the path',
    );
  });

  it('serves inference, the simple form and metadata behind the base path `api`', async () => {
    const infer = await test.stack.app.handle(
      customDomainEvent('POST', '/v2/models/iris/{proxy+}', '/api/v2/models/iris/infer', 'infer', {
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
        outputs: [{ name: 'label' }],
      }),
    );
    assert.equal(infer.statusCode, 200, infer.body);
    assert.deepEqual(JSON.parse(infer.body).outputs[0].data, [0]);

    const predict = await test.stack.app.handle(
      customDomainEvent('POST', '/models/iris/{proxy+}', '/api/models/iris/predict', 'predict', {
        instances: [[5.1, 3.5, 1.4, 0.2]],
      }),
    );
    assert.equal(predict.statusCode, 200, predict.body);
    assert.equal(JSON.parse(predict.body).predictions[0].label, 'setosa');

    const metadata = await test.stack.app.handle(
      customDomainEvent('GET', '/v2/models/iris', '/api/v2/models/iris', undefined),
    );
    assert.equal(metadata.statusCode, 200, metadata.body);
    assert.equal(JSON.parse(metadata.body).name, 'iris');
  });
});
