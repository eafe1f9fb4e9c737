/**
 * The edges of the HTTP contract a new user found (issue 17, Why 8): each gets a clear 4xx JSON `{"error"}` that
 * changes nothing, or is served right, locally over real HTTP and, where the function sees it, in the Lambda
 * handler on the events API Gateway sends (every body base64-encoded: the API's binary media types are `*\/*`).
 */
import assert from 'node:assert/strict';
import { request as httpPost } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import {
  ApiGatewayEmulator,
  MAX_HEADER_BYTES,
  MAX_URL_CHARS,
  type Refusal,
} from '../../lib/local/ApiGatewayEmulator.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { NO_METRICS } from '../../lib/serving/metrics/ServingMetrics.js';
import {
  bodyOf,
  ErrorBodySchema,
  type HttpReply,
  httpRequest,
  readMetrics,
  sample,
  silentLogger,
  startTestStack,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel } from '../fixtures/models.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const IRIS_INFER = '/v2/models/iris/infer';
const IRIS_PREDICT = '/models/iris/predict';

/** A valid V2 iris request's JSON, with `id` (raw JSON text) when given. */
function irisText(idJson?: string): string {
  const id = idJson === undefined ? '' : `"id":${idJson},`;
  return `{${id}"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[${SETOSA.join(',')}]}]}`;
}

let test: TestStack;
/** The Lambda function of iris and of an FP32 identity model, on the stack's own store. */
let lambda: { iris: PredictHandler; fp32: PredictHandler };

/** Starts the predict function of one published model, as functions/predict wires it. */
async function predictFunction(model: string): Promise<PredictHandler> {
  const manifest = await test.stack.registry.getManifest(model, 1);
  const handler = createPredictHandler(
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
  await handler.warm;
  return handler;
}

/** The event API Gateway sends the function for a POST: the body base64-encoded, bytes as sent. */
function awsEvent(
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): APIGatewayProxyEvent {
  return buildProxyEvent({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestId: 'edge-test',
    requestTimeEpoch: Date.now(),
  });
}

/** Sends bytes as they are (fetch would encode a string as UTF-8). */
async function postBytes(
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const response = await fetch(`${test.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Asserts a refusal: the status, a JSON `{"error"}` naming the problem, short, without a stack. */
function assertRefusal(reply: { status: number; text: string }, status: number, says: RegExp): string {
  assert.equal(reply.status, status, reply.text.slice(0, 500));
  const { error } = bodyOf(reply, ErrorBodySchema);
  assert.match(error, says);
  assert.ok(error.length < 1_000, `a short message: ${error.length} characters`);
  assert.doesNotMatch(error, /\n\s+at |\.ts:\d+/, 'no stack trace');
  return error;
}

/** The same, for the Lambda handler's result. */
function assertResultRefusal(result: APIGatewayProxyResult, status: number, says: RegExp): string {
  assert.equal(result.headers?.['content-type'], 'application/json');
  return assertRefusal({ status: result.statusCode, text: result.body }, status, says);
}

/** The stack still answers a valid request right: a refusal changed nothing. */
async function assertStillServing(): Promise<void> {
  const reply = await test.request('POST', IRIS_PREDICT, { instances: [SETOSA] });
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.text, /"label":"setosa"/);
}

/**
 * One exchange on a raw socket: writes the chunks, half-closes when `end`, and reads until the server closes the
 * connection. The answer is what the server wrote, whole.
 */
function rawExchange(
  url: string,
  chunks: readonly (string | Buffer)[],
  options: { end: boolean },
): Promise<{ status: number; text: string; raw: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      for (const chunk of chunks) socket.write(chunk);
      if (options.end) socket.end();
    });
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      raw += data;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(raw)?.[1] ?? 0);
      resolve({ status, text: raw.slice(raw.indexOf('\r\n\r\n') + 4), raw });
    });
  });
}

before(async () => {
  test = await startTestStack();
  await publishVersion(test.stack.registry, { name: 'fp32', model: identityModel('FP32', [-1]) });
  lambda = { iris: await predictFunction('iris'), fp32: await predictFunction('fp32') };
  await assertStillServing();
});

after(async () => {
  await lambda?.iris.engine.close();
  await lambda?.fp32.engine.close();
  await test?.stop();
});

describe('HTTP edges: a key given twice in a JSON body is a 400 naming it, not the last one silently kept', () => {
  const bodies = [
    ['"inputs" twice (the first one empty)', IRIS_INFER, `{"inputs":[],${irisText().slice(1)}`, 'inputs'],
    [
      'a tensor with "name" twice',
      IRIS_INFER,
      irisText().replace('"name":"features"', '"name":"x","name":"features"'),
      'name',
    ],
    [
      'simple form: "instances" twice',
      IRIS_PREDICT,
      `{"instances":[[1,2,3,4]],"instances":[${JSON.stringify(SETOSA)}]}`,
      'instances',
    ],
  ] as const;
  for (const [what, path, text, key] of bodies) {
    const says = new RegExp(`JSON object key "${key}" appears more than once`);
    it(`${what}: locally`, async () => {
      assertRefusal(await test.request('POST', path, text), 400, says);
      await assertStillServing();
    });

    it(`${what}: in the Lambda handler`, async () => {
      assertResultRefusal(await lambda.iris.handler(awsEvent(path, Buffer.from(text))), 400, says);
    });
  }

  it('a 5 MB body with a key repeated at its end: refused too (the big-body path)', async () => {
    const rows = Array.from({ length: 160_000 }, (_, row) => SETOSA.map((value) => value + (row % 7) / 10));
    const text = `{"inputs":[{"name":"features","shape":[160000,4],"datatype":"FP32","data":${JSON.stringify(rows)}}],"outputs":[{"name":"label"}],"outputs":[]}`;
    assert.ok(text.length > 5_000_000, `${text.length} bytes`);
    assertRefusal(
      await test.request('POST', IRIS_INFER, text),
      400,
      /JSON object key "outputs" appears more than once/,
    );
    await assertStillServing();
  });
});

describe('HTTP edges: a body that is not UTF-8 is a 400 that says so; UTF-8 ids are echoed exactly', () => {
  // {"id":"<FF FE>", ...}: two bytes that begin no UTF-8 character; decoding would turn them into U+FFFD.
  const invalid = Buffer.concat([
    Buffer.from('{"id":"'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(`",${irisText().slice(1)}`),
  ]);
  const says = /^request body is not valid UTF-8 at byte offset 7 \(0xff\); send JSON as UTF-8$/;

  it('refuses invalid UTF-8 in "id": locally', async () => {
    assertRefusal(await postBytes(IRIS_INFER, invalid), 400, says);
    await assertStillServing();
  });

  it('refuses invalid UTF-8 in "id": in the Lambda handler', async () => {
    assertResultRefusal(await lambda.iris.handler(awsEvent(IRIS_INFER, invalid)), 400, says);
  });

  it('refuses a truncated or overlong sequence and an encoded surrogate too, naming where', async () => {
    for (const [bytes, offset] of [
      [[0xe2, 0x82], 7], // a three-byte sequence cut short
      [[0xc0, 0xaf], 7], // an overlong "/"
      [[0xed, 0xa0, 0x80], 7], // U+D800 encoded
    ] as const) {
      const body = Buffer.concat([
        Buffer.from('{"id":"'),
        Buffer.from(bytes),
        Buffer.from(`",${irisText().slice(1)}`),
      ]);
      assertRefusal(
        await postBytes(IRIS_INFER, body),
        400,
        new RegExp(`not valid UTF-8 at byte offset ${offset} `),
      );
    }
  });

  it('echoes an id of non-ASCII text, and an escaped lone surrogate, byte for byte, locally and on Lambda', async () => {
    for (const id of ['"é日本🚀"', '"\\ud800"', '"a\\"b\\\\c"']) {
      const body = Buffer.from(irisText(id));
      const local = await postBytes(IRIS_INFER, body);
      assert.equal(local.status, 200, local.text);
      assert.ok(local.text.includes(`"id":${id}`), local.text.slice(0, 200));
      const result = await lambda.iris.handler(awsEvent(IRIS_INFER, body));
      assert.equal(result.statusCode, 200, result.body);
      assert.ok(result.body.includes(`"id":${id}`), result.body.slice(0, 200));
    }
  });
});

describe('HTTP edges: a leading UTF-8 byte order mark is accepted (RFC 8259 lets a parser ignore it)', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);

  for (const [form, path, text] of [
    ['V2', IRIS_INFER, irisText('"bom"')],
    ['simple form', IRIS_PREDICT, JSON.stringify({ instances: [SETOSA] })],
  ] as const) {
    it(`${form}: served locally and in the Lambda handler`, async () => {
      const body = Buffer.concat([bom, Buffer.from(text)]);
      const local = await postBytes(path, body);
      assert.equal(local.status, 200, local.text);
      const result = await lambda.iris.handler(awsEvent(path, body));
      assert.equal(result.statusCode, 200, result.body);
      assert.equal(result.body, local.text);
    });
  }
});

describe('HTTP edges: Content-Encoding other than identity is a 415 naming it, and no body byte is echoed', () => {
  const gzipped = gzipSync(Buffer.from(irisText()));

  for (const encoding of ['gzip', 'br', 'gzip, identity']) {
    const says = new RegExp(
      `^Content-Encoding "${encoding}" is not supported: request bodies are not decompressed`,
    );
    it(`Content-Encoding: ${encoding}: locally`, async () => {
      const error = assertRefusal(
        await postBytes(IRIS_INFER, gzipped, { 'content-encoding': encoding }),
        415,
        says,
      );
      assert.match(error, /^[ -~]+$/, 'only printable ASCII in the message');
      await assertStillServing();
    });

    it(`Content-Encoding: ${encoding}: in the Lambda handler`, async () => {
      const result = await lambda.iris.handler(
        awsEvent(IRIS_INFER, gzipped, { 'Content-Encoding': encoding }),
      );
      assertResultRefusal(result, 415, says);
    });
  }

  it('refuses the simple form and binary bodies alike', async () => {
    const simple = await postBytes(IRIS_PREDICT, gzipSync(JSON.stringify({ instances: [SETOSA] })), {
      'content-encoding': 'gzip',
    });
    assertRefusal(simple, 415, /Content-Encoding "gzip"/);
    const raw = await postBytes('/v2/models/fp32/infer', gzipSync(Buffer.alloc(16)), {
      'content-type': 'application/octet-stream',
      'content-encoding': 'gzip',
    });
    assertRefusal(raw, 415, /Content-Encoding "gzip"/);
  });

  it('serves Content-Encoding: identity', async () => {
    const reply = await postBytes(IRIS_INFER, Buffer.from(irisText()), { 'content-encoding': 'identity' });
    assert.equal(reply.status, 200, reply.text);
  });

  it('a body that is not JSON at all is refused with a position and one escaped character, never a run of it', async () => {
    const reply = await postBytes(IRIS_INFER, gzipped);
    // gzip starts 1f 8b: 0x8b is no UTF-8 start byte, so the UTF-8 check refuses it first.
    assertRefusal(reply, 400, /^request body is not valid UTF-8 at byte offset 1 \(0x8b\)/);
    const garbage = await postBytes(IRIS_INFER, Buffer.from('\u001fnot json, but private words'));
    const error = assertRefusal(garbage, 400, /^malformed JSON: unexpected "\\u001f" at position 0/);
    assert.doesNotMatch(error, /private|words/);
  });
});

describe('HTTP edges (local API): a body that ends early is a 400; one that stalls is a 408', () => {
  it('answers 400 naming how far the body got when the client ends the request before its Content-Length', async () => {
    const reply = await rawExchange(
      test.url,
      [
        `POST ${IRIS_INFER} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs":`,
      ],
      { end: true },
    );
    assertRefusal(
      reply,
      400,
      /^the request ended after 10 bytes of its body, but its Content-Length announced 100/,
    );
    await assertStillServing();
  });

  it('answers 408 once a started body has sent nothing for the emulator timeout (injected: 50 ms), and keeps serving', async () => {
    const refused: Refusal[] = [];
    const api = await ApiGatewayEmulator.start({
      handler: (event) => test.stack.app.handle(event),
      port: 0,
      bodyTimeoutMs: 50,
      onRefused: (refusal) => refused.push(refusal),
    });
    try {
      // The socket stays open, the body stays 90 bytes short: only the emulator's timeout can end this.
      const reply = await rawExchange(
        api.url,
        [
          `POST ${IRIS_INFER} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs":`,
        ],
        { end: false },
      );
      assertRefusal(
        reply,
        408,
        /^the request body stalled: nothing arrived for 50 ms after 10 bytes of the 100 its Content-Length announced/,
      );
      assert.match(reply.raw, /\r\nconnection: close\r\n/i);
      assert.deepEqual(
        refused.map(({ status, path }) => ({ status, path })),
        [{ status: 408, path: IRIS_INFER }],
      );
      const fine = await httpRequest(api.url, 'POST', IRIS_PREDICT, { instances: [SETOSA] });
      assert.equal(fine.status, 200, fine.text);
    } finally {
      await api.stop();
    }
  });
});

describe(`HTTP edges (local API): a URL over ${MAX_URL_CHARS} characters is a 414, headers over ${MAX_HEADER_BYTES} bytes a 431`, () => {
  for (const length of [80 * 1024, 12 * 1024]) {
    it(`answers a ${length / 1024} KB query string with 414 JSON, not a reset`, async () => {
      const reply = await test.request('GET', `/v2/health/live?q=${'a'.repeat(length)}`);
      assertRefusal(
        reply,
        414,
        new RegExp(`^the URL is .*characters; API Gateway takes at most ${MAX_URL_CHARS}`),
      );
      await assertStillServing();
    });
  }

  it('also on a POST whose long URL comes with a body', async () => {
    const reply = await test.request('POST', `${IRIS_PREDICT}?q=${'a'.repeat(80 * 1024)}`, {
      instances: [SETOSA],
    });
    assertRefusal(reply, 414, /^the URL is/);
  });

  it('serves a query string just under the limit', async () => {
    const reply = await test.request('GET', `/v2/health/live?q=${'a'.repeat(MAX_URL_CHARS - 100)}`);
    assert.equal(reply.status, 200, reply.text);
  });

  for (const size of [12 * 1024, 40 * 1024]) {
    it(`answers ${size / 1024} KB of headers with 431 JSON`, async () => {
      const response = await fetch(`${test.url}/v2/health/live`, {
        headers: { 'x-padding': 'a'.repeat(size) },
      });
      assertRefusal(
        { status: response.status, text: await response.text() },
        431,
        new RegExp(`^the request headers take .*bytes; API Gateway takes at most ${MAX_HEADER_BYTES} bytes`),
      );
    });
  }
});

describe('HTTP edges: an answer too large to send says what the request form can do instead', () => {
  it('a raw binary body (no JSON header): fewer rows, or a JSON header asking for binary outputs; locally and on Lambda', async () => {
    // 600 000 FP32 values of 1/3 as raw bytes (2.4 MB): 6.6 MB of JSON to answer (`0.33333334,` each).
    const values = new Float32Array(600_000).fill(1 / 3);
    const body = Buffer.from(values.buffer);
    const says =
      /^the response would be \d+ bytes .*: a raw binary body cannot ask for binary or fewer outputs: send fewer rows per request, or send the input after a JSON header \(inference-header-content-length, binary_data_size\) that asks for binary outputs \(parameters\.binary_data_output\)$/;
    const local = await postBytes('/v2/models/fp32/infer', body, {
      'content-type': 'application/octet-stream',
    });
    const error = assertRefusal(local, 400, says);
    assert.doesNotMatch(error, /fewer outputs \("outputs"\)/);
    const result = await lambda.fp32.handler(
      awsEvent('/v2/models/fp32/infer', body, { 'content-type': 'application/octet-stream' }),
    );
    assertResultRefusal(result, 400, says);
  });

  it('the same input after a JSON header asking for binary outputs is answered', async () => {
    const values = new Float32Array(600_000).fill(0.1);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [values.length],
            parameters: { binary_data_size: values.byteLength },
          },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const reply = await fetch(`${test.url}/v2/models/fp32/infer`, {
      method: 'POST',
      body: Buffer.concat([header, Buffer.from(values.buffer)]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      },
    });
    assert.equal(reply.status, 200);
    assert.equal(
      Buffer.from(await reply.arrayBuffer()).byteLength,
      Number(reply.headers.get('inference-header-content-length')) + values.byteLength,
    );
  });

  it('the simple form: fewer rows, or V2 with binary outputs (it cannot ask for binary outputs itself)', async () => {
    const instances = Array.from({ length: 60_000 }, () => SETOSA);
    const says =
      /^the response would be .*: the simple form answers in JSON only: send fewer rows per request, or call POST \/v2\/models\/\{m\}\/infer and request binary outputs/;
    assertRefusal(await test.request('POST', IRIS_PREDICT, { instances }), 400, says);
    const result = await lambda.iris.handler(
      awsEvent(IRIS_PREDICT, Buffer.from(JSON.stringify({ instances }))),
    );
    assertResultRefusal(result, 400, says);
  });
});

describe('HTTP edges (local API): the stack keeps answering while big bodies are parsed', () => {
  it('answers ten requests in a row while three 5.8 MB nested-array bodies are being decoded, before any of them', async () => {
    // Six decimals per value, as clients write them: 5.82 MB of JSON.
    const rows = Array.from({ length: 155_000 }, (_, row) =>
      SETOSA.map((value, column) => +(value + ((row * 7 + column) % 1000) / 1e6).toFixed(6)),
    );
    const text = JSON.stringify({
      inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }],
      outputs: [{ name: 'label' }],
    });
    assert.ok(text.length > 5_800_000 && text.length <= MAX_REQUEST_BYTES, `${text.length} bytes`);
    const { hostname, port } = new URL(test.url);
    let bigAnswered = 0;
    const big = [1, 2, 3].map(
      () =>
        new Promise<HttpReply>((resolve, reject) => {
          const request = httpPost(
            {
              host: hostname,
              port,
              method: 'POST',
              path: IRIS_INFER,
              headers: { 'content-type': 'application/json' },
            },
            (response) => {
              bigAnswered++;
              let body = '';
              response.setEncoding('utf8');
              response.on('data', (chunk: string) => {
                body += chunk;
              });
              response.on('end', () =>
                resolve({ status: response.statusCode ?? 0, headers: new Headers(), text: body }),
              );
            },
          );
          request.on('error', reject);
          request.end(text);
        }),
    );
    // All three are off the request thread now: read, and waiting for a decoder or being decoded.
    await Promise.race([
      test.stack.app.whenDecodingOffThread(3),
      Promise.race(big).then((reply) => {
        throw new Error(
          `a big request was answered before three were being decoded: ${reply.text.slice(0, 200)}`,
        );
      }),
    ]);
    for (let index = 0; index < 10; index++) {
      const reply =
        index % 2 === 0
          ? await test.request('GET', '/v2/health/live')
          : await test.request('POST', IRIS_PREDICT, { instances: [SETOSA] });
      assert.equal(reply.status, 200, reply.text);
    }
    assert.equal(bigAnswered, 0, 'the ten small requests were answered before any of the big ones');
    for (const reply of await Promise.all(big)) {
      assert.equal(reply.status, 200, reply.text.slice(0, 300));
      assert.equal(
        (JSON.parse(reply.text) as { outputs: { data: number[] }[] }).outputs[0]?.data.length,
        rows.length,
      );
    }
  });
});

describe('HTTP edges: the refusals changed nothing', () => {
  it('none of them counted as an error of the model version', async () => {
    const metrics = await readMetrics(test);
    assert.equal(metrics.get(sample('sluice_errors_total', 'iris', 1)), 0);
    assert.equal(metrics.get(sample('sluice_errors_total', 'fp32', 1)), 0);
    await assertStillServing();
  });
});
