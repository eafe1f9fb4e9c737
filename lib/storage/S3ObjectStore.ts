import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  BodyChangedError,
  type ObjectRange,
  type ObjectStore,
  type PutOptions,
  type RangeOptions,
  type StreamedBody,
} from './ObjectStore.js';

/**
 * Bodies larger than this are uploaded in parts: S3 takes up to 5 GiB in one PUT, but parts retry and run in
 * parallel (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html).
 */
export const MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024;

/**
 * Size of each part of a multipart upload; S3's minimum is 5 MiB for every part but the last
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/** Parts of one multipart upload in flight at once. */
export const MULTIPART_QUEUE_SIZE = 4;

/**
 * Keys per ListObjectsV2 page: "Returns some or all (up to 1,000) of the objects in a bucket"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
 */
export const LIST_PAGE_SIZE = 1000;

/** Content type of an object written without one. */
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreProps {
  /** Client for the bucket's region (or the local store). */
  readonly client: S3Client;
  readonly bucket: string;
  /**
   * Body size above which writes upload in parts.
   * @default MULTIPART_THRESHOLD_BYTES
   */
  readonly multipartThresholdBytes?: number;
  /**
   * Keys asked for per listing page.
   * @default LIST_PAGE_SIZE
   */
  readonly listPageSize?: number;
}

/**
 * The object store port on an S3 bucket (or an S3-compatible store such as the local stack's embedded one).
 *
 * Writes are conditional (`If-None-Match: *`, also on CompleteMultipartUpload): "If a conflicting operation occurs
 * ... Amazon S3 returns a 412 Precondition Failed response" and a racing conditional write may get "409
 * ConditionalRequestConflict" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html); both
 * mean the key is taken. A missing key is `NoSuchKey`; a missing bucket (also a 404) is a broken deployment and
 * propagates.
 *
 * @example
 * const store = new S3ObjectStore({ client: new S3Client({}), bucket: 'my-models' });
 * await store.putIfAbsent('models/iris/1/.claim', '{}');
 */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #multipartThresholdBytes: number;
  readonly #listPageSize: number;

  constructor(props: S3ObjectStoreProps) {
    this.#client = props.client;
    this.#bucket = props.bucket;
    this.#multipartThresholdBytes = props.multipartThresholdBytes ?? MULTIPART_THRESHOLD_BYTES;
    this.#listPageSize = props.listPageSize ?? LIST_PAGE_SIZE;
  }

  /** The bucket's name. */
  get bucket(): string {
    return this.#bucket;
  }

  /** The client, for callers that need S3 beyond the port (the CLI's region lookups). */
  get client(): S3Client {
    return this.#client;
  }

  locate(key: string): string {
    return `s3://${this.#bucket}/${key}`;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isNoSuchKey(error) || (await this.#deniedBecauseMissing(key, error))) return undefined;
      throw error;
    }
  }

  /**
   * Whether an AccessDenied of a GetObject means the key is missing. S3 answers a missing key with 404 only to a
   * caller that holds `s3:ListBucket` on the bucket, and with 403 otherwise
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"); sluice's roles hold it
   * only under an `s3:prefix` condition, which a GetObject does not carry. So a 403 is checked with a listing of
   * the key itself as the prefix (which the condition allows): no such key means missing; a key that is there, or a
   * listing that is refused too, keeps the 403 a store failure.
   */
  async #deniedBecauseMissing(key: string, error: unknown): Promise<boolean> {
    if (!(error instanceof S3ServiceException) || error.$metadata.httpStatusCode !== 403) return false;
    try {
      const listed = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: key, MaxKeys: 1 }),
      );
      return !(listed.Contents ?? []).some((object) => object.Key === key);
    } catch {
      return false;
    }
  }

  async getRange(
    key: string,
    start: number,
    length: number,
    options: RangeOptions = {},
  ): Promise<ObjectRange | undefined> {
    try {
      const response = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Range: `bytes=${start}-${start + length - 1}`,
          ...(options.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
        }),
      );
      const total = Number(/\/(\d+)$/.exec(response.ContentRange ?? '')?.[1] ?? response.ContentLength ?? 0);
      const body = (response.Body ?? emptyBody()) as AsyncIterable<Uint8Array> & { destroy?: () => void };
      return {
        total,
        body,
        discard: () => body.destroy?.(),
        ...(response.ETag === undefined ? {} : { etag: response.ETag }),
      };
    } catch (error) {
      if (isNoSuchKey(error) || (await this.#deniedBecauseMissing(key, error))) return undefined;
      // "If-Match: Return the object only if its entity tag (ETag) is the same as the one specified in this header;
      // otherwise, return a 412 Precondition Failed error" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html):
      // that version is gone, as far as this read is concerned.
      if (
        options.ifMatch !== undefined &&
        error instanceof S3ServiceException &&
        error.$metadata.httpStatusCode === 412
      )
        return undefined;
      // An empty object has no byte 0: S3 answers 416 InvalidRange.
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) {
        return { total: 0, body: emptyBody(), discard: () => undefined };
      }
      throw error;
    }
  }

  async putIfAbsent(
    key: string,
    body: Uint8Array | string | StreamedBody,
    options: PutOptions = {},
  ): Promise<boolean> {
    const size =
      typeof body === 'string'
        ? Buffer.byteLength(body)
        : body instanceof Uint8Array
          ? body.byteLength
          : body.size;
    options.signal?.throwIfAborted();
    // Above the threshold, bytes and streams go in parts (a stream as it is read); below it, one PutObject, of a
    // streamed body read whole (at most the threshold).
    const written =
      size > this.#multipartThresholdBytes && typeof body !== 'string'
        ? await this.#upload(key, body, size, options)
        : await ifAbsent(
            this.#client.send(
              new PutObjectCommand({
                Bucket: this.#bucket,
                Key: key,
                Body: typeof body === 'string' || body instanceof Uint8Array ? body : await collect(body),
                ContentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
                IfNoneMatch: '*',
              }),
            ),
          );
    if (written) options.onProgress?.(size);
    return written;
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const pages = paginateListObjectsV2(
      { client: this.#client, pageSize: this.#listPageSize },
      { Bucket: this.#bucket, Prefix: prefix },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  /** A multipart upload with `If-None-Match: *` on its completion; stopped by the signal with its parts deleted. */
  async #upload(
    key: string,
    body: Uint8Array | StreamedBody,
    total: number,
    options: PutOptions,
  ): Promise<boolean> {
    // Loaded only for large bodies: the predict function never uploads, and never pays for this module at start.
    const { Upload } = await import('@aws-sdk/lib-storage');
    let reported = -1;
    const upload = new Upload({
      client: this.#client,
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_QUEUE_SIZE,
      params: {
        Bucket: this.#bucket,
        Key: key,
        // lib-storage cuts a stream into parts as it reads it: at most queueSize parts are held at once.
        Body: body instanceof Uint8Array ? body : Readable.from(exactly(body)),
        ContentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
        IfNoneMatch: '*',
      },
    });
    upload.on('httpUploadProgress', (progress) => {
      // Parts finish out of order; callers get a count that only grows.
      const loaded = Math.min(progress.loaded ?? 0, total);
      if (loaded > reported && loaded < total) {
        reported = loaded;
        options.onProgress?.(loaded);
      }
    });
    // Upload deletes the parts it sent (AbortMultipartUpload) when a part fails; when it is aborted it answers at
    // once and cleans up later, so the abort is sent here too, before the write reports that it stopped.
    const abort = (): void => void upload.abort();
    const signal = options.signal;
    signal?.addEventListener('abort', abort, { once: true });
    try {
      signal?.throwIfAborted();
      return await ifAbsent(upload.done());
    } catch (error) {
      if (!signal?.aborted) throw error;
      if (upload.uploadId) {
        await this.#client.send(
          new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: upload.uploadId }),
        );
      }
      throw signal.reason;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/**
 * A streamed body's bytes, refusing a body that is not the size it said (a file that changed while it was read):
 * the write then fails (a multipart upload is aborted, its parts deleted) rather than storing other bytes.
 */
async function* exactly(body: StreamedBody): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const chunk of body.open()) {
    read += chunk.byteLength;
    if (read > body.size)
      throw new BodyChangedError(
        `a body said to be ${body.size} bytes gave more: it changed while it was written`,
      );
    yield chunk;
  }
  if (read !== body.size) {
    throw new BodyChangedError(
      `a body said to be ${body.size} bytes ended at ${read}: it changed while it was written`,
    );
  }
}

/** A streamed body's bytes in one buffer of its size. */
async function collect(body: StreamedBody): Promise<Uint8Array> {
  const bytes = new Uint8Array(body.size);
  let offset = 0;
  for await (const chunk of exactly(body)) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Resolves true once a conditional write succeeded, false when S3 refused it because the key exists. */
async function ifAbsent(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isKeyTaken(error)) return false;
    throw error;
  }
}

/**
 * S3 answers a write with `If-None-Match: *` to an existing key with 412 PreconditionFailed, and one that races
 * another conditional write of the same key with 409 ConditionalRequestConflict.
 */
function isKeyTaken(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return (
    error.name === 'PreconditionFailed' ||
    error.name === 'ConditionalRequestConflict' ||
    error.$metadata.httpStatusCode === 412
  );
}

/** Only a missing key: a missing bucket (also a 404) is a broken deployment and propagates. */
function isNoSuchKey(error: unknown): boolean {
  return error instanceof S3ServiceException && error.name === 'NoSuchKey';
}
