import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WithBodyBytes } from '../../lib/core/contract/body-bytes.js';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { API_STAGE, buildProxyEvent, type ProxyRequest } from '../../lib/core/contract/proxy-event.js';
import { RequestTooLargeError } from '../../lib/core/errors/request-errors.js';
import { binaryResult } from '../../lib/serving/proxy-result.js';
import { bodyChars, bodyOf, readBodyBytes, readBodyText } from '../../lib/serving/request-body.js';

// What API Gateway sends a Lambda proxy integration of a REST API:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format

/** 2020-03-04T19:15:17.135Z, the request time of AWS's example event. */
const EXAMPLE_EPOCH = 1_583_349_317_135;

describe('buildProxyEvent: a request becomes the REST proxy event API Gateway would send for it', () => {
  it('fills what the request leaves out as API Gateway does: null for no query, parameters, variables or body', () => {
    const event = buildProxyEvent({
      method: 'GET',
      path: '/v2/models/iris/ready',
      requestId: 'r-1',
      requestTimeEpoch: EXAMPLE_EPOCH,
    });
    assert.equal(event.resource, '/v2/models/iris/ready', 'a resource for each path by default');
    assert.equal(event.requestContext.resourcePath, '/v2/models/iris/ready');
    assert.deepEqual(event.headers, {});
    assert.deepEqual(event.multiValueHeaders, {});
    assert.equal(event.queryStringParameters, null);
    assert.equal(event.multiValueQueryStringParameters, null);
    assert.equal(event.pathParameters, null);
    assert.equal(event.stageVariables, null);
    assert.equal(event.body, null);
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.requestContext.stage, API_STAGE);
    assert.equal(event.requestContext.httpMethod, 'GET');
    assert.equal(event.requestContext.protocol, 'HTTP/1.1');
    assert.equal(event.requestContext.requestId, 'r-1');
    assert.equal(event.requestContext.requestTimeEpoch, EXAMPLE_EPOCH);
    assert.equal(event.requestContext.requestTime, '04/Mar/2020:19:15:17 +0000');
    assert.equal(event.requestContext.identity.sourceIp, '127.0.0.1');
    assert.equal(event.requestContext.identity.userAgent, null);
  });

  it('keeps the last value of a repeated query parameter in the single-value map and all of them in the other', () => {
    const event = buildProxyEvent({
      method: 'GET',
      path: '/metrics',
      query: new URLSearchParams('a=1&b=2&a=3&__proto__=x'),
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.deepEqual({ ...event.queryStringParameters }, { a: '3', b: '2', ['__proto__']: 'x' });
    assert.deepEqual(
      { ...event.multiValueQueryStringParameters },
      { a: ['1', '3'], b: ['2'], ['__proto__']: ['x'] },
    );
    assert.equal(
      Object.getPrototypeOf(event.queryStringParameters),
      null,
      'a parameter is never a prototype member',
    );
    const empty = buildProxyEvent({
      method: 'GET',
      path: '/',
      query: [],
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(empty.queryStringParameters, null, 'an empty query string is no query');
  });

  it('gives each header as its only value unless told every value, and reads the user agent whatever its case', () => {
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2/models/iris/infer',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'curl/8' },
      body: '{}',
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.deepEqual(event.multiValueHeaders, {
      'Content-Type': ['application/json'],
      'User-Agent': ['curl/8'],
    });
    assert.equal(event.requestContext.identity.userAgent, 'curl/8');
    const repeated = buildProxyEvent({
      method: 'GET',
      path: '/',
      headers: { accept: 'b' },
      multiValueHeaders: { accept: ['a', 'b'] },
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.deepEqual(repeated.multiValueHeaders.accept, ['a', 'b']);
  });

  it('passes a base64 body as base64 and an empty body as none', () => {
    const binary = buildProxyEvent({
      method: 'POST',
      path: '/v2/models/x/infer',
      body: 'AQID',
      isBase64Encoded: true,
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(binary.body, 'AQID');
    assert.equal(binary.isBase64Encoded, true);
    const empty = buildProxyEvent({
      method: 'POST',
      path: '/',
      body: '',
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(empty.body, null);
  });

  it('puts the stage in front of requestContext.path on the API endpoint, the base path behind a custom domain', () => {
    const direct = buildProxyEvent({
      method: 'GET',
      path: '/v2',
      stage: 'beta',
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(direct.path, '/v2');
    assert.equal(direct.requestContext.path, '/beta/v2');
    assert.equal(direct.requestContext.domainName, undefined);
    const custom = buildProxyEvent({
      method: 'POST',
      path: '/api/v2/models/iris/infer',
      resource: '/v2/models/iris/{proxy+}',
      pathParameters: { proxy: 'infer' },
      domainName: 'ml.example.com',
      requestId: 'r',
      requestTimeEpoch: 0,
    });
    assert.equal(custom.requestContext.path, '/api/v2/models/iris/infer');
    assert.equal(custom.requestContext.resourcePath, '/v2/models/iris/{proxy+}');
    assert.equal(custom.requestContext.domainName, 'ml.example.com');
    assert.equal(custom.requestContext.domainPrefix, 'ml');
    assert.deepEqual(custom.pathParameters, { proxy: 'infer' });
  });
});

describe('Bodies as bytes: the local stack passes bytes, Lambda and API Gateway see base64', () => {
  const bytes = Buffer.from([0x7b, 0xff, 0x00, 0x22, 0xc3]);

  it('a result made for the emulator serialises as the base64 result Lambda returns, without its bytes', () => {
    const result = binaryResult(200, bytes, { 'content-type': 'application/octet-stream' });
    assert.equal((result as WithBodyBytes).bytes, bytes);
    // The Lambda runtime serialises a handler's result with JSON.stringify.
    assert.deepEqual(JSON.parse(JSON.stringify(result)), {
      statusCode: 200,
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    });
    assert.equal(Object.hasOwn({ ...result }, 'bytes'), false, 'a copy is a plain base64 result');
  });

  it('an event made from bytes writes its multi-value headers and base64 body only when read, and takes new ones', () => {
    let made = 0;
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: 0,
      headers: { a: 'b' },
      multiValueHeaders: () => {
        made++;
        return { a: ['b'] };
      },
      bytes,
    });
    assert.equal(made, 0);
    assert.deepEqual(event.multiValueHeaders, { a: ['b'] });
    assert.deepEqual(event.multiValueHeaders, { a: ['b'] });
    assert.equal(made, 1, 'made once');
    event.body = 'text';
    assert.equal(event.body, 'text');
    assert.equal(event.bytes, undefined, 'a new body replaces the bytes');
  });

  it('an event with bytes reads as the bytes, and its body is their base64 form for whatever reads it', () => {
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: EXAMPLE_EPOCH,
      bytes,
    });
    assert.equal(event.isBase64Encoded, true);
    assert.equal(event.body, bytes.toString('base64'));
    assert.deepEqual(readBodyBytes(event), bytes);
    assert.throws(() => readBodyText(event), /not valid UTF-8 at byte offset 1 \(0xff\)/);
    const text = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: 0,
      bytes: Buffer.from('\ufeff{"a":1}'),
    });
    assert.equal(readBodyText(text), '{"a":1}', 'the byte order mark is dropped, as from a base64 body');
  });

  it('bodyOf gives a worker thread the bytes themselves, not their base64 form', () => {
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: 0,
      headers: { a: 'b' },
      bytes,
    });
    const crossed = structuredClone(bodyOf(event));
    assert.deepEqual(crossed, {
      body: null,
      isBase64Encoded: false,
      headers: { a: 'b' },
      bytes: new Uint8Array(bytes),
    });
    assert.deepEqual(readBodyBytes(crossed), bytes);
    assert.equal(bodyChars(crossed), 8, 'sized as its base64 form would be');
    const plain = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: 0,
      body: 'abc',
    });
    assert.deepEqual(bodyOf(plain), { body: 'abc', isBase64Encoded: false, headers: {} });
  });

  it('an empty or oversized body passed as bytes is refused as its text form is', () => {
    const empty = { headers: {}, body: null, isBase64Encoded: false, bytes: new Uint8Array(0) };
    assert.throws(() => readBodyText(empty), /request body is required/);
    const big = {
      headers: {},
      body: null,
      isBase64Encoded: false,
      bytes: new Uint8Array(MAX_REQUEST_BYTES + 1),
    };
    assert.throws(() => readBodyBytes(big), RequestTooLargeError);
  });
});

describe('Bodies as bytes: what a handler may do with them', () => {
  it('a result body written over the bytes replaces them; an event body written over them is text', () => {
    const result = binaryResult(200, Buffer.from([1, 2, 3]), {});
    result.body = 'replaced';
    assert.equal(result.body, 'replaced');
    assert.equal((result as WithBodyBytes).bytes, undefined, 'the emulator then answers the new body');
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2',
      requestId: 'r',
      requestTimeEpoch: 0,
      bytes: Buffer.from('{}'),
    });
    event.body = '{"a":1}';
    assert.equal(event.isBase64Encoded, false);
    assert.equal(readBodyText(event), '{"a":1}');
  });

  it("an event's bytes are not enumerable: a JSON dump is the event API Gateway sends, the body once, as base64", () => {
    const of = (body: Pick<ProxyRequest, 'bytes' | 'body' | 'isBase64Encoded'>) =>
      buildProxyEvent({
        method: 'POST',
        path: '/v2',
        requestId: 'r',
        requestTimeEpoch: 0,
        headers: { a: 'b' },
        ...body,
      });
    const event = of({ bytes: Buffer.from('hi') });
    assert.equal(Object.keys(event).includes('bytes'), false);
    const dumped = JSON.parse(JSON.stringify(event));
    assert.equal(dumped.body, Buffer.from('hi').toString('base64'));
    assert.equal('bytes' in dumped, false);
    const text = of({ body: Buffer.from('hi').toString('base64'), isBase64Encoded: true });
    assert.deepEqual(
      dumped,
      JSON.parse(JSON.stringify(text)),
      'the same JSON as the event of its base64 text',
    );
    assert.deepEqual(Object.keys(dumped), Object.keys(JSON.parse(JSON.stringify(text))), 'in the same order');
  });
});
