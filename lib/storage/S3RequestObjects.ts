import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FETCH_CONCURRENCY, FETCH_PART_BYTES } from './ModelRegistry.js';
import { ObjectChangedError, type PresignedRequest, type RequestObjectStore } from './RequestObjectStore.js';
import { readObjectRanges } from './read-object-ranges.js';
import { S3ObjectStore } from './S3ObjectStore.js';

/** Content type request objects are written with: raw little-endian tensor bytes. */
const OBJECT_CONTENT_TYPE = 'application/octet-stream';

/**
 * Outputs up to this size are written in one PUT, larger ones in parts. One PUT takes up to 5 GB
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html), and for a tensor-sized object it is
 * the faster: parts cost a request each and a completion, which parallelism does not win back at tens of MB
 * (12.6 MB on the embedded store: 20-70 ms in one PUT, 80-180 ms in two 8 MiB parts).
 */
export const REQUEST_OBJECT_MULTIPART_BYTES = 64 * 1024 * 1024;

/** Properties of {@link S3RequestObjects}. */
export interface S3RequestObjectsProps {
  /** The client the function reads and writes the registry bucket with. */
  readonly client: S3Client;
  readonly bucket: string;
  /**
   * The client URLs are presigned with. @default one on `client`'s region, endpoint and credentials that adds no
   * checksum (see {@link presignClientOf})
   */
  readonly presignClient?: S3Client;
  /** The clock of `expiresAt`, epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * Request objects in an S3 bucket: presigned URLs from `@aws-sdk/s3-request-presigner`, reads with the registry's
 * parallel ranged fetch straight into the tensor's buffer, writes and deletes through {@link S3ObjectStore}.
 *
 * An upload URL signs `Content-Length` (the presigner signs every header the request has but `content-type`, and a
 * PutObject with `ContentLength` has one): SigV4 computes the signature over the signed headers' values
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html), so a PUT of another length does
 * not match the signature and S3 refuses it. A presigned PUT cannot take a size range (only a presigned POST policy
 * can, `content-length-range`,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html); sluice needs one exact size,
 * which the signed length is, and the function checks the object's size again before it reads it.
 *
 * @example
 * const objects = new S3RequestObjects({ client: new S3Client({}), bucket: 'my-models' });
 * const { url, headers } = await objects.presignUpload('requests/isnet/0123...', 12582912, 900);
 */
export class S3RequestObjects implements RequestObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #store: S3ObjectStore;
  readonly #now: () => number;
  #presignClient: S3Client | undefined;

  constructor(props: S3RequestObjectsProps) {
    this.#client = props.client;
    this.#bucket = props.bucket;
    this.#store = new S3ObjectStore({
      client: props.client,
      bucket: props.bucket,
      multipartThresholdBytes: REQUEST_OBJECT_MULTIPART_BYTES,
    });
    this.#presignClient = props.presignClient;
    this.#now = props.now ?? Date.now;
  }

  async presignUpload(key: string, byteSize: number, seconds: number): Promise<PresignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.#bucket, Key: key, ContentLength: byteSize });
    return this.#presign('PUT', command, seconds, { 'content-length': String(byteSize) });
  }

  async presignDownload(key: string, seconds: number): Promise<PresignedRequest> {
    return this.#presign('GET', new GetObjectCommand({ Bucket: this.#bucket, Key: key }), seconds, {});
  }

  async readInto(key: string, into: Uint8Array): Promise<number | undefined> {
    const first = await this.#store.getRange(key, 0, FETCH_PART_BYTES);
    if (!first) return undefined;
    if (first.total !== into.byteLength) {
      first.discard();
      return first.total;
    }
    await readObjectRanges({
      store: this.#store,
      key,
      into,
      first,
      partBytes: FETCH_PART_BYTES,
      concurrency: FETCH_CONCURRENCY,
      problem: (what) => new ObjectChangedError(`${this.#store.locate(key)}: ${what}`),
    });
    return first.total;
  }

  async write(key: string, bytes: Uint8Array): Promise<void> {
    const written = await this.#store.putIfAbsent(key, bytes, { contentType: OBJECT_CONTENT_TYPE });
    // Keys carry 128 random bits: a taken one is a bug, never a race to lose quietly.
    if (!written) throw new Error(`${this.#store.locate(key)} exists already`);
  }

  async delete(key: string): Promise<void> {
    await this.#store.delete(key);
  }

  async #presign(
    method: PresignedRequest['method'],
    command: PutObjectCommand | GetObjectCommand,
    seconds: number,
    headers: Record<string, string>,
  ): Promise<PresignedRequest> {
    const client = this.#presigner();
    // Loaded by the first URL: a cold start of a function serving tensors inline never compiles the presigner.
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const signedAt = this.#now();
    // Signed at the injected clock's time, so that X-Amz-Date and expiresAt agree.
    const url = await getSignedUrl(client, command, { expiresIn: seconds, signingDate: new Date(signedAt) });
    // "If you created a presigned URL using a temporary token, then the URL expires when the token expires, even if
    // the URL was created with a later expiration time"; a function signs with its role's session
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html#PresignedUrl-Expiration).
    const expiration = (await client.config.credentials()).expiration?.getTime();
    const end = signedAt + seconds * 1000;
    return {
      url,
      method,
      headers,
      expiresAt: new Date(expiration === undefined ? end : Math.min(end, expiration)),
    };
  }

  #presigner(): S3Client {
    this.#presignClient ??= presignClientOf(this.#client);
    return this.#presignClient;
  }
}

/**
 * A client that presigns as `client` would (same region, endpoint, addressing and credentials) but adds no checksum
 * to the URL. With the SDK's default `requestChecksumCalculation: 'WHEN_SUPPORTED'`, a presigned PutObject carries
 * `x-amz-checksum-crc32` of the empty body the command had at signing time, and S3 then refuses every real upload
 * to it (https://github.com/aws/aws-sdk-js-v3/issues/6994); S3 itself says presigned URLs do not take those
 * checksums for uploads (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
 */
export function presignClientOf(client: S3Client): S3Client {
  const config = client.config;
  return new S3Client({
    region: config.region,
    credentials: config.credentials,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
