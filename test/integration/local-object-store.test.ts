import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DEFAULT_LOCAL_BUCKET, LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import type { RangeOptions } from '../../lib/storage/ObjectStore.js';
import { readObjectRanges } from '../../lib/storage/read-object-ranges.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

/** The AWS SDK's view of a refused `If-None-Match: *` write, as real S3 answers it. */
function isPreconditionFailed(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    error.name === 'PreconditionFailed' &&
    error.$metadata.httpStatusCode === 412
  );
}

async function readText(client: S3Client, bucket: string, key: string): Promise<string> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString()) ?? '';
}

function putIfAbsent(client: S3Client, bucket: string, key: string, body: string): Promise<unknown> {
  return client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }));
}

describe('LocalObjectStore: an S3-compatible store on loopback', () => {
  let directory: string;
  let store: LocalObjectStore;
  let client: S3Client;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'sluice-store-'));
    store = await LocalObjectStore.start({ directory, port: 0 });
    client = store.createClient();
  });

  after(async () => {
    await store.stop();
    await rm(directory, { recursive: true, force: true });
  });

  /** Where s3rver keeps the parts of unfinished multipart uploads of the bucket. */
  function uploadsDirectory(): string {
    return join(directory, store.bucket, '._S3rver_uploads');
  }

  it('serves on an ephemeral 127.0.0.1 port and creates its bucket', async () => {
    assert.match(store.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(store.bucket, DEFAULT_LOCAL_BUCKET);
    await client.send(new HeadBucketCommand({ Bucket: store.bucket }));
  });

  it('refuses a conditional PUT of an existing key with 412 PreconditionFailed', async () => {
    await putIfAbsent(client, store.bucket, 'conditional/once', 'first');
    await assert.rejects(
      putIfAbsent(client, store.bucket, 'conditional/once', 'second'),
      isPreconditionFailed,
    );
    assert.equal(await readText(client, store.bucket, 'conditional/once'), 'first');
  });

  it('lets exactly one of 16 concurrent conditional PUTs of one key succeed', async () => {
    const bodies = Array.from({ length: 16 }, (_, racer) => `racer ${racer}`);
    const results = await Promise.allSettled(
      bodies.map((body) => putIfAbsent(client, store.bucket, 'race/key', body)),
    );
    const winners = results.flatMap((result, racer) => (result.status === 'fulfilled' ? [racer] : []));
    assert.equal(winners.length, 1);
    for (const result of results) {
      if (result.status === 'rejected') {
        assert.ok(isPreconditionFailed(result.reason), `unexpected error: ${String(result.reason)}`);
      }
    }
    assert.equal(await readText(client, store.bucket, 'race/key'), bodies[winners[0] ?? -1]);
  });

  it('refuses a conditional multipart upload of an existing key at CompleteMultipartUpload', async () => {
    const body = new Uint8Array(6 * 1024 * 1024).fill(7);
    const upload = (fill: number) =>
      new Upload({
        client,
        partSize: 5 * 1024 * 1024,
        params: { Bucket: store.bucket, Key: 'multipart/once', Body: body.fill(fill), IfNoneMatch: '*' },
      }).done();
    await upload(1);
    await assert.rejects(upload(2), isPreconditionFailed);
    const response = await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: 'multipart/once' }));
    const stored = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    assert.equal(stored.byteLength, body.byteLength);
    assert.ok(stored.every((byte) => byte === 1));
  });

  it('still lets unconditional PUTs overwrite', async () => {
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'plain/key', Body: 'one' }));
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'plain/key', Body: 'two' }));
    assert.equal(await readText(client, store.bucket, 'plain/key'), 'two');
  });

  it('pages ListObjectsV2 with continuation tokens', async () => {
    const keys = Array.from({ length: 7 }, (_, index) => `paged/${index}`);
    await Promise.all(
      keys.map((key) => client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: key }))),
    );
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: store.bucket,
          Prefix: 'paged/',
          MaxKeys: 3,
          ContinuationToken: token,
        }),
      );
      pages++;
      seen.push(...(page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : [])));
      assert.equal(page.IsTruncated, pages < 3);
      token = page.NextContinuationToken;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen, keys);
  });

  it('groups keys by delimiter without repeating prefixes across pages', async () => {
    await Promise.all(
      ['tree/a/1', 'tree/a/2', 'tree/b', 'tree/c/1', 'tree/d', 'tree/e/1'].map((key) =>
        client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: key })),
      ),
    );
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: store.bucket,
          Prefix: 'tree/',
          Delimiter: '/',
          MaxKeys: 1,
          ContinuationToken: token,
        }),
      );
      keys.push(...(page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : [])));
      prefixes.push(...(page.CommonPrefixes ?? []).flatMap((entry) => (entry.Prefix ? [entry.Prefix] : [])));
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(keys, ['tree/b', 'tree/d']);
    assert.deepEqual(prefixes.sort(), ['tree/a/', 'tree/c/', 'tree/e/']);
  });

  it('deletes the parts of an aborted multipart upload, and refuses parts for it afterwards (NoSuchUpload)', async () => {
    const key = 'multipart/aborted';
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }),
    );
    await client.send(
      new UploadPartCommand({ Bucket: store.bucket, Key: key, UploadId, PartNumber: 1, Body: 'part one' }),
    );
    assert.deepEqual(await readdir(uploadsDirectory()), [UploadId]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: key, UploadId }));
    assert.deepEqual(await readdir(uploadsDirectory()), []);
    await assert.rejects(
      client.send(
        new UploadPartCommand({ Bucket: store.bucket, Key: key, UploadId, PartNumber: 2, Body: 'late' }),
      ),
      (error: unknown) => error instanceof S3ServiceException && error.name === 'NoSuchUpload',
    );
    assert.deepEqual(await readdir(uploadsDirectory()), []);
  });

  it('deletes at start the parts of uploads a killed client left behind', async () => {
    const key = 'multipart/abandoned';
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }),
    );
    await client.send(
      new UploadPartCommand({ Bucket: store.bucket, Key: key, UploadId, PartNumber: 1, Body: 'orphan' }),
    );
    assert.deepEqual(await readdir(uploadsDirectory()), [UploadId]);
    await store.stop();
    await store.start();
    assert.deepEqual(await readdir(uploadsDirectory()).catch(() => []), []);
  });

  it('is unreachable while stopped and keeps its data across stop and start', async () => {
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'persist/key', Body: 'kept' }));
    await store.stop();
    const impatient = store.createClient({ maxAttempts: 1 });
    await assert.rejects(
      impatient.send(new ListObjectsV2Command({ Bucket: store.bucket })),
      (error: unknown) => {
        assert.ok(!(error instanceof S3ServiceException), 'a connection error, not an S3 answer');
        return true;
      },
    );
    await store.start();
    // Restarted on the same port: clients made before the stop keep working.
    assert.equal(await readText(client, store.bucket, 'persist/key'), 'kept');

    const second = await LocalObjectStore.start({ directory, bucket: store.bucket });
    try {
      assert.equal(await readText(second.createClient(), second.bucket, 'persist/key'), 'kept');
    } finally {
      await second.stop();
    }
  });

  it('answers GetObject with If-Match as S3 does: the object when its ETag matches, 412 PreconditionFailed when not', async () => {
    const key = 'if-match/object.bin';
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: Buffer.from('first') }));
    const head = await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    await head.Body?.transformToByteArray();
    const etag = head.ETag as string;
    const matched = await client.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: key, IfMatch: etag }),
    );
    assert.equal(await matched.Body?.transformToString(), 'first');
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: Buffer.from('again') }));
    await assert.rejects(
      client.send(
        new GetObjectCommand({ Bucket: store.bucket, Key: key, IfMatch: etag, Range: 'bytes=0-1' }),
      ),
      (error: unknown) =>
        error instanceof S3ServiceException &&
        error.$metadata.httpStatusCode === 412 &&
        error.name === 'PreconditionFailed',
    );
  });

  it('a ranged read refuses an object written again between its ranges instead of mixing the two', async () => {
    const objects = new S3ObjectStore({ client, bucket: store.bucket });
    const key = 'if-match/ranged.bin';
    const size = 4096;
    await objects.putIfAbsent(key, new Uint8Array(size).fill(1));
    let replaced = false;
    // The store as readObjectRanges sees it: the object is written again (same size, other bytes) after the first range.
    const racing = {
      getRange: async (rangeKey: string, start: number, length: number, options?: RangeOptions) => {
        if (start > 0 && !replaced) {
          replaced = true;
          await objects.delete(key);
          await objects.putIfAbsent(key, new Uint8Array(size).fill(2));
        }
        return objects.getRange(rangeKey, start, length, options);
      },
    };
    const first = await objects.getRange(key, 0, 1024);
    assert.ok(first?.etag, 'a range carries its ETag');
    await assert.rejects(
      readObjectRanges({
        store: racing,
        key,
        into: new Uint8Array(size),
        first,
        partBytes: 1024,
        concurrency: 1,
        problem: (what) => new Error(what),
      }),
      /missing or replaced/,
    );
    assert.equal(replaced, true);
  });
});
