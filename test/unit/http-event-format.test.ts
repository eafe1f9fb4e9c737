import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { resourcePath } from '../../lib/core/contract/resource-path.js';
import {
  acceptEveryDoor,
  fromHttpEventV2,
  type HttpEventV2,
  isHttpEventV2,
  toHttpResultV2,
} from '../../lib/serving/http-event-format.js';
import { binaryResult, jsonResult } from '../../lib/serving/proxy-result.js';

/**
 * The payload format 2.0 example of API Gateway's documentation
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html), with
 * a route, path and body of sluice's: all its fields, header names lower-case as HTTP APIs send them.
 */
function httpApiEvent(overrides: Partial<HttpEventV2> = {}): HttpEventV2 {
  return {
    version: '2.0',
    routeKey: 'ANY /v2/models/iris/{proxy+}',
    rawPath: '/v2/models/iris/infer',
    rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
    cookies: ['cookie1', 'cookie2'],
    headers: { header1: 'value1', header2: 'value1,value2', 'content-type': 'application/json' },
    queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api-id',
      authentication: null,
      authorizer: { jwt: { claims: { claim1: 'value1' }, scopes: ['scope1'] } },
      domainName: 'id.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'id',
      http: {
        method: 'POST',
        path: '/v2/models/iris/infer',
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'agent',
      },
      requestId: 'id',
      routeKey: 'ANY /v2/models/iris/{proxy+}',
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
    },
    body: '{"inputs":[]}',
    pathParameters: { proxy: 'infer' },
    isBase64Encoded: false,
    stageVariables: { stageVariable1: 'value1' },
    ...overrides,
  } as HttpEventV2;
}

/**
 * The request payload example of Lambda's function URL documentation
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): `$default` route key, no path parameters,
 * the IAM caller in `authorizer.iam`, `timeEpoch` a string as the page's table shows it.
 */
function functionUrlEvent(overrides: Partial<HttpEventV2> = {}): HttpEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/models/iris/predict',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'abc.lambda-url.us-west-2.on.aws' },
    requestContext: {
      accountId: '123456789012',
      apiId: '<urlid>',
      authentication: null,
      authorizer: {
        iam: { accessKey: 'AKIA...', accountId: '111122223333', callerId: 'AIDA...', userArn: 'arn' },
      },
      domainName: '<url-id>.lambda-url.us-west-2.on.aws',
      domainPrefix: '<url-id>',
      http: {
        method: 'POST',
        path: '/models/iris/predict',
        protocol: 'HTTP/1.1',
        sourceIp: '123.123.123.123',
        userAgent: 'agent',
      },
      requestId: 'e1506fd5-9e7b-434f-bd42-4f8fa224b599',
      routeKey: '$default',
      stage: '$default',
      time: '07/Sep/2021:22:50:22 +0000',
      timeEpoch: '1631055022677',
    },
    body: '{"instances":[[5.1,3.5,1.4,0.2]]}',
    isBase64Encoded: false,
    ...overrides,
  } as HttpEventV2;
}

describe('fromHttpEventV2: a payload format 2.0 event becomes the REST proxy event the app reads', () => {
  it('takes the method from requestContext.http and the route from the route key and path parameters', () => {
    const event = fromHttpEventV2(httpApiEvent());
    assert.equal(event.httpMethod, 'POST');
    assert.equal(event.resource, '/v2/models/iris/{proxy+}');
    assert.deepEqual(event.pathParameters, { proxy: 'infer' });
    assert.equal(resourcePath(event), '/v2/models/iris/infer');
    assert.equal(event.path, '/v2/models/iris/infer');
  });

  it('routes by the route key, not rawPath, which carries no custom domain API mapping (and a named stage)', () => {
    const event = fromHttpEventV2(httpApiEvent({ rawPath: '/stage-or-mapping/v2/models/iris/infer' }));
    assert.equal(resourcePath(event), '/v2/models/iris/infer');
  });

  it('keeps every value of a repeated query parameter, from rawQueryString (queryStringParameters joins them)', () => {
    const event = fromHttpEventV2(httpApiEvent());
    assert.deepEqual(
      { ...event.multiValueQueryStringParameters },
      {
        parameter1: ['value1', 'value2'],
        parameter2: ['value'],
      },
    );
    assert.equal(event.queryStringParameters?.parameter1, 'value2');
  });

  it('puts the cookies back into one cookie header, and passes headers, body and request id as they are', () => {
    const event = fromHttpEventV2(httpApiEvent());
    assert.equal(event.headers.cookie, 'cookie1; cookie2');
    assert.equal(event.headers['content-type'], 'application/json');
    assert.equal(event.body, '{"inputs":[]}');
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.requestContext.requestId, 'id');
    assert.equal(event.requestContext.requestTimeEpoch, 1583348638390);
    assert.equal(event.requestContext.identity.sourceIp, '192.0.2.1');
  });

  it('passes a base64 body with isBase64Encoded, as 2.0 sends a body whose content type is binary', () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const event = fromHttpEventV2(
      httpApiEvent({
        body: bytes.toString('base64'),
        isBase64Encoded: true,
        headers: { 'content-type': 'application/octet-stream' },
      }),
    );
    assert.equal(event.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(event.body ?? '', 'base64'), bytes);
  });

  it('reads a function URL event: $default route key, no path parameters, the path from rawPath', () => {
    const event = fromHttpEventV2(functionUrlEvent());
    assert.equal(event.httpMethod, 'POST');
    assert.equal(resourcePath(event), '/models/iris/predict');
    assert.equal(event.pathParameters, null);
    assert.equal(event.queryStringParameters, null);
    assert.equal(event.requestContext.requestTimeEpoch, 1631055022677);
    assert.equal(event.requestContext.requestId, 'e1506fd5-9e7b-434f-bd42-4f8fa224b599');
  });

  it('a $default route of the HTTP API (server routes, unknown paths) routes by rawPath too', () => {
    const event = fromHttpEventV2(
      httpApiEvent({ routeKey: '$default', rawPath: '/v2/health/ready', pathParameters: undefined }),
    );
    assert.equal(resourcePath(event), '/v2/health/ready');
  });
});

describe('toHttpResultV2: the app result becomes a 2.0 result', () => {
  it('keeps status, headers and a JSON body, isBase64Encoded false', () => {
    const result = toHttpResultV2(jsonResult(400, '{"error":"bad"}', { 'x-request-id': 'id' }));
    assert.deepEqual(result, {
      statusCode: 400,
      headers: { 'content-type': 'application/json', 'x-request-id': 'id' },
      body: '{"error":"bad"}',
      isBase64Encoded: false,
    });
  });

  it('answers binary tensors as base64 with isBase64Encoded true, which API Gateway and Lambda decode to bytes', () => {
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const result = toHttpResultV2(binaryResult(200, bytes, { 'content-type': 'application/octet-stream' }));
    assert.equal(result.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(result.body ?? '', 'base64'), Buffer.from(bytes));
    // A Lambda result is serialised with JSON.stringify: the body must be there as text.
    assert.equal(JSON.parse(JSON.stringify(result)).body, Buffer.from(bytes).toString('base64'));
  });

  it('joins multi-value headers with commas and moves set-cookie values to cookies (2.0 has no multiValueHeaders)', () => {
    const result = toHttpResultV2({
      statusCode: 200,
      body: '',
      multiValueHeaders: { vary: ['accept', 'origin'], 'Set-Cookie': ['a=1', 'b=2'] },
    });
    assert.equal(result.headers?.vary, 'accept,origin');
    assert.deepEqual(result.cookies, ['a=1', 'b=2']);
  });
});

describe('acceptEveryDoor: one handler for every door', () => {
  const seen: APIGatewayProxyEvent[] = [];
  const handler = acceptEveryDoor(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    seen.push(event);
    return jsonResult(200, JSON.stringify({ route: resourcePath(event), method: event.httpMethod }));
  });

  it('hands a REST proxy event to the app as it is, and its result back as it is', async () => {
    const rest = buildProxyEvent({
      method: 'GET',
      path: '/v2/models/iris/ready',
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(isHttpEventV2(rest), false);
    const result = await handler(rest);
    assert.equal(seen.at(-1), rest);
    assert.equal('multiValueHeaders' in result || 'isBase64Encoded' in result, false);
    assert.equal(result.body, '{"route":"/v2/models/iris/ready","method":"GET"}');
  });

  it('translates HTTP API and function URL events both ways', async () => {
    for (const event of [httpApiEvent(), functionUrlEvent()]) {
      assert.equal(isHttpEventV2(event), true);
      const result = await handler(event);
      assert.equal(result.statusCode, 200);
      assert.equal('isBase64Encoded' in result && result.isBase64Encoded, false);
    }
    assert.match(String(seen.at(-2)?.resource), /\{proxy\+\}/);
    assert.equal(seen.at(-1)?.path, '/models/iris/predict');
  });
});
