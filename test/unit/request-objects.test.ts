import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objectKey } from '../../lib/core/contract/tensor-objects.js';
import { InvalidRequestError, ObjectReferenceError } from '../../lib/core/errors/request-errors.js';
import { BINARY_ELEMENT_BYTES } from '../../lib/core/tensor/binary-tensor.js';
import { TENSOR_DATATYPES, type TensorDatatype } from '../../lib/core/tensor/datatypes.js';
import {
  checkReferencedValues,
  objectTensorSize,
  referencedTensor,
  tensorBytes,
} from '../../lib/core/tensor/referenced-tensor.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
import {
  type PresignedRequestContext,
  presignedSignatureMiddleware,
} from '../../lib/local/presigned-url-check.js';
import { S3RequestObjects } from '../../lib/storage/S3RequestObjects.js';
import { FakeS3Bucket } from '../fixtures/fake-aws-control-plane.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Presigning is local: no request leaves the process, and the signing time is given, not read from a clock. */
const SIGNED_AT = new Date('2026-12-03T06:00:00Z');

const HOST = '127.0.0.1:4569';

async function presignedPut(byteSize: number): Promise<URL> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://${HOST}`,
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const url = await getSignedUrl(
    client,
    new PutObjectCommand({ Bucket: 'sluice-models', Key: 'requests/image/0123', ContentLength: byteSize }),
    { expiresIn: 900, signingDate: SIGNED_AT },
  );
  return new URL(url);
}

/** Runs the check on one request; says whether it passed on to the store, or what it answered instead. */
async function check(method: string, url: string, headers: Record<string, string>) {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = headers;
  const ctx: PresignedRequestContext = { method, req, status: 404, type: '', body: undefined };
  let passed = false;
  let refusal: { status: number; code: string } | undefined;
  await presignedSignatureMiddleware(
    (id) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    (_ctx, status, code) => {
      refusal = { status, code };
    },
  )(ctx, async () => {
    passed = true;
  });
  return { passed, refusal };
}

describe('presignedSignatureMiddleware: the embedded store checks presigned SigV4 signatures as S3 does', () => {
  it('passes a PUT as the SDK presigner signed it (host and content-length)', async () => {
    const url = await presignedPut(12);
    assert.match(url.searchParams.get('X-Amz-SignedHeaders') ?? '', /content-length/);
    const result = await check('PUT', `${url.pathname}${url.search}`, { host: HOST, 'content-length': '12' });
    assert.deepEqual(result, { passed: true, refusal: undefined });
  });

  it('refuses another length than the signed one with 403 SignatureDoesNotMatch', async () => {
    const url = await presignedPut(12);
    const result = await check('PUT', `${url.pathname}${url.search}`, { host: HOST, 'content-length': '11' });
    assert.deepEqual(result, { passed: false, refusal: { status: 403, code: 'SignatureDoesNotMatch' } });
  });

  it('refuses a tampered query (a longer expiry), another method and another key', async () => {
    const url = await presignedPut(12);
    const headers = { host: HOST, 'content-length': '12' };
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    const refused = { passed: false, refusal: { status: 403, code: 'SignatureDoesNotMatch' } };
    assert.deepEqual(await check('PUT', `${longer.pathname}${longer.search}`, headers), refused);
    assert.deepEqual(await check('GET', `${url.pathname}${url.search}`, headers), refused);
    assert.deepEqual(await check('PUT', `${url.pathname}9${url.search}`, headers), refused);
  });

  it('leaves requests that are not presigned, and unknown keys, to the store', async () => {
    assert.equal(
      (await check('GET', '/sluice-models/models/iris/1/manifest.json', { host: HOST })).passed,
      true,
    );
    const url = await presignedPut(12);
    const other = new URL(url);
    other.searchParams.set(
      'X-Amz-Credential',
      (url.searchParams.get('X-Amz-Credential') ?? '').replace('S3RVER', 'SOMEONE'),
    );
    assert.equal((await check('PUT', `${other.pathname}${other.search}`, { host: HOST })).passed, true);
  });
});

describe('objectKey: a reference names an object of its own model only', () => {
  it('maps MODEL/ID to requests/MODEL/ID', () => {
    const id = '0123456789abcdef0123456789abcdef';
    assert.equal(objectKey('image', `image/${id}`), `requests/image/${id}`);
  });

  it('refuses references of another model, and anything that is not MODEL/ID', () => {
    const id = '0123456789abcdef0123456789abcdef';
    assert.throws(() => objectKey('image', `iris/${id}`), ObjectReferenceError);
    for (const reference of [
      'image',
      `image/${id}/x`,
      `image/${id.toUpperCase()}`,
      '../models/iris/1/model.onnx',
    ]) {
      assert.throws(() => objectKey('image', reference), ObjectReferenceError, reference);
    }
  });
});

describe('S3RequestObjects.readInto with the scoped grants of a model function', () => {
  /** What ModelEndpoint grants on request objects: GetObject, and ListBucket under `s3:prefix`, on `requests/image/`. */
  const bucket = new FakeS3Bucket('registry', {
    getObject: ['requests/image/'],
    listBucket: ['requests/image/'],
  });
  bucket.put('requests/image/aa', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  const objects = new S3RequestObjects({ client: bucket.client, bucket: 'registry' });

  it('reads an object of the expected size into the buffer', async () => {
    const into = new Uint8Array(8);
    assert.equal(await objects.readInto('requests/image/aa', into), 8);
    assert.deepEqual([...into], [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reads nothing from an object of another size, and says its size', async () => {
    const into = new Uint8Array(4);
    assert.equal(await objects.readInto('requests/image/aa', into), 8);
    assert.deepEqual([...into], [0, 0, 0, 0]);
  });

  it('reads a missing object (a 403 without an unconditioned ListBucket) as missing', async () => {
    assert.equal(await objects.readInto('requests/image/bb', new Uint8Array(8)), undefined);
  });

  it("refuses another model's objects (403, a failure, not a missing object)", async () => {
    await assert.rejects(objects.readInto('requests/iris/aa', new Uint8Array(8)));
  });
});

describe("S3RequestObjects: presigned URLs end with their own expiry or their credentials', whichever is first", () => {
  const signedAt = SIGNED_AT.getTime();
  function objectsWith(expiration: Date | undefined) {
    const client = new S3Client({
      region: 'us-east-1',
      credentials: async () => ({ ...CREDENTIALS, ...(expiration ? { expiration } : {}) }),
    });
    return new S3RequestObjects({ client, bucket: 'registry', now: () => signedAt });
  }

  it('an upload URL signs the exact size, at the clock given, for the seconds asked', async () => {
    const upload = await objectsWith(undefined).presignUpload('requests/image/aa', 12582912, 900);
    const url = new URL(upload.url);
    assert.equal(upload.method, 'PUT');
    assert.deepEqual(upload.headers, { 'content-length': '12582912' });
    assert.match(url.searchParams.get('X-Amz-SignedHeaders') ?? '', /content-length/);
    assert.equal(url.searchParams.get('X-Amz-Date'), '20261203T060000Z');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(url.searchParams.has('x-amz-checksum-crc32'), false);
    assert.equal(upload.expiresAt.getTime(), signedAt + 900_000);
  });

  it('a URL signed with a session that ends sooner ends with it', async () => {
    const ends = new Date(signedAt + 60_000);
    const download = await objectsWith(ends).presignDownload('requests/image/aa', 900);
    assert.equal(download.method, 'GET');
    assert.equal(download.expiresAt.getTime(), ends.getTime());
  });
});

describe('referencedTensor: the tensor of an input sent by reference, before its object fills it', () => {
  const spec = (datatype: TensorDatatype, shape: number[]): TensorSpec => ({ name: 'x', datatype, shape });

  it('is zeroed, of the datatype and size the object must have, for every fixed-size datatype', () => {
    for (const datatype of TENSOR_DATATYPES.filter((candidate) => candidate !== 'BYTES')) {
      const tensor = referencedTensor({ name: 'x', datatype, shape: [2, 3] }, spec(datatype, [-1, 3]));
      assert.deepEqual(tensor.dims, [2, 3], datatype);
      const bytes = tensorBytes(tensor);
      assert.equal(bytes.byteLength, 6 * (BINARY_ELEMENT_BYTES[datatype] as number), datatype);
      assert.ok(
        bytes.every((byte) => byte === 0),
        datatype,
      );
      assert.equal(
        objectTensorSize({ name: 'x', datatype, shape: [2, 3] }, spec(datatype, [-1, 3])).byteSize,
        bytes.byteLength,
      );
    }
  });

  it('refuses BYTES inputs, another datatype and another shape than the model takes', () => {
    assert.throws(
      () => objectTensorSize({ name: 'x', datatype: 'BYTES', shape: [1] }, spec('BYTES', [1])),
      /BYTES inputs cannot be sent by reference/,
    );
    assert.throws(
      () => objectTensorSize({ name: 'x', datatype: 'FP64', shape: [1] }, spec('FP32', [1])),
      /datatype is "FP64", expected FP32/,
    );
    assert.throws(
      () => objectTensorSize({ name: 'x', datatype: 'FP32', shape: [2] }, spec('FP32', [1])),
      InvalidRequestError,
    );
  });

  it('takes float bit patterns as they are and refuses BOOL bytes other than 0 and 1', () => {
    const floats = referencedTensor({ name: 'x', datatype: 'FP32', shape: [2] }, spec('FP32', [2]));
    tensorBytes(floats).set([0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff]);
    assert.doesNotThrow(() => checkReferencedValues('x', floats));
    const flags = referencedTensor({ name: 'x', datatype: 'BOOL', shape: [3] }, spec('BOOL', [3]));
    tensorBytes(flags).set([1, 0, 2]);
    assert.throws(() => checkReferencedValues('x', flags), /BOOL byte 2 of its object is 2/);
  });
});
