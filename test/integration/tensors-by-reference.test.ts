import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import * as z from 'zod';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../../lib/core/contract/headers.js';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import {
  DEFAULT_OBJECT_URL_SECONDS,
  MAX_OBJECT_URL_SECONDS,
  ObjectOutputParameter,
  REQUEST_OBJECT_EXPIRY_DAYS,
  REQUESTS_PREFIX,
} from '../../lib/core/contract/tensor-objects.js';
import { expireRequestObjects } from '../../lib/local/expire-request-objects.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { NO_METRICS } from '../../lib/serving/metrics/ServingMetrics.js';
import { lambdaSessionOptions } from '../../lib/serving/session-options.js';
import { S3RequestObjects } from '../../lib/storage/S3RequestObjects.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';
import { IMAGE_SCALE_BYTES, IMAGE_SCALE_SHAPE, imageScaleModel } from '../fixtures/image-scale-model.js';
import {
  bodyOf,
  ErrorBodySchema,
  silentLogger,
  startTestStack,
  TestClock,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel, twoInputModel } from '../fixtures/models.js';

/** The answer of `POST /v2/models/{m}/uploads`, as the README documents it. */
const UploadsReplySchema = z.strictObject({
  model_name: z.string(),
  model_version: z.string(),
  uploads: z.array(
    z.strictObject({
      name: z.string(),
      object: z.string(),
      url: z.url(),
      method: z.literal('PUT'),
      headers: z.record(z.string(), z.string()),
      byte_size: z.number().int(),
      expires_at: z.iso.datetime(),
    }),
  ),
});

/** A V2 answer whose outputs are JSON data, binary data or objects. */
const InferReplySchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.string(),
      shape: z.array(z.number()),
      data: z.array(z.number()).optional(),
      parameters: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    }),
  ),
});

/** The output parameters of an output answered by reference. */
const ObjectOutputSchema = z.object({
  sluice_object: z.string(),
  [ObjectOutputParameter.URL]: z.url(),
  [ObjectOutputParameter.EXPIRES_AT]: z.iso.datetime(),
  [ObjectOutputParameter.BYTE_SIZE]: z.number().int(),
});

const DAY_MS = 24 * 60 * 60 * 1000;

/** Asks for the small output only: every output as JSON would not fit a response. */
const MEAN_ONLY = { outputs: [{ name: 'mean' }] };

/** The same pseudo-random image every run. */
function image(seed = 5): Float32Array {
  const random = seededRandom(seed);
  const pixels = new Float32Array(IMAGE_SCALE_BYTES / Float32Array.BYTES_PER_ELEMENT);
  for (let index = 0; index < pixels.length; index++) pixels[index] = random() * 2 - 1;
  return pixels;
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The bit patterns of FP32 values, so that a comparison is exact (NaN and -0 included). */
function bitsOf(values: ArrayLike<number>): Uint32Array {
  return new Uint32Array(Float32Array.from(values).buffer);
}

describe('tensors by reference: inputs and outputs larger than a payload travel as presigned S3 objects', () => {
  let test: TestStack;
  let session: ort.InferenceSession;
  const pixels = image();

  before(async () => {
    test = await startTestStack({ publishSamples: false });
    await publishVersion(test.stack.registry, { name: 'image', model: imageScaleModel() });
    await publishVersion(test.stack.registry, { name: 'small', model: identityModel('FP32', [1, 4]) });
    await publishVersion(test.stack.registry, { name: 'pair', model: twoInputModel() });
    session = await ort.InferenceSession.create(imageScaleModel(), lambdaSessionOptions());
  });

  after(async () => {
    await session?.release();
    await test?.stop();
  });

  /** Asks for one upload URL of `model`'s input. */
  async function ticket(model: string, name: string, shape: readonly number[], datatype = 'FP32') {
    const reply = await test.request('POST', `/v2/models/${model}/uploads`, {
      inputs: [{ name, datatype, shape }],
    });
    assert.equal(reply.status, 200, reply.text);
    const [upload] = bodyOf(reply, UploadsReplySchema).uploads;
    assert.ok(upload);
    return upload;
  }

  /** Uploads bytes with a plain HTTP client, as a client of the README would. */
  async function put(upload: { url: string; headers: Record<string, string> }, bytes: Uint8Array) {
    const response = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes });
    return { status: response.status, text: await response.text() };
  }

  function inferBody(reference: string, extra: object = {}): object {
    return {
      inputs: [
        {
          name: 'image',
          datatype: 'FP32',
          shape: [...IMAGE_SCALE_SHAPE],
          parameters: { sluice_object: reference },
        },
      ],
      ...extra,
    };
  }

  async function uploaded(): Promise<string> {
    const upload = await ticket('image', 'image', IMAGE_SCALE_SHAPE);
    const put_ = await put(upload, bytesOf(pixels));
    assert.equal(put_.status, 200, put_.text);
    return upload.object;
  }

  async function stored(reference: string): Promise<Uint8Array | undefined> {
    return test.stack.store.objects().get(`${REQUESTS_PREFIX}${reference}`);
  }

  it('GET /v2 lists the extension', async () => {
    const reply = await test.request('GET', '/v2');
    assert.ok(JSON.parse(reply.text).extensions.includes('sluice_object'));
  });

  it('a 12.6 MB input, over a payload, uploaded to its presigned PUT, is served by reference: the answer is session.run of the same input', async () => {
    assert.ok(IMAGE_SCALE_BYTES > MAX_REQUEST_BYTES);
    const upload = await ticket('image', 'image', IMAGE_SCALE_SHAPE);
    assert.equal(upload.byte_size, IMAGE_SCALE_BYTES);
    assert.equal(upload.headers['content-length'], String(IMAGE_SCALE_BYTES));
    assert.match(upload.url, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(upload.object, /^image\/[0-9a-f]{32}$/);
    const put_ = await put(upload, bytesOf(pixels));
    assert.equal(put_.status, 200, put_.text);

    const reply = await test.request(
      'POST',
      '/v2/models/image/infer',
      inferBody(upload.object, { outputs: [{ name: 'mean' }] }),
    );
    assert.equal(reply.status, 200, reply.text);
    const [mean] = bodyOf(reply, InferReplySchema).outputs;
    const expected = await session.run({ image: new ort.Tensor('float32', pixels, [...IMAGE_SCALE_SHAPE]) });
    assert.deepEqual(mean?.shape, [1, 3, 1, 1]);
    assert.deepEqual(bitsOf(mean?.data ?? []), bitsOf((expected.mean as ort.Tensor).data as Float32Array));
  });

  it('an input object is deleted once an answer used it, not before: a refused request keeps it, a second use is a 400', async () => {
    const reference = await uploaded();
    assert.equal((await stored(reference))?.byteLength, IMAGE_SCALE_BYTES);
    // Every output as JSON would not fit a response: refused after the run, the object stays for another try.
    const tooLarge = await test.request('POST', '/v2/models/image/infer', inferBody(reference));
    assert.equal(tooLarge.status, 400);
    assert.match(bodyOf(tooLarge, ErrorBodySchema).error, /outputs by reference/);
    assert.equal((await stored(reference))?.byteLength, IMAGE_SCALE_BYTES);
    const answered = await test.request('POST', '/v2/models/image/infer', inferBody(reference, MEAN_ONLY));
    assert.equal(answered.status, 200, answered.text);
    assert.equal(await stored(reference), undefined);
    const again = await test.request('POST', '/v2/models/image/infer', inferBody(reference, MEAN_ONLY));
    assert.equal(again.status, 400);
    assert.match(bodyOf(again, ErrorBodySchema).error, /no object for this reference.*already used/);
  });

  it("another model's reference is a 400 naming the model it was made for, and leaves the object usable", async () => {
    const reference = await uploaded();
    const reply = await test.request('POST', '/v2/models/small/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { sluice_object: reference } }],
    });
    assert.equal(reply.status, 400);
    assert.match(bodyOf(reply, ErrorBodySchema).error, /uploaded for model "image", not "small"/);
    assert.equal((await stored(reference))?.byteLength, IMAGE_SCALE_BYTES);
    const used = await test.request('POST', '/v2/models/image/infer', inferBody(reference, MEAN_ONLY));
    assert.equal(used.status, 200, used.text.slice(0, 300));
  });

  it('the store refuses an upload of another size than the URL was signed for (403 SignatureDoesNotMatch)', async () => {
    const upload = await ticket('image', 'image', IMAGE_SCALE_SHAPE);
    const short = bytesOf(pixels).subarray(0, IMAGE_SCALE_BYTES - 4);
    const refused = await put({ url: upload.url, headers: {} }, short);
    assert.equal(refused.status, 403);
    assert.match(refused.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal(await stored(upload.object), undefined);
    const reply = await test.request('POST', '/v2/models/image/infer', inferBody(upload.object));
    assert.equal(reply.status, 400);
    assert.match(bodyOf(reply, ErrorBodySchema).error, /no object for this reference/);
  });

  it('an upload URL past its expiry is refused by the store (403 AccessDenied), and nothing is written', async () => {
    // Signed by a clock at a fixed time long past: the store judges expiry by its own.
    const objects = new S3RequestObjects({
      client: test.stack.store.createClient(),
      bucket: test.stack.store.bucket,
      now: () => Date.parse('2026-01-01T00:00:00Z'),
    });
    const key = `${REQUESTS_PREFIX}image/${'e'.repeat(32)}`;
    const upload = await objects.presignUpload(key, 8, 60);
    assert.equal(upload.expiresAt.toISOString(), '2026-01-01T00:01:00.000Z');
    const refused = await put(upload, new Uint8Array(8));
    assert.equal(refused.status, 403);
    assert.match(refused.text, /<Code>AccessDenied<\/Code>.*Request has expired/s);
    assert.equal(await test.stack.store.objects().get(key), undefined);
  });

  it('an object of the wrong size (written past the URL) is a 400 naming both sizes, and is kept', async () => {
    const upload = await ticket('image', 'image', IMAGE_SCALE_SHAPE);
    await test.stack.store
      .objects()
      .putIfAbsent(`${REQUESTS_PREFIX}${upload.object}`, new Uint8Array(IMAGE_SCALE_BYTES / 2));
    const reply = await test.request('POST', '/v2/models/image/infer', inferBody(upload.object));
    assert.equal(reply.status, 400);
    assert.match(
      bodyOf(reply, ErrorBodySchema).error,
      new RegExp(
        `has ${IMAGE_SCALE_BYTES / 2} bytes, but float32 of shape \\[1,3,1024,1024\\] takes ${IMAGE_SCALE_BYTES}`,
      ),
    );
    assert.equal((await stored(upload.object))?.byteLength, IMAGE_SCALE_BYTES / 2);
  });

  it('a reference that is not one sluice hands out is a 400', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/image/infer',
      inferBody('../models/iris/1/model.onnx'),
    );
    assert.equal(reply.status, 400);
    assert.match(bodyOf(reply, ErrorBodySchema).error, /is not one sluice hands out/);
  });

  it('an output by reference is written to an object and answered with a presigned GET: its bytes are session.run bit for bit', async () => {
    const reference = await uploaded();
    const reply = await test.request(
      'POST',
      '/v2/models/image/infer',
      inferBody(reference, {
        outputs: [{ name: 'scaled', parameters: { sluice_object: true } }, { name: 'mean' }],
      }),
    );
    assert.equal(reply.status, 200, reply.text.slice(0, 300));
    const [scaled, mean] = bodyOf(reply, InferReplySchema).outputs;
    assert.equal(scaled?.data, undefined);
    assert.deepEqual(scaled?.shape, [...IMAGE_SCALE_SHAPE]);
    assert.equal(mean?.data?.length, 3);
    const parameters = ObjectOutputSchema.parse(scaled?.parameters);
    assert.equal(parameters[ObjectOutputParameter.BYTE_SIZE], IMAGE_SCALE_BYTES);
    const download = await fetch(parameters[ObjectOutputParameter.URL]);
    assert.equal(download.status, 200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    const expected = await session.run({ image: new ort.Tensor('float32', pixels, [...IMAGE_SCALE_SHAPE]) });
    assert.ok(
      Buffer.from(bytes).equals(Buffer.from(bytesOf((expected.scaled as ort.Tensor).data as Float32Array))),
    );
  });

  it('sluice_object_output "auto" on the binary-data path: a referenced input in a JSON header, the output too large for a response by reference, the small one as binary data', async () => {
    const reference = await uploaded();
    const header = Buffer.from(
      JSON.stringify(
        inferBody(reference, { parameters: { sluice_object_output: 'auto', binary_data_output: true } }),
      ),
    );
    const response = await fetch(`${test.url}/v2/models/image/infer`, {
      method: 'POST',
      body: header,
      headers: {
        'content-type': 'application/octet-stream',
        [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
      },
    });
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, 200, body.toString().slice(0, 300));
    const headerLength = Number(response.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
    const answer = InferReplySchema.parse(JSON.parse(body.subarray(0, headerLength).toString()));
    const byName = new Map(answer.outputs.map((output) => [output.name, output]));
    ObjectOutputSchema.parse(byName.get('scaled')?.parameters);
    assert.equal(byName.get('mean')?.parameters?.binary_data_size, 12);
    assert.equal(body.byteLength - headerLength, 12);
    const expected = await session.run({ image: new ort.Tensor('float32', pixels, [...IMAGE_SCALE_SHAPE]) });
    assert.ok(
      body
        .subarray(headerLength)
        .equals(Buffer.from(bytesOf((expected.mean as ort.Tensor).data as Float32Array))),
    );
  });

  it('the Lambda function does the same from its environment (SLUICE_BUCKET, SLUICE_OBJECT_URL_SECONDS): tickets for 60 s, the input read by reference', async () => {
    const config = readFunctionConfig({
      SLUICE_BUCKET: test.stack.store.bucket,
      SLUICE_MODEL: 'image',
      SLUICE_MODEL_VERSION: '1',
      SLUICE_S3_ENDPOINT: test.stack.store.endpoint,
      SLUICE_OBJECT_URL_SECONDS: '60',
    });
    assert.equal(config.objectUrlSeconds, 60);
    const fn = createPredictHandler(config, { metrics: NO_METRICS, logger: silentLogger() });
    try {
      const call = (path: string, body: object) =>
        fn.handler(
          buildProxyEvent({
            method: 'POST',
            path,
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
            requestId: `by-reference ${path}`,
            requestTimeEpoch: 1_800_000_000_000,
          }),
        );
      const tickets = await call('/v2/models/image/uploads', {
        inputs: [{ name: 'image', datatype: 'FP32', shape: [...IMAGE_SCALE_SHAPE] }],
      });
      assert.equal(tickets.statusCode, 200, tickets.body);
      const [upload] = bodyOf({ status: tickets.statusCode, text: tickets.body }, UploadsReplySchema).uploads;
      assert.ok(upload);
      const signed = new URL(upload.url).searchParams;
      assert.equal(signed.get('X-Amz-Expires'), '60');
      // X-Amz-Date is the signing time to the second; expires_at is 60 s after it, to the millisecond.
      const signedAt = Date.parse(
        (signed.get('X-Amz-Date') ?? '').replace(
          /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
          '$1-$2-$3T$4:$5:$6Z',
        ),
      );
      const lifetime = Date.parse(upload.expires_at) - signedAt;
      assert.ok(lifetime >= 60_000 && lifetime < 61_000, String(lifetime));
      assert.equal((await put(upload, bytesOf(pixels))).status, 200);
      const answer = await call('/v2/models/image/infer', inferBody(upload.object, MEAN_ONLY));
      assert.equal(answer.statusCode, 200, answer.body);
      const [mean] = bodyOf({ status: answer.statusCode, text: answer.body }, InferReplySchema).outputs;
      const expected = await session.run({
        image: new ort.Tensor('float32', pixels, [...IMAGE_SCALE_SHAPE]),
      });
      assert.deepEqual(bitsOf(mean?.data ?? []), bitsOf((expected.mean as ort.Tensor).data as Float32Array));
      assert.equal(await stored(upload.object), undefined);
    } finally {
      await fn.engine.close();
    }
  });

  it('a function refuses a URL lifetime it cannot sign, naming the variable', () => {
    const env = {
      SLUICE_BUCKET: 'registry',
      SLUICE_MODEL: 'image',
      SLUICE_MODEL_VERSION: '1',
    };
    assert.equal(readFunctionConfig(env).objectUrlSeconds, DEFAULT_OBJECT_URL_SECONDS);
    for (const seconds of ['0', '-5', 'soon', String(MAX_OBJECT_URL_SECONDS + 1)]) {
      assert.throws(
        () => readFunctionConfig({ ...env, SLUICE_OBJECT_URL_SECONDS: seconds }),
        /SLUICE_OBJECT_URL_SECONDS/,
        seconds,
      );
    }
  });

  it('on the binary-data path a referenced input mixes with a binary one: a + b of a two-input model', async () => {
    const upload = await ticket('pair', 'a', [2, 3]);
    assert.equal(upload.byte_size, 24);
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    assert.equal((await put(upload, bytesOf(a))).status, 200);
    const b = Float32Array.of(0.5, 0.25, -1, 8, 16, 32);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2, 3], parameters: { sluice_object: upload.object } },
          { name: 'b', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: b.byteLength } },
        ],
      }),
    );
    const response = await fetch(`${test.url}/v2/models/pair/infer`, {
      method: 'POST',
      body: Buffer.concat([header, bytesOf(b)]),
      headers: {
        'content-type': 'application/octet-stream',
        [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
      },
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const [sum] = InferReplySchema.parse(JSON.parse(text)).outputs;
    assert.deepEqual(bitsOf(sum?.data ?? []), bitsOf(a.map((value, index) => value + (b[index] as number))));
    assert.equal(await stored(upload.object), undefined);
  });

  it('upload tickets are checked against the signature: unknown input, wrong shape, wrong datatype are 400s', async () => {
    for (const [inputs, message] of [
      [[{ name: 'nope', datatype: 'FP32', shape: [1] }], /unknown input "nope"/],
      [[{ name: 'image', datatype: 'FP32', shape: [1, 3, 1024, 1023] }], /image/],
      [
        [{ name: 'image', datatype: 'INT64', shape: [...IMAGE_SCALE_SHAPE] }],
        /datatype is "INT64", expected FP32/,
      ],
      [[], /invalid uploads request/],
    ] as const) {
      const reply = await test.request('POST', '/v2/models/image/uploads', { inputs });
      assert.equal(reply.status, 400, reply.text);
      assert.match(bodyOf(reply, ErrorBodySchema).error, message);
    }
    const unknown = await test.request('POST', '/v2/models/nobody/uploads', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
    });
    assert.equal(unknown.status, 404);
  });
});

describe('the local stack expires request objects at start, as the lifecycle rule does on AWS', () => {
  it(`deletes requests/ objects older than ${REQUEST_OBJECT_EXPIRY_DAYS} day when it starts, and keeps younger ones and models/`, async () => {
    const first = await startTestStack({ publishSamples: false });
    const old = `${REQUESTS_PREFIX}image/${'a'.repeat(32)}`;
    await first.stack.store.objects().putIfAbsent(old, new Uint8Array(4));
    await first.stack.store.objects().putIfAbsent('models/kept/README', 'not a request object');
    const written = Date.now();
    await first.stack.stop();
    // The same data folder, started by a clock two days on: what was written before is past its expiry.
    const later = await startTestStack({
      publishSamples: false,
      home: first.home,
      clock: new TestClock(written + 2 * DAY_MS),
    });
    try {
      const objects = later.stack.store.objects();
      assert.equal(await objects.get(old), undefined);
      assert.ok(await objects.get('models/kept/README'));
      const young = `${REQUESTS_PREFIX}image/${'b'.repeat(32)}`;
      await objects.putIfAbsent(young, new Uint8Array(4));
      const kept = await expireRequestObjects(
        later.stack.store.createClient(),
        later.stack.store.bucket,
        written,
      );
      assert.deepEqual(kept, []);
      assert.ok(await objects.get(young));
    } finally {
      await later.stop();
    }
  });
});
