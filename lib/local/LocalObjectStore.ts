import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Mutex } from 'async-mutex';
import * as z from 'zod';
import { S3ObjectStore, type S3ObjectStoreProps } from '../storage/S3ObjectStore.js';
import { presignedSignatureMiddleware } from './presigned-url-check.js';

/** Bucket the local stack keeps its registry in unless told otherwise. */
export const DEFAULT_LOCAL_BUCKET = 'sluice-models';

/** Loopback only: the embedded store has dummy credentials and must never be reachable from the network. */
const LOCAL_ADDRESS = '127.0.0.1';

/** Region the local clients sign for; s3rver accepts any, the SDK needs one. */
const LOCAL_REGION = 'us-east-1';

/** s3rver's built-in account; it checks SigV4 signatures against this key pair. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Real S3's message for a failed `If-None-Match: *` write, so local errors read like remote ones. */
const PRECONDITION_FAILED_MESSAGE = 'At least one of the pre-conditions you specified did not hold';

/** Listings retried when a file vanishes under s3rver's synchronous directory walk (a concurrent rename or delete). */
const LIST_ATTEMPTS = 5;

/** The resource name s3rver keeps a bucket's unfinished multipart uploads under (`<bucket>/._S3rver_uploads/<id>/`). */
const UPLOADS_RESOURCE = 'uploads';

/** Upload ids as s3rver makes them: 16 random bytes in hex. */
const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Most keys one ListObjectsV2 page returns, as on S3. */
const MAX_LIST_KEYS = 1000;

/** Options of {@link LocalObjectStore}. */
export interface LocalObjectStoreProps {
  /** Directory holding the buckets and objects; kept across restarts (the local stack passes `<SLUICE_HOME>/s3`). */
  readonly directory: string;
  /**
   * TCP port on 127.0.0.1; 0 picks a free one (kept for later restarts of the same instance).
   * @default 0
   */
  readonly port?: number;
  /**
   * Bucket created on start when missing.
   * @default DEFAULT_LOCAL_BUCKET
   */
  readonly bucket?: string;
}

/**
 * An S3-compatible object store on 127.0.0.1, backed by a directory: s3rver, made to behave like S3
 * where sluice depends on it.
 *
 * Where plain s3rver differs from S3 in ways the registry relies on, hooks put in front of its own
 * Koa middleware make it behave like S3:
 * - `If-None-Match: *` on PutObject, CopyObject and CompleteMultipartUpload is honoured: writes of one
 *   key carrying it are serialised, and a write to a key that exists is refused with 412
 *   `PreconditionFailed` (s3rver accepts the header and overwrites).
 * - ListObjectsV2 pages with continuation tokens (s3rver's tokens use DES, which OpenSSL 3 refuses,
 *   so any truncated listing failed with 500).
 * - AbortMultipartUpload deletes the upload's parts (s3rver does not implement it, so the parts of a failed
 *   upload stayed on disk), and parts no upload can finish any more, those of clients killed while the store
 *   was last running, are deleted at start.
 * - Presigned URLs (tensors sent by reference) are checked as S3 checks them: s3rver checks their expiry but takes
 *   any SigV4 signature, so an upload of another length than the signed `content-length` would pass
 *   (see presigned-url-check.ts).
 * - An object becomes visible only once all its bytes are on disk (s3rver answers a PUT before its
 *   file is flushed and lets readers see a half-written object); writes go to a temporary file
 *   that is renamed into place, and listings tolerate files vanishing under them.
 *
 * The hooks recognise path-style requests only; {@link createClient} makes clients that use them.
 * Stopping the store is how tests simulate S3 being unreachable.
 *
 * @example
 * const store = await LocalObjectStore.start({ directory: '.sluice/s3' });
 * const registry = new ModelRegistry({ store: store.objects() });
 * await store.stop();
 */
export class LocalObjectStore {
  /** Creates a store and starts it. */
  static async start(props: LocalObjectStoreProps): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(props);
    await store.start();
    return store;
  }

  /** Name of the bucket this store serves. */
  readonly bucket: string;
  /** Directory holding the data. */
  readonly directory: string;

  #port: number;
  #server: S3rverInstance | undefined;
  readonly #locks = new KeyedMutex();
  readonly #listeners = new Set<(key: string) => void>();

  constructor(props: LocalObjectStoreProps) {
    this.directory = props.directory;
    this.bucket = props.bucket ?? DEFAULT_LOCAL_BUCKET;
    this.#port = props.port ?? 0;
  }

  /** `http://127.0.0.1:PORT`; the port is known once the store has started. */
  get endpoint(): string {
    if (this.#port === 0) {
      throw new Error('LocalObjectStore: the endpoint is known only after start()');
    }
    return `http://${LOCAL_ADDRESS}:${this.#port}`;
  }

  /** Whether the store is currently accepting requests. */
  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Starts serving (again, after {@link stop}, on the same port and with the same data); creates the bucket if missing. */
  async start(): Promise<void> {
    if (this.#server) {
      return;
    }
    await mkdir(this.directory, { recursive: true });
    const server = createS3rver({
      address: LOCAL_ADDRESS,
      port: this.#port,
      directory: this.directory,
      silent: true,
      configureBuckets: [{ name: this.bucket, configs: [] }],
    });
    // Only one process serves a data folder (the local stack's lock), so no upload can still be going on here.
    await rm(uploadsDirectory(server.store, this.bucket), { recursive: true, force: true });
    makeWritesAtomic(server.store);
    retryVanishedListings(server.store);
    // Koa composes `middleware` when the server starts listening, so these run before every s3rver handler.
    server.middleware.unshift(
      changeMiddleware(this.bucket, (key) => {
        for (const listener of this.#listeners) listener(key);
      }),
      multipartAbortMiddleware(server.store, this.bucket, this.#locks),
      conditionalWriteMiddleware(server.store, this.#locks),
      ifMatchReadMiddleware(server.store),
      listObjectsV2Middleware(server.store),
      // Presigned URLs (tensors sent by reference) are signed as on S3: s3rver would take any signature.
      presignedSignatureMiddleware(
        (id) => (id === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : undefined),
        (ctx: KoaContext, status, code, message) => respondWithError(ctx, status, code, message),
      ),
    );
    const address = ListeningAddressSchema.parse(await server.run());
    this.#port = address.port;
    this.#server = server;
  }

  /**
   * Calls `listener` with the key of every object of this store's bucket that a request wrote or deleted, once the
   * store has answered it: the local stack learns of a newly published version from here, instead of listing the
   * registry again and again. Returns the function that stops the calls.
   *
   * @example
   * const stop = store.onChange((key) => console.log('changed', key));
   */
  onChange(listener: (key: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops serving; clients then get connection errors, as when S3 is unreachable. Data stays on disk. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) {
      return;
    }
    this.#server = undefined;
    const closed = server.close();
    // Keep-alive sockets of SDK clients would otherwise hold the server open until they time out.
    server.httpServer?.closeIdleConnections();
    await closed;
  }

  /**
   * An S3 client for this store: path-style, dummy credentials, checksums only where S3 requires them.
   *
   * By default the SDK sends streamed bodies `aws-chunked` with a trailing checksum, which s3rver
   * stores verbatim, framing included; byte-array bodies are unaffected.
   */
  createClient(overrides: S3ClientConfig = {}): S3Client {
    return new S3Client({
      endpoint: this.endpoint,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...overrides,
    });
  }

  /**
   * This store's bucket as sluice's object store port, through a client of {@link createClient}: what the
   * registry and the rollout store run on, over real S3 HTTP.
   *
   * @example
   * const registry = new ModelRegistry({ store: localStore.objects() });
   */
  objects(
    options: Omit<S3ObjectStoreProps, 'client' | 'bucket'> & { readonly client?: S3ClientConfig } = {},
  ): S3ObjectStore {
    const { client, ...props } = options;
    return new S3ObjectStore({ ...props, client: this.createClient(client), bucket: this.bucket });
  }
}

/** What `server.run()` resolves to: the bound address. */
const ListeningAddressSchema = z.object({ port: z.number().int().positive() });

/** The part of Koa's context the hooks use. */
interface KoaContext {
  readonly method: string;
  readonly path: string;
  readonly querystring: string;
  readonly req: IncomingMessage;
  get(field: string): string;
  status: number;
  type: string;
  body: unknown;
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** The part of s3rver's filesystem store the hooks use and replace. */
interface FilesystemStore {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  /** The object's metadata, its quoted `etag` among it; throws for a missing object. */
  getMetadata(bucket: string, key: string): Promise<unknown>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  listObjects(bucket: string, options: ListOptions): Promise<unknown>;
  getBucket(bucket: string): Promise<unknown>;
}

/** Options of s3rver's `listObjects`. */
interface ListOptions {
  readonly prefix: string;
  readonly delimiter: string;
  readonly startAfter: string;
  readonly maxKeys: number;
}

/** s3rver's `S3Object` as handed to `putObject`. */
interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Readable | Buffer;
  readonly metadata: unknown;
}

/** The part of the s3rver instance (a Koa application) used here. */
interface S3rverInstance {
  readonly middleware: KoaMiddleware[];
  readonly store: FilesystemStore;
  readonly httpServer?: Server;
  run(): Promise<unknown>;
  close(): Promise<void>;
}

interface S3rverOptions {
  readonly address: string;
  readonly port: number;
  readonly directory: string;
  readonly silent: boolean;
  readonly configureBuckets: readonly { name: string; configs: readonly string[] }[];
}

/** Loads s3rver (CommonJS, untyped) and checks it has the shape this file relies on. */
function createS3rver(options: S3rverOptions): S3rverInstance {
  const S3rver: unknown = createRequire(import.meta.url)('s3rver');
  if (typeof S3rver !== 'function') {
    throw new Error('s3rver did not export a constructor; is the installed version 3.x?');
  }
  const server: unknown = Reflect.construct(S3rver, [options]);
  if (!isS3rverInstance(server)) {
    throw new Error('s3rver instance lacks middleware/store/run/close; is the installed version 3.x?');
  }
  return server;
}

function isS3rverInstance(value: unknown): value is S3rverInstance {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const store: unknown = Reflect.get(value, 'store');
  return (
    Array.isArray(Reflect.get(value, 'middleware')) &&
    typeof Reflect.get(value, 'run') === 'function' &&
    typeof Reflect.get(value, 'close') === 'function' &&
    typeof store === 'object' &&
    store !== null &&
    ['existsObject', 'getResourcePath', 'putMetadata', 'putObject', 'listObjects', 'getBucket'].every(
      (method) => typeof Reflect.get(store, method) === 'function',
    )
  );
}

/** Where s3rver keeps the parts of a bucket's unfinished multipart uploads. */
function uploadsDirectory(store: FilesystemStore, bucket: string): string {
  return store.getResourcePath(bucket, '', UPLOADS_RESOURCE);
}

/**
 * Tells `changed` of each object of `bucket` that a request created (PutObject, CompleteMultipartUpload) or
 * deleted (DeleteObject), after the store answered it with success.
 */
function changeMiddleware(bucket: string, changed: (key: string) => void): KoaMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status < 200 || ctx.status >= 300) return;
    const query = new URLSearchParams(ctx.querystring);
    const isPut = ctx.method === 'PUT' && [...query.keys()].every((name) => name === 'x-id');
    const isComplete = ctx.method === 'POST' && query.has('uploadId');
    const isDelete = ctx.method === 'DELETE' && !query.has('uploadId');
    if (!isPut && !isComplete && !isDelete) return;
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const key = match?.[2] === undefined ? undefined : decodePathSegment(match[2]);
    if (match?.[1] === undefined || decodePathSegment(match[1]) !== bucket || key === undefined) return;
    changed(key);
  };
}

/**
 * Multipart uploads as S3 ends them: AbortMultipartUpload (`DELETE /bucket/key?uploadId=ID`, which s3rver answers
 * 405) deletes the upload's parts and answers 204, and UploadPart of an upload that is gone is refused with 404
 * `NoSuchUpload` (s3rver would create it again). Both hold a per-upload lock, so a part being written when the abort
 * arrives is deleted with the rest.
 */
function multipartAbortMiddleware(store: FilesystemStore, bucket: string, locks: KeyedMutex): KoaMiddleware {
  return async (ctx, next) => {
    const query = new URLSearchParams(ctx.querystring);
    const uploadId = query.get('uploadId');
    const isAbort = ctx.method === 'DELETE';
    const isPart = ctx.method === 'PUT' && query.has('partNumber');
    // Only this store's bucket: a path never names a directory of the caller's choosing.
    if (uploadId === null || !(isAbort || isPart) || !ctx.path.startsWith(`/${bucket}/`)) return next();
    const directory = UPLOAD_ID_PATTERN.test(uploadId)
      ? join(uploadsDirectory(store, bucket), uploadId)
      : undefined;
    await locks.run(`upload:${uploadId}`, async () => {
      if (isAbort) {
        if (directory) await rm(directory, { recursive: true, force: true });
        ctx.status = 204;
        return;
      }
      if (!directory || !(await exists(directory))) {
        await drain(ctx.req);
        respondWithError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.', {
          UploadId: uploadId,
        });
        return;
      }
      await next();
    });
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The hook that gives s3rver S3's conditional-write semantics: requests that create an object and
 * carry `If-None-Match: *` take a per-key lock for the whole downstream handler, and get 412 if
 * the object already exists when they hold it.
 */
function conditionalWriteMiddleware(store: FilesystemStore, locks: KeyedMutex): KoaMiddleware {
  return async (ctx, next) => {
    const target = conditionalWriteTarget(ctx);
    if (!target) {
      return next();
    }
    await locks.run(`${target.bucket}/${target.key}`, async () => {
      if (await store.existsObject(target.bucket, target.key)) {
        // Read the body first: answering mid-upload makes some clients see a reset instead of the 412.
        await drain(ctx.req);
        respondWithError(ctx, 412, 'PreconditionFailed', PRECONDITION_FAILED_MESSAGE, {
          Condition: 'If-None-Match',
          Resource: `/${target.bucket}/${target.key}`,
        });
        return;
      }
      await next();
    });
  };
}

/**
 * Answers a GetObject or HeadObject with `If-Match` as S3 does, which s3rver does not (it ignores the header): "Return
 * the object only if its entity tag (ETag) is the same as the one specified in this header; otherwise, return a 412
 * Precondition Failed error" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). The later ranges
 * of a ranged read ask for the first range's ETag, so an object written again mid-read is refused instead of mixed.
 * The tag is compared before s3rver reads the file (the local stand-in does not hold a lock over the read); a missing
 * object is left to s3rver's own 404.
 */
function ifMatchReadMiddleware(store: FilesystemStore): KoaMiddleware {
  return async (ctx, next) => {
    const wanted = ctx.get('if-match').trim();
    if (wanted === '' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const query = new URLSearchParams(ctx.querystring);
    // An object read: the SDK's `x-id`, a part number; any other parameter names a sub-resource.
    if (![...query.keys()].every((name) => name === 'x-id' || name === 'partNumber')) return next();
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const bucket = match?.[1] === undefined ? undefined : decodePathSegment(match[1]);
    const key = match?.[2] === undefined ? undefined : decodePathSegment(match[2]);
    if (bucket === undefined || key === undefined) return next();
    let etag: string;
    try {
      etag = z.object({ etag: z.string() }).parse(await store.getMetadata(bucket, key)).etag;
    } catch {
      return next();
    }
    const tags = wanted.split(',').map((tag) => tag.trim());
    if (tags.includes('*') || tags.includes(etag)) return next();
    respondWithError(ctx, 412, 'PreconditionFailed', PRECONDITION_FAILED_MESSAGE, {
      Condition: 'If-Match',
      Resource: `/${bucket}/${key}`,
    });
  };
}

/** The bucket and key of an object-creating request with `If-None-Match: *`, or undefined for any other request. */
function conditionalWriteTarget(ctx: KoaContext): { bucket: string; key: string } | undefined {
  if (ctx.get('if-none-match').trim() !== '*') {
    return undefined;
  }
  const query = new URLSearchParams(ctx.querystring);
  // The SDK adds `x-id=PutObject`; any other parameter names a sub-resource (uploadId, partNumber, tagging, ...).
  const isObjectPut = ctx.method === 'PUT' && [...query.keys()].every((name) => name === 'x-id');
  const isCompleteMultipart = ctx.method === 'POST' && query.has('uploadId');
  if (!isObjectPut && !isCompleteMultipart) {
    return undefined;
  }
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!match?.[1] || !match[2]) {
    return undefined;
  }
  const bucket = decodePathSegment(match[1]);
  const key = decodePathSegment(match[2]);
  // A malformed escape: let s3rver answer it as it would without the hook.
  return bucket === undefined || key === undefined ? undefined : { bucket, key };
}

function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** An object as s3rver's `listObjects` returns it (an `S3Object` with intrinsic metadata). */
const ListedObjectSchema = z.object({
  key: z.string(),
  metadata: z.object({
    etag: z.string(),
    'last-modified': z.string(),
    'content-length': z.coerce.number(),
  }),
});

/** What s3rver's `listObjects` resolves to. */
const ListingSchema = z.object({
  objects: z.array(ListedObjectSchema),
  commonPrefixes: z.array(z.string()),
  isTruncated: z.boolean(),
});

/** The content of this store's continuation tokens, opaque to clients as on S3. */
const ContinuationTokenSchema = z.object({ startAfter: z.string() });

/**
 * Serves ListObjectsV2 (`GET /BUCKET?list-type=2`) from s3rver's store with working continuation tokens;
 * s3rver's own handler encrypts its tokens with DES, which Node's OpenSSL 3 no longer offers.
 */
function listObjectsV2Middleware(store: FilesystemStore): KoaMiddleware {
  return async (ctx, next) => {
    const query = new URLSearchParams(ctx.querystring);
    const bucketMatch = /^\/([^/]+)\/?$/.exec(ctx.path);
    if (ctx.method !== 'GET' || query.get('list-type') !== '2' || !bucketMatch?.[1]) {
      return next();
    }
    const bucket = decodePathSegment(bucketMatch[1]);
    if (bucket === undefined || !(await store.getBucket(bucket))) {
      respondWithError(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist', {
        BucketName: bucketMatch[1],
      });
      return;
    }
    const maxKeysText = query.get('max-keys') ?? String(MAX_LIST_KEYS);
    if (!/^\d+$/.test(maxKeysText)) {
      respondWithError(
        ctx,
        400,
        'InvalidArgument',
        'Provided max-keys not an integer or within integer range',
        {
          ArgumentName: 'max-keys',
          ArgumentValue: maxKeysText,
        },
      );
      return;
    }
    const token = query.get('continuation-token');
    const startAfter = token === null ? (query.get('start-after') ?? '') : decodeContinuationToken(token);
    if (startAfter === undefined) {
      respondWithError(ctx, 400, 'InvalidArgument', 'The continuation token provided is incorrect', {
        ArgumentName: 'continuation-token',
      });
      return;
    }
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(MAX_LIST_KEYS, Number(maxKeysText));
    const listing = ListingSchema.parse(
      await store.listObjects(bucket, { prefix, delimiter, startAfter, maxKeys }),
    );
    const lastKey = listing.objects.at(-1)?.key;
    const truncated = listing.isTruncated && lastKey !== undefined;
    // s3rver gathers every common prefix past the page too; those past its last key belong to later pages.
    const commonPrefixes = truncated
      ? listing.commonPrefixes.filter((commonPrefix) => commonPrefix < lastKey)
      : listing.commonPrefixes;
    const urlEncoded = query.get('encoding-type') === 'url';
    const encode = (text: string): string =>
      urlEncoded ? encodeURIComponent(text).replaceAll('%2F', '/') : text;
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = xmlDocument(
      xmlElement(
        'ListBucketResult',
        [
          xmlElement('Name', bucket),
          xmlElement('Prefix', encode(prefix)),
          ...(delimiter ? [xmlElement('Delimiter', encode(delimiter))] : []),
          ...(urlEncoded ? [xmlElement('EncodingType', 'url')] : []),
          xmlElement('MaxKeys', maxKeysText),
          xmlElement('KeyCount', String(listing.objects.length + commonPrefixes.length)),
          xmlElement('IsTruncated', String(truncated)),
          ...(token === null ? [] : [xmlElement('ContinuationToken', token)]),
          ...(query.has('start-after')
            ? [xmlElement('StartAfter', encode(query.get('start-after') ?? ''))]
            : []),
          ...(truncated ? [xmlElement('NextContinuationToken', encodeContinuationToken(lastKey))] : []),
          ...listing.objects.map((object) =>
            xmlElement('Contents', [
              xmlElement('Key', encode(object.key)),
              xmlElement('LastModified', new Date(object.metadata['last-modified']).toISOString()),
              xmlElement('ETag', object.metadata.etag),
              xmlElement('Size', String(object.metadata['content-length'])),
              xmlElement('StorageClass', 'STANDARD'),
            ]),
          ),
          ...commonPrefixes.map((commonPrefix) =>
            xmlElement('CommonPrefixes', [xmlElement('Prefix', encode(commonPrefix))]),
          ),
        ],
        ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"',
      ),
    );
  };
}

function encodeContinuationToken(startAfter: string): string {
  return Buffer.from(JSON.stringify(ContinuationTokenSchema.parse({ startAfter }))).toString('base64url');
}

/** The key a continuation token resumes after, or undefined for a token this store did not issue. */
function decodeContinuationToken(token: string): string | undefined {
  try {
    const parsed = ContinuationTokenSchema.safeParse(
      JSON.parse(Buffer.from(token, 'base64url').toString('utf8')),
    );
    return parsed.success ? parsed.data.startAfter : undefined;
  } catch {
    return undefined;
  }
}

async function drain(request: IncomingMessage): Promise<void> {
  request.resume();
  try {
    await finished(request);
  } catch {
    // The client went away; there is nobody left to answer.
  }
}

/** Answers with an S3-style XML error, which the AWS SDK turns into an exception named after `code`. */
function respondWithError(
  ctx: KoaContext,
  status: number,
  code: string,
  message: string,
  details: Record<string, string> = {},
): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = xmlDocument(
    xmlElement('Error', [
      xmlElement('Code', code),
      xmlElement('Message', message),
      ...Object.entries(details).map(([name, value]) => xmlElement(name, value)),
      xmlElement('RequestId', randomUUID()),
    ]),
  );
}

function xmlDocument(root: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}`;
}

function xmlElement(name: string, content: string | readonly string[], attributes = ''): string {
  const inner = typeof content === 'string' ? escapeXml(content) : content.join('');
  return `<${name}${attributes}>${inner}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Replaces s3rver's `putObject` with one that writes to a temporary file and renames it into place
 * once every byte is flushed, so readers see the old object or the whole new one, as on S3.
 */
function makeWritesAtomic(store: FilesystemStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    // The suffix keeps the temporary file out of s3rver's listings, which match `._S3rver_object` at the end.
    const partialPath = `${objectPath}.${randomUUID()}.partial`;
    await mkdir(dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(partialPath),
      );
      await rename(partialPath, objectPath);
    } catch (error) {
      await rm(partialPath, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/**
 * Makes listings survive concurrent writes: s3rver lists a directory and then stats each entry, and a
 * temporary file renamed in between makes the whole ListObjects fail with ENOENT.
 */
function retryVanishedListings(store: FilesystemStore): void {
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await listObjects(bucket, options);
      } catch (error) {
        if (attempt >= LIST_ATTEMPTS || !isVanishedFileError(error)) {
          throw error;
        }
      }
    }
  };
}

function isVanishedFileError(error: unknown): boolean {
  return error instanceof Error && Reflect.get(error, 'code') === 'ENOENT';
}

/**
 * Serialises async tasks per key, with one async-mutex `Mutex` per key
 * (https://github.com/DirtyHairy/async-mutex#mutex); tasks of different keys run concurrently. A key's mutex is
 * dropped once no task holds or awaits it, so the map does not grow with every upload id and object key ever locked.
 */
class KeyedMutex {
  readonly #locks = new Map<string, { readonly mutex: Mutex; users: number }>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let lock = this.#locks.get(key);
    if (!lock) {
      lock = { mutex: new Mutex(), users: 0 };
      this.#locks.set(key, lock);
    }
    lock.users++;
    try {
      return await lock.mutex.runExclusive(task);
    } finally {
      lock.users--;
      if (lock.users === 0) {
        this.#locks.delete(key);
      }
    }
  }
}
