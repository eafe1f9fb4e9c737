import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import {
  ChecksumMismatchError,
  InvalidManifestError,
  InvalidModelError,
  ModelNotFoundError,
  PublishAbortedError,
  VersionConflictError,
  VersionNotFoundError,
} from '../core/errors/model-errors.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { labelProblems } from '../core/manifest/label-problems.js';
import {
  type GoldenTensor,
  MANIFEST_SCHEMA_VERSION,
  type ModelManifest,
  ModelManifestSchema,
  ModelNameSchema,
  type PublishExtras,
  PublishExtrasSchema,
} from '../core/manifest/ModelManifest.js';
import {
  CLAIM_OBJECT,
  MANIFEST_OBJECT,
  MODEL_OBJECT,
  MODELS_PREFIX,
  modelPrefix,
  versionKey,
} from '../core/manifest/registry-layout.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import { type ModelSignature, readModelSignature } from '../publish/read-model-signature.js';

/** Models larger than this are uploaded in parts (S3 takes up to 5 GiB in one PUT; parts retry and run in parallel). */
export const MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024;

/** Size of each part of a multipart upload; S3's minimum is 5 MiB. */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/** Parts of one multipart upload in flight at once. */
export const MULTIPART_QUEUE_SIZE = 4;

/** Version numbers a publish tries to claim before giving up; each failed claim means another publish won that number. */
export const MAX_VERSION_CLAIM_ATTEMPTS = 32;

/** Keys per ListObjectsV2 page; S3 returns at most 1000. */
export const LIST_PAGE_SIZE = 1000;

/** Size of each range a model is fetched in; models up to this size take one request. */
export const FETCH_PART_BYTES = 8 * 1024 * 1024;

/** Ranges of one model fetched at once. */
export const FETCH_CONCURRENCY = 4;

/** Content type of the model bytes. */
const ONNX_CONTENT_TYPE = 'application/octet-stream';

/** Content type of manifests and claims. */
const JSON_CONTENT_TYPE = 'application/json';

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /** Client for the bucket's region (or the local store). */
  readonly client: S3Client;
  /** Bucket holding `models/NAME/VERSION/...`. */
  readonly bucket: string;
  /**
   * Model size above which publish uploads in parts.
   * @default MULTIPART_THRESHOLD_BYTES
   */
  readonly multipartThresholdBytes?: number;
  /**
   * Keys asked for per listing page.
   * @default LIST_PAGE_SIZE
   */
  readonly listPageSize?: number;
}

/** What {@link ModelRegistry.publish} takes. */
export interface PublishInput {
  /** Model name; must match `ModelNameSchema`. */
  readonly name: string;
  /** The ONNX bytes, or the path of an ONNX file. */
  readonly model: Uint8Array | string;
  /** Labels, golden examples and description stored in the manifest. */
  readonly extras?: PublishExtras;
  /**
   * Creation time recorded in the manifest.
   * @default the current time
   */
  readonly createdAt?: Date;
  /** Called as model bytes reach the store; `loaded` never decreases and ends at `total`. */
  readonly onProgress?: (loaded: number, total: number) => void;
  /**
   * Stops the publish when it fires: a multipart upload in flight is aborted (its parts deleted) and no manifest is
   * written. The claimed number stays a gap, as with any publish that dies after claiming.
   */
  readonly signal?: AbortSignal;
}

/** A version's manifest with the bytes it describes, verified against its sha256 and size. */
export interface FetchedModel {
  /** The version's manifest. */
  readonly manifest: ModelManifest;
  /** The ONNX bytes; their sha256 and size match the manifest. */
  readonly bytes: Uint8Array;
}

/** One published version as {@link ModelRegistry.readManifests} reads it: its manifest, or why it cannot be read. */
export type VersionManifest =
  | { readonly version: number; readonly manifest: ModelManifest; readonly error?: undefined }
  | { readonly version: number; readonly manifest?: undefined; readonly error: InvalidManifestError };

/** What a claim object records: who reserved the version number, when, and for which bytes. */
const VersionClaimSchema = z.object({
  publisher: z.string(),
  claimedAt: z.string().datetime(),
  sha256: z.string(),
});
type VersionClaim = z.infer<typeof VersionClaimSchema>;

/** A manifest before its version number is known; validated before any object is written. */
const ManifestDraftSchema = ModelManifestSchema.omit({ version: true });
type ManifestDraft = z.infer<typeof ManifestDraftSchema>;

/** `models/NAME/VERSION/FILE`, with a canonical version number (no sign, no leading zeros). */
const VERSION_KEY_PATTERN = /^models\/([^/]+)\/([1-9][0-9]{0,15})\/([^/]+)$/;

/**
 * The model registry: immutable, checksummed ONNX model versions in S3 under `models/NAME/VERSION/`.
 *
 * Publishing allocates version numbers with conditional writes (`If-None-Match: *`) so two publishes
 * of one model never get the same version, uploads the bytes, and writes the manifest last: a version
 * exists only once its manifest does, and is never overwritten.
 *
 * Errors of the store itself (unreachable, access denied, throttled) propagate unchanged, with their
 * cause; the HTTP layer answers them with 503.
 *
 * @example
 * const registry = new ModelRegistry({ client: new S3Client({}), bucket: 'my-models' });
 * const manifest = await registry.publish({ name: 'iris', model: 'iris.onnx' });
 * const { bytes } = await registry.fetchModel('iris', manifest.version);
 */
export class ModelRegistry {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #multipartThresholdBytes: number;
  readonly #listPageSize: number;

  constructor(props: ModelRegistryProps) {
    this.#client = props.client;
    this.#bucket = props.bucket;
    this.#multipartThresholdBytes = props.multipartThresholdBytes ?? MULTIPART_THRESHOLD_BYTES;
    this.#listPageSize = props.listPageSize ?? LIST_PAGE_SIZE;
  }

  /** Name of the bucket this registry lives in. */
  get bucket(): string {
    return this.#bucket;
  }

  /**
   * Publishes a model as the next version of `name` and returns its manifest.
   *
   * Everything is checked before anything is written: the name, the ONNX graph (a file that is not a
   * model throws {@link InvalidModelError}), the extras, and that golden examples name real inputs and
   * outputs with fitting shapes. Then the next version number (one above every number in use, claimed
   * or published) is claimed with a conditional write of `models/NAME/V/.claim`; a publish that loses
   * the race moves on to the next number, and gives up with {@link VersionConflictError} after
   * {@link MAX_VERSION_CLAIM_ATTEMPTS}. The bytes are uploaded (in parts above the multipart threshold),
   * and the manifest is written last, also conditionally: that write is the commit.
   *
   * A publish that dies between claim and manifest leaves its number claimed but unpublished: it is
   * never listed or served, and later publishes skip it, so version numbers can have gaps.
   */
  async publish(input: PublishInput): Promise<ModelManifest> {
    const name = parseModelName(input.name);
    const bytes = typeof input.model === 'string' ? await readFile(input.model) : input.model;
    const signature = readModelSignature(bytes);
    const extras = parseExtras(input.extras, signature);
    const sha256 = sha256Hex(bytes);
    const createdAt = (input.createdAt ?? new Date()).toISOString();
    const draft = parseDraft({
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      name,
      sha256,
      size: bytes.byteLength,
      createdAt,
      inputs: signature.inputs,
      outputs: signature.outputs,
      ...extras,
      onnx: onnxMetadata(signature),
    });
    const version = await this.#claimNextVersion(name, {
      publisher: `${hostname()}/${process.pid}/${randomUUID()}`,
      claimedAt: new Date().toISOString(),
      sha256,
    });
    await this.#uploadModel(name, version, bytes, input.onProgress, input.signal);
    throwIfAborted(name, version, input.signal);
    const manifest: ModelManifest = { ...draft, version };
    const committed = await this.#putIfAbsent(
      versionKey(name, version, MANIFEST_OBJECT),
      JSON.stringify(manifest, null, 2),
      JSON_CONTENT_TYPE,
    );
    if (!committed) {
      throw new VersionConflictError(
        `model "${name}" version ${version} got a manifest from another publisher after this one claimed it; nothing was overwritten`,
      );
    }
    return manifest;
  }

  /** Names of the models with at least one published version, sorted. */
  async listModels(): Promise<string[]> {
    const names = new Set<string>();
    for await (const key of this.#listKeys(MODELS_PREFIX)) {
      const parsed = parseVersionKey(key);
      if (parsed?.file === MANIFEST_OBJECT) {
        names.add(parsed.name);
      }
    }
    return [...names].sort();
  }

  /** Published versions of a model, ascending; throws {@link ModelNotFoundError} when it has none. */
  async listVersions(name: string): Promise<number[]> {
    const model = ModelNameSchema.safeParse(name);
    if (!model.success) {
      throw new ModelNotFoundError(name);
    }
    const versions = new Set<number>();
    for await (const key of this.#listKeys(modelPrefix(model.data))) {
      const parsed = parseVersionKey(key);
      if (parsed?.name === model.data && parsed.file === MANIFEST_OBJECT) {
        versions.add(parsed.version);
      }
    }
    if (versions.size === 0) {
      throw new ModelNotFoundError(name);
    }
    return [...versions].sort((a, b) => a - b);
  }

  /**
   * Every published version of a model with its manifest, ascending. A version whose stored manifest is corrupt
   * comes with its {@link InvalidManifestError} instead, so one bad version does not hide the others; store
   * errors propagate. Throws {@link ModelNotFoundError} when the model has no version.
   */
  async readManifests(name: string): Promise<VersionManifest[]> {
    const versions = await this.listVersions(name);
    return Promise.all(
      versions.map(async (version): Promise<VersionManifest> => {
        try {
          return { version, manifest: await this.getManifest(name, version) };
        } catch (error) {
          if (error instanceof InvalidManifestError) return { version, error };
          throw error;
        }
      }),
    );
  }

  /** The highest published version of a model; throws {@link ModelNotFoundError} when it has none. */
  async latestVersion(name: string): Promise<number> {
    const versions = await this.listVersions(name);
    return Math.max(...versions);
  }

  /**
   * The manifest of one version, parsed against the schema.
   *
   * Throws {@link ModelNotFoundError} or {@link VersionNotFoundError} when it does not exist, and
   * {@link InvalidManifestError} when the stored manifest does not parse or belongs elsewhere.
   */
  async getManifest(name: string, version: number): Promise<ModelManifest> {
    if (!ModelNameSchema.safeParse(name).success) {
      throw new ModelNotFoundError(name);
    }
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new VersionNotFoundError(name, version);
    }
    const key = versionKey(name, version, MANIFEST_OBJECT);
    const bytes = await this.#getObject(key);
    if (!bytes) {
      // Tell a missing model from a missing version; listVersions throws ModelNotFoundError for the former.
      await this.listVersions(name);
      throw new VersionNotFoundError(name, version);
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new InvalidManifestError(`s3://${this.#bucket}/${key} is not JSON`, { cause: error });
    }
    const parsed = ModelManifestSchema.safeParse(json);
    if (!parsed.success) {
      throw new InvalidManifestError(
        `s3://${this.#bucket}/${key} does not match the manifest schema: ${z.prettifyError(parsed.error)}`,
        {
          cause: parsed.error,
        },
      );
    }
    if (parsed.data.name !== name || parsed.data.version !== version) {
      throw new InvalidManifestError(
        `s3://${this.#bucket}/${key} describes model "${parsed.data.name}" version ${parsed.data.version}, not "${name}" version ${version}`,
      );
    }
    return parsed.data;
  }

  /**
   * A version's manifest and model bytes, after checking the bytes' size and sha256 against the manifest.
   *
   * Built for cold starts of big models: the first range of the bytes is requested together with the manifest,
   * the rest in {@link FETCH_PART_BYTES} ranges, {@link FETCH_CONCURRENCY} at a time, each written straight into
   * one buffer of the manifest's size (no concatenation copy), and hashed as soon as the bytes before it are in.
   *
   * Throws {@link ChecksumMismatchError} when they differ (or the bytes are missing): unverified bytes
   * are never returned.
   */
  async fetchModel(name: string, version: number): Promise<FetchedModel> {
    const key = versionKey(name, version, MODEL_OBJECT);
    const first = this.#getRange(key, 0, FETCH_PART_BYTES);
    first.catch(() => undefined);
    let manifest: ModelManifest;
    try {
      manifest = await this.getManifest(name, version);
    } catch (error) {
      first.then(
        (part) => discard(part?.body),
        () => undefined,
      );
      throw error;
    }
    const mismatch = (actual: string) => new ChecksumMismatchError(name, version, manifest.sha256, actual);
    const firstPart = await first;
    if (!firstPart) throw mismatch('missing (no model.onnx object)');
    if (firstPart.total !== manifest.size) {
      discard(firstPart.body);
      throw mismatch(`an object of ${firstPart.total} bytes`);
    }
    const size = manifest.size;
    const bytes = new Uint8Array(size);
    const hash = createHash('sha256');
    const parts = Math.max(1, Math.ceil(size / FETCH_PART_BYTES));
    const filled = new Array<number>(parts).fill(0);
    let hashed = 0;
    // Hashes every byte that has arrived in order so far; parts finish out of order, the hash cannot.
    const advance = (): void => {
      while (hashed < size) {
        const part = Math.floor(hashed / FETCH_PART_BYTES);
        const end = part * FETCH_PART_BYTES + (filled[part] as number);
        if (end <= hashed) return;
        hash.update(bytes.subarray(hashed, end));
        hashed = end;
      }
    };
    const readPart = async (part: number, body: AsyncIterable<Uint8Array>): Promise<void> => {
      const start = part * FETCH_PART_BYTES;
      const end = Math.min(size, start + FETCH_PART_BYTES);
      let offset = start;
      for await (const chunk of body) {
        if (offset + chunk.byteLength > end) throw mismatch('more bytes than the manifest says');
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
        filled[part] = offset - start;
        advance();
      }
      if (offset !== end)
        throw mismatch(`${offset - start} bytes in the range at ${start}, expected ${end - start}`);
    };
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next < parts) {
        const part = next++;
        const range = await this.#getRange(key, part * FETCH_PART_BYTES, FETCH_PART_BYTES);
        if (!range) throw mismatch('missing (no model.onnx object)');
        await readPart(part, range.body);
      }
    };
    await Promise.all([
      readPart(0, firstPart.body),
      ...Array.from({ length: Math.min(FETCH_CONCURRENCY, parts - 1) }, worker),
    ]);
    const actual = hash.digest('hex');
    if (actual !== manifest.sha256) throw mismatch(`${actual}, ${size} bytes`);
    return { manifest, bytes };
  }

  /** Claims the lowest free version number above every number in use; see {@link publish}. */
  async #claimNextVersion(name: string, claim: VersionClaim): Promise<number> {
    const body = JSON.stringify(VersionClaimSchema.parse(claim));
    let candidate = 0;
    for (let attempt = 1; attempt <= MAX_VERSION_CLAIM_ATTEMPTS; attempt++) {
      // List again after each lost race: several numbers may have been taken meanwhile.
      candidate = Math.max(candidate, await this.#highestVersionInUse(name)) + 1;
      if (await this.#putIfAbsent(versionKey(name, candidate, CLAIM_OBJECT), body, JSON_CONTENT_TYPE)) {
        return candidate;
      }
    }
    throw new VersionConflictError(
      `model "${name}": lost the race for a version number ${MAX_VERSION_CLAIM_ATTEMPTS} times; too many concurrent publishes, try again`,
    );
  }

  /** The highest version number with any object (claim, bytes or manifest); 0 for a new model. */
  async #highestVersionInUse(name: string): Promise<number> {
    let highest = 0;
    for await (const key of this.#listKeys(modelPrefix(name))) {
      const parsed = parseVersionKey(key);
      if (parsed?.name === name) {
        highest = Math.max(highest, parsed.version);
      }
    }
    return highest;
  }

  async #uploadModel(
    name: string,
    version: number,
    bytes: Uint8Array,
    onProgress: PublishInput['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const key = versionKey(name, version, MODEL_OBJECT);
    const total = bytes.byteLength;
    let reported = -1;
    const report = (loaded: number): void => {
      // Parts finish out of order; callers get a count that only grows.
      if (onProgress && loaded > reported) {
        reported = loaded;
        onProgress(loaded, total);
      }
    };
    let written: boolean;
    if (total > this.#multipartThresholdBytes) {
      const upload = new Upload({
        client: this.#client,
        partSize: MULTIPART_PART_BYTES,
        queueSize: MULTIPART_QUEUE_SIZE,
        params: {
          Bucket: this.#bucket,
          Key: key,
          Body: bytes,
          ContentType: ONNX_CONTENT_TYPE,
          // Goes to CompleteMultipartUpload: the bytes of a version are never replaced either.
          IfNoneMatch: '*',
        },
      });
      upload.on('httpUploadProgress', (progress) => report(Math.min(progress.loaded ?? 0, total)));
      // Upload deletes the parts it sent (AbortMultipartUpload) when a part fails; when it is aborted it answers at
      // once and cleans up later, so the abort is sent here too, before the publish reports that it stopped.
      const abort = (): void => void upload.abort();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        throwIfAborted(name, version, signal);
        written = await ifAbsent(upload.done());
      } catch (error) {
        if (!signal?.aborted) throw error;
        if (upload.uploadId) {
          await this.#client.send(
            new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: upload.uploadId }),
          );
        }
        throwIfAborted(name, version, signal);
        throw error;
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    } else {
      written = await this.#putIfAbsent(key, bytes, ONNX_CONTENT_TYPE);
    }
    if (!written) {
      throw new VersionConflictError(
        `model "${name}" version ${version} got model bytes from another publisher after this one claimed it; nothing was overwritten`,
      );
    }
    report(total);
  }

  /** Writes an object only if its key is free; false when it already exists. */
  async #putIfAbsent(key: string, body: Uint8Array | string, contentType: string): Promise<boolean> {
    return ifAbsent(
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
        }),
      ),
    );
  }

  /** An object's bytes, or undefined when the key does not exist. */
  async #getObject(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (!response.Body) {
        return new Uint8Array();
      }
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (isNoSuchKey(error)) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * A byte range of an object as a stream, with the object's total size (from Content-Range); undefined when the
   * key does not exist.
   */
  async #getRange(
    key: string,
    start: number,
    length: number,
  ): Promise<{ total: number; body: AsyncIterable<Uint8Array> } | undefined> {
    try {
      const response = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Range: `bytes=${start}-${start + length - 1}`,
        }),
      );
      const total = Number(/\/(\d+)$/.exec(response.ContentRange ?? '')?.[1] ?? response.ContentLength ?? 0);
      const body = (response.Body ?? emptyBody()) as AsyncIterable<Uint8Array>;
      return { total, body };
    } catch (error) {
      if (isNoSuchKey(error)) {
        return undefined;
      }
      // An empty object has no byte 0: S3 answers 416 InvalidRange.
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) {
        return { total: 0, body: emptyBody() };
      }
      throw error;
    }
  }

  /** Every key under a prefix, following continuation tokens. */
  async *#listKeys(prefix: string): AsyncGenerator<string> {
    const pages = paginateListObjectsV2(
      { client: this.#client, pageSize: this.#listPageSize },
      { Bucket: this.#bucket, Prefix: prefix },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (object.Key) {
          yield object.Key;
        }
      }
    }
  }
}

/** Throws {@link PublishAbortedError} once the publish's signal has fired. */
function throwIfAborted(name: string, version: number, signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw new PublishAbortedError(
    `publishing model "${name}" was stopped before version ${version} was complete: its uploaded parts were deleted and nothing was published (the number ${version} stays unused)`,
    { cause: signal.reason },
  );
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/** Closes a response stream that will not be read, so its connection is not held open. */
function discard(body: AsyncIterable<Uint8Array> | undefined): void {
  const stream = body as { destroy?: () => void } | undefined;
  stream?.destroy?.();
}

/** Resolves true once a conditional write succeeded, false when S3 refused it because the key exists. */
async function ifAbsent(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isKeyTaken(error)) {
      return false;
    }
    throw error;
  }
}

/**
 * S3 answers a write with `If-None-Match: *` to an existing key with 412 PreconditionFailed, and one that
 * races another conditional write of the same key with 409 ConditionalRequestConflict.
 */
function isKeyTaken(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) {
    return false;
  }
  return (
    error.name === 'PreconditionFailed' ||
    error.name === 'ConditionalRequestConflict' ||
    error.$metadata.httpStatusCode === 412
  );
}

function isNoSuchKey(error: unknown): boolean {
  // Only the key: a missing bucket (also a 404) is a broken deployment and propagates.
  return error instanceof S3ServiceException && error.name === 'NoSuchKey';
}

function parseVersionKey(key: string): { name: string; version: number; file: string } | undefined {
  const match = VERSION_KEY_PATTERN.exec(key);
  if (!match?.[1] || !match[2] || !match[3]) {
    return undefined;
  }
  const version = Number(match[2]);
  if (!ModelNameSchema.safeParse(match[1]).success || !Number.isSafeInteger(version)) {
    return undefined;
  }
  return { name: match[1], version, file: match[3] };
}

function parseModelName(name: string): string {
  const parsed = ModelNameSchema.safeParse(name);
  if (!parsed.success) {
    throw new InvalidRequestError(
      `invalid model name "${name}": ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  }
  return parsed.data;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function onnxMetadata(signature: ModelSignature): ModelManifest['onnx'] {
  const metadata = {
    ...(signature.irVersion === undefined ? {} : { irVersion: signature.irVersion }),
    ...(signature.producerName === undefined ? {} : { producerName: signature.producerName }),
    ...(signature.producerVersion === undefined ? {} : { producerVersion: signature.producerVersion }),
    ...(signature.opsetVersion === undefined ? {} : { opsetVersion: signature.opsetVersion }),
  };
  return Object.keys(metadata).length === 0 ? undefined : metadata;
}

function parseDraft(draft: unknown): ManifestDraft {
  const parsed = ManifestDraftSchema.safeParse(draft);
  if (!parsed.success) {
    throw new InvalidModelError(
      `the model cannot be described by a manifest: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/** Parses the extras and checks every golden example against the graph's signature. */
function parseExtras(extras: PublishExtras | undefined, signature: ModelSignature): PublishExtras {
  const parsed = PublishExtrasSchema.safeParse(extras ?? {});
  if (!parsed.success) {
    throw new InvalidModelError(`invalid publish extras: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const problems = (parsed.data.goldenExamples ?? []).flatMap((example, index) => [
    ...checkGoldenTensors(`golden example ${index + 1}: input`, example.inputs, signature.inputs, true),
    ...checkGoldenTensors(`golden example ${index + 1}: output`, example.outputs, signature.outputs, false),
  ]);
  if (problems.length > 0) {
    throw new InvalidModelError(
      `golden examples do not fit the model's signature:\n  ${problems.join('\n  ')}`,
    );
  }
  const labels = parsed.data.labels ? labelProblems(parsed.data.labels, signature.outputs) : [];
  if (labels.length > 0) {
    throw new InvalidModelError(`the labels do not fit the model's outputs: ${labels.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Problems of one side of a golden example: unknown or repeated names, datatypes or shapes the graph
 * rejects, data counts that do not match the shape, and (for inputs) missing tensors.
 */
function checkGoldenTensors(
  what: string,
  tensors: readonly GoldenTensor[],
  specs: readonly TensorSpec[],
  requireAll: boolean,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const tensor of tensors) {
    const spec = specs.find((candidate) => candidate.name === tensor.name);
    if (!spec) {
      problems.push(
        `${what} "${tensor.name}" is not in the graph (it has ${specs.map((s) => `"${s.name}"`).join(', ')})`,
      );
      continue;
    }
    if (seen.has(tensor.name)) {
      problems.push(`${what} "${tensor.name}" is given twice`);
    }
    seen.add(tensor.name);
    if (tensor.datatype && tensor.datatype !== spec.datatype) {
      problems.push(
        `${what} "${tensor.name}" has datatype ${tensor.datatype}, the graph says ${spec.datatype}`,
      );
    }
    const shapeFits =
      tensor.shape.length === spec.shape.length &&
      spec.shape.every((dim, axis) => dim === -1 || dim === tensor.shape[axis]);
    if (!shapeFits) {
      problems.push(
        `${what} "${tensor.name}" has shape [${tensor.shape}], the graph says [${spec.shape}] (-1 is any size)`,
      );
    }
    const expected = tensor.shape.reduce((count, dim) => count * dim, 1);
    const actual = tensor.data.flat(Number.POSITIVE_INFINITY).length;
    if (actual !== expected) {
      problems.push(
        `${what} "${tensor.name}" has ${actual} values, its shape [${tensor.shape}] needs ${expected}`,
      );
    }
  }
  if (requireAll) {
    for (const spec of specs) {
      if (!seen.has(spec.name)) {
        problems.push(`${what} "${spec.name}" is missing; every graph input needs a value`);
      }
    }
  }
  return problems;
}
