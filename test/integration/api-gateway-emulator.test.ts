import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { WithBodyBytes } from '../../lib/core/contract/body-bytes.js';
import { MANIFEST_OBJECT, versionKey } from '../../lib/core/manifest/registry-layout.js';
import { ApiGatewayEmulator } from '../../lib/local/ApiGatewayEmulator.js';
import { LocalStack } from '../../lib/local/LocalStack.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import type { AppLogger } from '../../lib/serving/InferenceApp.js';
import { binaryResult } from '../../lib/serving/proxy-result.js';
import { bodyOf, ErrorBodySchema, httpRequest } from '../fixtures/local-stack.js';
import { identityModel } from '../fixtures/models.js';

/** Query-string keys that are also members of Object.prototype. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'] as const;

let home: string;
let stack: LocalStack;
/** Every `logger.error` call's arguments, serialised. */
const errors: string[] = [];

const request = (method: string, path: string, body?: string | object) =>
  httpRequest(stack.apiUrl, method, path, body);

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-emulator-'));
  const quiet = (): void => undefined;
  const logger: AppLogger = {
    debug: quiet,
    info: quiet,
    warn: quiet,
    error: (message: unknown, ...extra: unknown[]) => {
      // The message as an Error carries it (what the Powertools logger prints), not its HTTP body (toJSON).
      const [first] = extra;
      const error = first && typeof first === 'object' ? Reflect.get(first, 'error') : undefined;
      errors.push(`${String(message)}: ${error instanceof Error ? error.message : ''}`);
    },
  };
  stack = await LocalStack.start({ home, port: 0, logger });
});

after(async () => {
  await stack?.stop();
  await rm(home, { recursive: true, force: true });
});

describe('ApiGatewayEmulator: query strings are data, whatever their keys', () => {
  for (const key of PROTOTYPE_KEYS) {
    it(`answers every route normally with ?${key}=... in the query string`, async () => {
      const query = `?${key}=1&${key}=2&other=3`;
      const replies = await Promise.all([
        request('GET', `/v2${query}`),
        request('GET', `/v2/health/live${query}`),
        request('GET', `/v2/models/iris${query}`),
        request('POST', `/models/iris/predict${query}`, { instances: [[5.1, 3.5, 1.4, 0.2]] }),
        request('GET', `/metrics${query}`),
        request('GET', `/_sluice/traffic${query}&model=iris`),
      ]);
      for (const reply of replies) assert.equal(reply.status, 200, reply.text);
    });
  }

  it('does not take a path named after an Object.prototype member for a local route', async () => {
    const reply = await request('GET', '/constructor');
    assert.equal(reply.status, 404, reply.text);
    bodyOf(reply, ErrorBodySchema);
  });
});

describe('ApiGatewayEmulator: the local routes answer a wrong method with 405, like the API routes', () => {
  it('answers POST /metrics and POST /_sluice/traffic with 405 and allow: GET', async () => {
    for (const path of ['/metrics', '/_sluice/traffic?model=iris', '/_sluice/health/iris?version=1']) {
      const reply = await request('POST', path, '{}');
      assert.equal(reply.status, 405, `${path}: ${reply.text}`);
      assert.equal(reply.headers.get('allow'), 'GET');
      assert.match(bodyOf(reply, ErrorBodySchema).error, /^POST is not allowed on \/[a-z_/]+; use GET$/);
    }
    const api = await request('POST', '/v2/health/live', '{}');
    assert.equal(api.status, 405, 'the same status as a known API path');
  });
});

describe('InferenceApp behind the emulator: 503 bodies do not show storage locations', () => {
  it('answers 503 for a corrupt manifest without the bucket or the s3:// key, which stay in the log', async () => {
    await publishVersion(stack.registry, { name: 'broken', model: identityModel('FP32', [-1]) });
    await stack.store.createClient().send(
      new PutObjectCommand({
        Bucket: stack.store.bucket,
        Key: versionKey('broken', 1, MANIFEST_OBJECT),
        Body: '{"truncated": ',
      }),
    );
    const replies = await Promise.all([
      request('GET', '/v2/models/broken/versions/1'),
      request('POST', '/v2/models/broken/versions/1/infer', {
        inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }],
      }),
    ]);
    for (const reply of replies) {
      assert.equal(reply.status, 503, reply.text);
      const { error } = bodyOf(reply, ErrorBodySchema);
      assert.match(
        error,
        /model "broken" version 1 cannot be (loaded|looked up).*the stored manifest\.json is not JSON/,
      );
      assert.doesNotMatch(error, /s3:\/\//);
      assert.ok(!error.includes(stack.store.bucket), `no bucket name in ${error}`);
    }
    const location = `s3://${stack.store.bucket}/${versionKey('broken', 1, MANIFEST_OBJECT)}`;
    assert.ok(
      errors.some((line) => line.includes(location)),
      `the log keeps the location: ${errors.join('\n')}`,
    );
  });
});

describe('ApiGatewayEmulator: bodies travel as bytes locally, and answers carry a Content-Length', () => {
  it('hands the handler the bytes as sent (base64 on body for what reads it) and answers a result with bytes as they are', async () => {
    const sent = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7b]);
    let seen: (APIGatewayProxyEvent & WithBodyBytes) | undefined;
    const api = await ApiGatewayEmulator.start({
      port: 0,
      handler: async (event) => {
        seen = event;
        return binaryResult(200, Buffer.concat([sent, sent]), { 'content-type': 'application/octet-stream' });
      },
    });
    try {
      const response = await fetch(`${api.url}/v2/models/m/infer`, { method: 'POST', body: sent });
      const answer = Buffer.from(await response.arrayBuffer());
      assert.deepEqual(answer, Buffer.concat([sent, sent]));
      assert.equal(response.headers.get('content-length'), '10');
      assert.equal(response.headers.get('transfer-encoding'), null);
      assert.deepEqual(seen?.bytes, sent);
      assert.equal(seen?.isBase64Encoded, true);
      assert.equal(seen?.body, sent.toString('base64'), 'the base64 form API Gateway would send');
      assert.deepEqual(seen?.multiValueHeaders['content-length'], ['5']);
    } finally {
      await api.stop();
    }
  });

  it('receives a body of known length into memory of its own with its binary data aligned, a chunked one whole', async () => {
    const seen: Uint8Array[] = [];
    const api = await ApiGatewayEmulator.start({
      port: 0,
      handler: async (event) => {
        seen.push((event as WithBodyBytes).bytes ?? new Uint8Array());
        return { statusCode: 204, headers: {}, body: '' };
      },
    });
    try {
      // Chunks of a socket's size, so the body arrives in several reads.
      const header = Buffer.from('{"inputs":[]}   ');
      const data = Buffer.alloc(300_000, 7);
      const body = Buffer.concat([header, data]);
      await fetch(`${api.url}/v2/models/m/infer`, {
        method: 'POST',
        body,
        headers: { 'inference-header-content-length': String(header.byteLength - 3) },
      });
      const [whole] = seen;
      assert.ok(whole && Buffer.from(whole).equals(body));
      assert.equal((whole.byteOffset + header.byteLength - 3) % 8, 0, 'the data after the header is aligned');
      assert.ok(
        whole.buffer.byteLength < body.byteLength + 8,
        'a buffer of its own, not a join of the reads',
      );
      const chunked = new ReadableStream({
        start(controller) {
          controller.enqueue(body.subarray(0, 1000));
          controller.enqueue(body.subarray(1000));
          controller.close();
        },
      });
      const response = await fetch(`${api.url}/v2/models/m/infer`, {
        method: 'POST',
        body: chunked,
        duplex: 'half',
      } as RequestInit);
      assert.equal(response.status, 204);
      assert.ok(
        seen[1] && Buffer.from(seen[1]).equals(body),
        'a chunked body, of no announced length, whole',
      );
    } finally {
      await api.stop();
    }
  });

  it('decodes a base64 result without bytes as API Gateway does, and sizes text answers in bytes', async () => {
    const replies = [
      {
        statusCode: 200,
        headers: {},
        body: Buffer.from('binary\u0000').toString('base64'),
        isBase64Encoded: true,
      },
      { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"é":1}' },
    ];
    const api = await ApiGatewayEmulator.start({ port: 0, handler: async () => replies.shift() as never });
    try {
      const binary = await fetch(`${api.url}/v2`);
      assert.equal(Buffer.from(await binary.arrayBuffer()).toString('latin1'), 'binary\u0000');
      const text = await fetch(`${api.url}/v2`);
      assert.equal(text.headers.get('content-length'), '8', 'é is two bytes');
      assert.equal(await text.text(), '{"é":1}');
    } finally {
      await api.stop();
    }
  });
});
