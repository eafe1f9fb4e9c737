import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod';
import { describeIssues } from '../core/errors/describe-issues.js';
import {
  ChecksumMismatchError,
  InvalidManifestError,
  InvalidModelError,
  ModelNotFoundError,
  PublishAbortedError,
  VersionConflictError,
  VersionNotFoundError,
} from '../core/errors/model-errors.js';
import { goldenExampleProblems } from '../core/manifest/golden-example-problems.js';
import { labelProblems } from '../core/manifest/label-problems.js';
import {
  MANIFEST_SCHEMA_VERSION,
  type ModelManifest,
  ModelManifestSchema,
  ModelNameSchema,
  type PublishExtras,
  PublishExtrasSchema,
  type ReferenceItem,
  ReferenceItemSchema,
} from '../core/manifest/ModelManifest.js';
import type { ModelSignature } from '../core/manifest/ModelSignature.js';
import { type Retirement, RetirementSchema } from '../core/manifest/Retirement.js';
import {
  CLAIM_OBJECT,
  MANIFEST_OBJECT,
  MODEL_OBJECT,
  MODELS_PREFIX,
  modelPrefix,
  REFERENCE_OBJECT,
  RETIRED_OBJECT,
  versionKey,
} from '../core/manifest/registry-layout.js';
import type { ValueHistogram } from '../core/stats/value-histogram.js';
import { stringifyJson } from '../core/tensor/encode-tensor.js';
import { parseJson } from '../core/tensor/parse-json.js';
import type { ObjectStore } from './ObjectStore.js';
import { readObjectRanges } from './read-object-ranges.js';

/** Version numbers a publish tries to claim before giving up; each failed claim means another publish won that number. */
export const MAX_VERSION_CLAIM_ATTEMPTS = 32;

/** Size of each range a model is fetched in; models up to this size take one request. */
export const FETCH_PART_BYTES = 8 * 1024 * 1024;

/**
 * Ranges of one model fetched at once: "you can use concurrent connections to Amazon S3 to fetch different byte
 * ranges from within the same object" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html).
 */
export const FETCH_CONCURRENCY = 4;

/**
 * How long a version's bytes without a manifest are left alone, counted from the claim of its number: younger ones
 * may belong to a publish still uploading or about to write its manifest. One hour covers a 2 GB model (ONNX's
 * limit) uploaded at under 1 MB/s, and clock skew between the publisher and the machine that sweeps.
 */
export const UNPUBLISHED_GRACE_MS = 60 * 60 * 1000;

/** Content type of the model bytes. */
const ONNX_CONTENT_TYPE = 'application/octet-stream';

/** Content type of manifests and claims. */
const JSON_CONTENT_TYPE = 'application/json';

/** Content type of reference sets: JSON lines. */
const JSONL_CONTENT_TYPE = 'application/jsonl';

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /** Where `models/NAME/VERSION/...` live: the registry bucket. */
  readonly store: ObjectStore;
  /**
   * The clock of claims and of manifests' `createdAt`, epoch milliseconds (tests pass their own).
   * @default Date.now
   */
  readonly now?: () => number;
}

/** What {@link ModelRegistry.publish} takes. */
export interface PublishInput {
  /** Model name; must match `ModelNameSchema`. */
  readonly name: string;
  /** The ONNX bytes. */
  readonly bytes: Uint8Array;
  /** What the ONNX graph says it takes and gives (read at publish time; see lib/publish). */
  readonly signature: ModelSignature;
  /** Labels, golden examples and description stored in the manifest. */
  readonly extras?: PublishExtras;
  /**
   * The version's reference input set, stored beside the bytes (`reference.jsonl`, checksummed in the manifest),
   * with the classes and the numeric outputs' histograms the version gave it (the drift baselines). @default none
   */
  readonly reference?: {
    readonly items: readonly ReferenceItem[];
    readonly classes?: Record<string, number>;
    readonly outputs?: Record<string, ValueHistogram>;
  };
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

/** What {@link ModelRegistry.publishOnce} did: the version's manifest, and whether it was there already. */
export interface PublishOutcome {
  /** The manifest of the version published, or of the newest version when that was this very publish already. */
  readonly manifest: ModelManifest;
  /** True when nothing was written: the newest version already had these bytes, extras and reference set. */
  readonly alreadyPublished: boolean;
}

/** A version number with bytes but no manifest, as {@link ModelRegistry.sweepUnpublished} found it. */
export interface UnpublishedVersion {
  readonly model: string;
  readonly version: number;
  /** The objects holding its bytes (`model.onnx`, `reference.jsonl`); the claim is never among them. */
  readonly keys: readonly string[];
  /** When its number was claimed, as the claim says; undefined when it has no readable claim. */
  readonly claimedAt?: string;
}

/** Why {@link ModelRegistry.sweepUnpublished} left an unpublished version's bytes where they are. */
export const KeptReason = {
  /** Claimed less than the grace period ago: its publish may still be uploading or about to commit. */
  YOUNG: 'young',
  /** No readable claim says when its upload began, so its age is unknown. */
  UNDATED: 'undated',
  /** Its manifest appeared while the sweep ran: it is a version now. */
  PUBLISHED: 'published',
} as const;
/** One reason of {@link KeptReason}. */
export type KeptReason = (typeof KeptReason)[keyof typeof KeptReason];

/** What {@link ModelRegistry.sweepUnpublished} did. */
export interface SweepReport {
  /** Versions whose bytes were deleted (or, with `dryRun`, would be). */
  readonly removed: readonly UnpublishedVersion[];
  /** Versions whose bytes were left, and why. */
  readonly kept: readonly (UnpublishedVersion & { readonly reason: KeptReason })[];
}

/** What {@link ModelRegistry.sweepUnpublished} takes. */
export interface SweepOptions {
  /** The time to judge ages by, epoch milliseconds. @default the registry's clock */
  readonly now?: number;
  /** Bytes whose claim is younger than this are kept. @default UNPUBLISHED_GRACE_MS */
  readonly graceMs?: number;
  /** Report what would be removed, and remove nothing. @default false */
  readonly dryRun?: boolean;
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
 * The model registry: immutable, checksummed ONNX model versions under `models/NAME/VERSION/` of an object store.
 *
 * Publishing allocates version numbers with conditional writes (put-if-absent) so two publishes of one model never
 * get the same version, uploads the bytes, and writes the manifest last: a version exists only once its manifest
 * does, and is never overwritten. The registry never reads ONNX graphs: publishing hands it the signature.
 *
 * Errors of the store itself (unreachable, access denied, throttled) propagate unchanged, with their cause; the
 * HTTP edge answers them with 503.
 *
 * @example
 * const registry = new ModelRegistry({ store: new S3ObjectStore({ client: new S3Client({}), bucket: 'my-models' }) });
 * const { bytes } = await registry.fetchModel('iris', 3);
 */
export class ModelRegistry {
  readonly #store: ObjectStore;
  readonly #now: () => number;

  constructor(props: ModelRegistryProps) {
    this.#store = props.store;
    this.#now = props.now ?? Date.now;
  }

  /** The store this registry lives in. */
  get store(): ObjectStore {
    return this.#store;
  }

  /**
   * Publishes a model as the next version of `name` and returns its manifest.
   *
   * Everything is checked before anything is written: the name, the extras, that golden examples name real inputs
   * and outputs with fitting shapes, and that labels fit the outputs ({@link InvalidModelError} otherwise). Then
   * the next version number (one above every number in use, claimed or published) is claimed with a conditional
   * write of `models/NAME/V/.claim`; a publish that loses the race moves on to the next number, and gives up with
   * {@link VersionConflictError} after {@link MAX_VERSION_CLAIM_ATTEMPTS}. The bytes are uploaded, and the
   * manifest is written last, also conditionally: that write is the commit.
   *
   * A publish that dies between claim and manifest leaves its number claimed but unpublished: it is
   * never listed or served, and later publishes skip it, so version numbers can have gaps; its bytes are removed
   * by {@link sweepUnpublished} once the grace period is over.
   */
  async publish(input: PublishInput): Promise<ModelManifest> {
    return (await this.#publish(input, false)).manifest;
  }

  /**
   * Publishes like {@link publish}, unless the newest published version of `name` already is this publish: the
   * same bytes (sha256 and size), labels, description, golden examples and reference set. Then it writes nothing
   * and returns that version with `alreadyPublished`. A publish retried after its answer was lost (the process or
   * the connection died after the manifest was written) so gets the version it made, not another one.
   *
   * Only the newest version is compared: a retry finds its own version there unless another publish of the model
   * came in between, and an older version with these bytes is one a user may deliberately publish again on top.
   * A retired newest version is not reused either: its bytes published again are a new version.
   *
   * @example
   * const { manifest, alreadyPublished } = await registry.publishOnce({ name: 'iris', bytes, signature });
   */
  async publishOnce(input: PublishInput): Promise<PublishOutcome> {
    return this.#publish(input, true);
  }

  async #publish(input: PublishInput, reuseNewest: boolean): Promise<PublishOutcome> {
    const name = parseModelName(input.name);
    const { bytes, signature } = input;
    const extras = parseExtras(input.extras, signature);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const reference = input.reference ? referenceText(input.reference.items) : undefined;
    const draft = parseDraft({
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      name,
      sha256,
      size: bytes.byteLength,
      createdAt: (input.createdAt ?? new Date(this.#now())).toISOString(),
      inputs: signature.inputs,
      outputs: signature.outputs,
      ...extras,
      ...(reference && input.reference
        ? {
            reference: {
              sha256: createHash('sha256').update(reference).digest('hex'),
              size: Buffer.byteLength(reference),
              items: input.reference.items.length,
              withExpected: input.reference.items.filter((item) => item.expected !== undefined).length,
              ...(input.reference.classes ? { classes: input.reference.classes } : {}),
              ...(input.reference.outputs ? { outputs: input.reference.outputs } : {}),
            },
          }
        : {}),
      onnx: onnxMetadata(signature),
    });
    if (reuseNewest) {
      const newest = await this.#newestManifest(name);
      // A retired version is never handed back: publishing its bytes again makes a new, deployable version.
      if (newest && isSamePublish(newest, draft) && !(await this.retirement(name, newest.version))) {
        return { manifest: newest, alreadyPublished: true };
      }
    }
    const version = await this.#claimNextVersion(name, {
      publisher: `${hostname()}/${process.pid}/${randomUUID()}`,
      claimedAt: new Date(this.#now()).toISOString(),
      sha256,
    });
    await this.#uploadModel(name, version, bytes, input.onProgress, input.signal);
    await this.#throwIfAbortedAfterUpload(name, version, input.signal);
    if (reference !== undefined) {
      const written = await this.#store.putIfAbsent(versionKey(name, version, REFERENCE_OBJECT), reference, {
        contentType: JSONL_CONTENT_TYPE,
      });
      if (!written) {
        throw new VersionConflictError(
          `model "${name}" version ${version} got a reference set from another publisher after this one claimed it; nothing was overwritten`,
        );
      }
    }
    const manifest: ModelManifest = { ...draft, version };
    const text = JSON.stringify(manifest, null, 2);
    const key = versionKey(name, version, MANIFEST_OBJECT);
    if (!(await this.#store.putIfAbsent(key, text, { contentType: JSON_CONTENT_TYPE }))) {
      // The SDK retries a write whose answer was lost; the retry then finds this publish's own manifest there.
      const stored = await this.#store.get(key);
      if (!stored || new TextDecoder().decode(stored) !== text) {
        throw new VersionConflictError(
          `model "${name}" version ${version} got a manifest from another publisher after this one claimed it; nothing was overwritten`,
        );
      }
    }
    return { manifest, alreadyPublished: false };
  }

  /**
   * Deletes the bytes (`model.onnx`, `reference.jsonl`) of version numbers that have no manifest and were claimed
   * longer than the grace period ago: what publishes killed before their commit left behind. A version with a
   * manifest is never touched, nor bytes claimed within the grace period (their publish may still be in flight),
   * nor bytes without a readable claim (their age is unknown). Claims stay, so the numbers remain gaps and are
   * never reused. Each version's manifest is looked for once more just before its bytes are deleted.
   *
   * @example
   * const { removed } = await registry.sweepUnpublished({ graceMs: UNPUBLISHED_GRACE_MS });
   */
  async sweepUnpublished(options: SweepOptions = {}): Promise<SweepReport> {
    const now = options.now ?? this.#now();
    const graceMs = options.graceMs ?? UNPUBLISHED_GRACE_MS;
    const folders = new Map<string, { model: string; version: number; files: Set<string> }>();
    for await (const key of this.#store.list(MODELS_PREFIX)) {
      const parsed = parseVersionKey(key);
      if (!parsed) continue;
      const id = `${parsed.name}/${parsed.version}`;
      const folder = folders.get(id) ?? { model: parsed.name, version: parsed.version, files: new Set() };
      folder.files.add(parsed.file);
      folders.set(id, folder);
    }
    const removed: UnpublishedVersion[] = [];
    const kept: (UnpublishedVersion & { reason: KeptReason })[] = [];
    for (const { model, version, files } of folders.values()) {
      if (files.has(MANIFEST_OBJECT)) continue;
      const keys = UNPUBLISHED_BYTES.filter((file) => files.has(file)).map((file) =>
        versionKey(model, version, file),
      );
      if (keys.length === 0) continue;
      const claim = files.has(CLAIM_OBJECT) ? await this.#readClaim(model, version) : undefined;
      const found = { model, version, keys, ...(claim ? { claimedAt: claim.claimedAt } : {}) };
      if (!claim) {
        kept.push({ ...found, reason: KeptReason.UNDATED });
      } else if (now - Date.parse(claim.claimedAt) < graceMs) {
        kept.push({ ...found, reason: KeptReason.YOUNG });
      } else if (await this.#store.get(versionKey(model, version, MANIFEST_OBJECT))) {
        kept.push({ ...found, reason: KeptReason.PUBLISHED });
      } else {
        if (!options.dryRun) for (const key of keys) await this.#store.delete(key);
        removed.push(found);
      }
    }
    const order = (a: UnpublishedVersion, b: UnpublishedVersion) =>
      a.model === b.model ? a.version - b.version : a.model < b.model ? -1 : 1;
    return { removed: removed.sort(order), kept: kept.sort(order) };
  }

  /** Names of the models with at least one published version, sorted. */
  async listModels(): Promise<string[]> {
    const names = new Set<string>();
    for await (const key of this.#store.list(MODELS_PREFIX)) {
      const parsed = parseVersionKey(key);
      if (parsed?.file === MANIFEST_OBJECT) names.add(parsed.name);
    }
    return [...names].sort();
  }

  /** Published versions of a model, ascending; throws {@link ModelNotFoundError} when it has none. */
  async listVersions(name: string): Promise<number[]> {
    const model = ModelNameSchema.safeParse(name);
    if (!model.success) throw new ModelNotFoundError(name);
    const versions = new Set<number>();
    for await (const key of this.#store.list(modelPrefix(model.data))) {
      const parsed = parseVersionKey(key);
      if (parsed?.name === model.data && parsed.file === MANIFEST_OBJECT) versions.add(parsed.version);
    }
    if (versions.size === 0) throw new ModelNotFoundError(name);
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
    if (!ModelNameSchema.safeParse(name).success) throw new ModelNotFoundError(name);
    if (!Number.isSafeInteger(version) || version < 1) throw new VersionNotFoundError(name, version);
    const key = versionKey(name, version, MANIFEST_OBJECT);
    const bytes = await this.#store.get(key);
    if (!bytes) {
      // Tell a missing model from a missing version; listVersions throws ModelNotFoundError for the former.
      await this.listVersions(name);
      throw new VersionNotFoundError(name, version);
    }
    const location = this.#store.locate(key);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new InvalidManifestError(`${location} is not JSON`, { cause: error });
    }
    // Parsed once per version a process loads: zod's compiled parser (its `jitless: false`) costs more to build than
    // it saves here (a manifest's first parse 9 ms with it, 5 without, fresh processes on Node 24, 2026-12-03).
    const parsed = ModelManifestSchema.safeParse(json, { jitless: true });
    if (!parsed.success) {
      throw new InvalidManifestError(
        `${location} does not match the manifest schema: ${describeIssues(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    if (parsed.data.name !== name || parsed.data.version !== version) {
      throw new InvalidManifestError(
        `${location} describes model "${parsed.data.name}" version ${parsed.data.version}, not "${name}" version ${version}`,
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
    const first = this.#store.getRange(key, 0, FETCH_PART_BYTES);
    first.catch(() => undefined);
    let manifest: ModelManifest;
    try {
      manifest = await this.getManifest(name, version);
    } catch (error) {
      first.then(
        (part) => part?.discard(),
        () => undefined,
      );
      throw error;
    }
    const mismatch = (actual: string) => new ChecksumMismatchError(name, version, manifest.sha256, actual);
    const firstPart = await first;
    if (!firstPart) throw mismatch('missing (no model.onnx object)');
    if (firstPart.total !== manifest.size) {
      firstPart.discard();
      throw mismatch(`an object of ${firstPart.total} bytes`);
    }
    const bytes = new Uint8Array(manifest.size);
    const hash = createHash('sha256');
    let hashed = 0;
    // Hashes every byte that has arrived in order so far; parts finish out of order, the hash cannot.
    await readObjectRanges({
      store: this.#store,
      key,
      into: bytes,
      first: firstPart,
      partBytes: FETCH_PART_BYTES,
      concurrency: FETCH_CONCURRENCY,
      onContiguous: (end) => {
        hash.update(bytes.subarray(hashed, end));
        hashed = end;
      },
      problem: mismatch,
    });
    const actual = hash.digest('hex');
    if (actual !== manifest.sha256) throw mismatch(`${actual}, ${manifest.size} bytes`);
    return { manifest, bytes };
  }

  /**
   * Retires a published version: writes its retirement beside its manifest, once (`If-None-Match: *`), and returns
   * it, or the retirement it already had (`alreadyRetired`), which is never replaced. Throws
   * {@link VersionNotFoundError} (or {@link ModelNotFoundError}) for a version that is not published. Whether the
   * version may be retired (not routed) is for the caller to check: the registry does not know the routing.
   */
  async retire(
    name: string,
    version: number,
    input: { readonly actor: string; readonly reason: string },
  ): Promise<{ readonly retirement: Retirement; readonly alreadyRetired: boolean }> {
    await this.getManifest(name, version);
    const retirement = RetirementSchema.parse({
      schemaVersion: 1,
      model: name,
      version,
      retiredAt: new Date(this.#now()).toISOString(),
      actor: input.actor,
      reason: input.reason,
    });
    const key = versionKey(name, version, RETIRED_OBJECT);
    const written = await this.#store.putIfAbsent(key, `${JSON.stringify(retirement)}\n`, {
      contentType: 'application/json',
    });
    if (written) return { retirement, alreadyRetired: false };
    const existing = await this.retirement(name, version);
    if (!existing) throw new InvalidManifestError(`${this.#store.locate(key)} exists but could not be read`);
    return { retirement: existing, alreadyRetired: true };
  }

  /**
   * A version's retirement, or undefined when it is not retired. A stored retirement that does not parse is an
   * {@link InvalidManifestError}: a version someone meant to retire is never taken for a deployable one.
   */
  async retirement(name: string, version: number): Promise<Retirement | undefined> {
    if (!ModelNameSchema.safeParse(name).success) throw new ModelNotFoundError(name);
    if (!Number.isSafeInteger(version) || version < 1) throw new VersionNotFoundError(name, version);
    const key = versionKey(name, version, RETIRED_OBJECT);
    const bytes = await this.#store.get(key);
    if (!bytes) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new InvalidManifestError(`${this.#store.locate(key)} is not JSON`, { cause: error });
    }
    const parsed = RetirementSchema.safeParse(json);
    if (!parsed.success || parsed.data.model !== name || parsed.data.version !== version) {
      throw new InvalidManifestError(
        `${this.#store.locate(key)} is not the retirement of "${name}" version ${version}` +
          (parsed.success ? '' : `: ${describeIssues(parsed.error)}`),
      );
    }
    return parsed.data;
  }

  /**
   * A version's reference input set, checked against the size and sha256 in its manifest; undefined when the
   * version was published without one. Throws {@link ChecksumMismatchError} when the stored set differs.
   */
  async readReference(name: string, version: number): Promise<ReferenceItem[] | undefined> {
    const manifest = await this.getManifest(name, version);
    if (!manifest.reference) return undefined;
    const key = versionKey(name, version, REFERENCE_OBJECT);
    const bytes = await this.#store.get(key);
    const actual = bytes ? createHash('sha256').update(bytes).digest('hex') : 'missing';
    if (!bytes || actual !== manifest.reference.sha256) {
      throw new ChecksumMismatchError(
        name,
        version,
        manifest.reference.sha256,
        `${actual} (the reference set)`,
      );
    }
    const items: ReferenceItem[] = [];
    for (const line of new TextDecoder().decode(bytes).split('\n')) {
      if (line.trim() === '') continue;
      const parsed = ReferenceItemSchema.safeParse(parseJson(line));
      if (!parsed.success) {
        throw new InvalidManifestError(`${this.#store.locate(key)}: ${describeIssues(parsed.error)}`);
      }
      items.push(parsed.data);
    }
    return items;
  }

  /** The newest published version's manifest; undefined for a new model or when that manifest cannot be read. */
  async #newestManifest(name: string): Promise<ModelManifest | undefined> {
    try {
      return await this.getManifest(name, await this.latestVersion(name));
    } catch (error) {
      if (error instanceof ModelNotFoundError || error instanceof InvalidManifestError) return undefined;
      throw error;
    }
  }

  /** A version's claim; undefined when it is missing or does not parse (an older or foreign writer). */
  async #readClaim(name: string, version: number): Promise<VersionClaim | undefined> {
    const bytes = await this.#store.get(versionKey(name, version, CLAIM_OBJECT));
    if (!bytes) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return undefined;
    }
    const parsed = VersionClaimSchema.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Throws {@link PublishAbortedError} once the publish's signal has fired after its bytes were uploaded, deleting
   * them first: the number is this publish's own, and nothing is left that needs a sweep (should the delete fail,
   * {@link sweepUnpublished} removes them later).
   */
  async #throwIfAbortedAfterUpload(
    name: string,
    version: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!signal?.aborted) return;
    await this.#store.delete(versionKey(name, version, MODEL_OBJECT)).catch(() => undefined);
    throwIfAborted(name, version, signal);
  }

  /** Claims the lowest free version number above every number in use; see {@link publish}. */
  async #claimNextVersion(name: string, claim: VersionClaim): Promise<number> {
    const body = JSON.stringify(VersionClaimSchema.parse(claim));
    let candidate = 0;
    for (let attempt = 1; attempt <= MAX_VERSION_CLAIM_ATTEMPTS; attempt++) {
      // List again after each lost race: several numbers may have been taken meanwhile.
      candidate = Math.max(candidate, await this.#highestVersionInUse(name)) + 1;
      const key = versionKey(name, candidate, CLAIM_OBJECT);
      if (await this.#store.putIfAbsent(key, body, { contentType: JSON_CONTENT_TYPE })) return candidate;
    }
    throw new VersionConflictError(
      `model "${name}": lost the race for a version number ${MAX_VERSION_CLAIM_ATTEMPTS} times; too many concurrent publishes, try again`,
    );
  }

  /** The highest version number with any object (claim, bytes or manifest); 0 for a new model. */
  async #highestVersionInUse(name: string): Promise<number> {
    let highest = 0;
    for await (const key of this.#store.list(modelPrefix(name))) {
      const parsed = parseVersionKey(key);
      if (parsed?.name === name) highest = Math.max(highest, parsed.version);
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
    const total = bytes.byteLength;
    let written: boolean;
    try {
      written = await this.#store.putIfAbsent(versionKey(name, version, MODEL_OBJECT), bytes, {
        contentType: ONNX_CONTENT_TYPE,
        ...(onProgress ? { onProgress: (loaded: number) => onProgress(loaded, total) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throwIfAborted(name, version, signal);
      throw error;
    }
    if (!written) {
      throw new VersionConflictError(
        `model "${name}" version ${version} got model bytes from another publisher after this one claimed it; nothing was overwritten`,
      );
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

/** The objects of a version folder that hold its bytes, which a sweep deletes; the claim is not among them. */
const UNPUBLISHED_BYTES = [MODEL_OBJECT, REFERENCE_OBJECT] as const;

/**
 * Whether a published manifest records the very publish a draft describes: the same bytes, labels, description,
 * golden examples and reference set. Compared as JSON, so an optional key left out and one set to undefined agree.
 */
function isSamePublish(manifest: ModelManifest, draft: ManifestDraft): boolean {
  const identity = (entry: ModelManifest | ManifestDraft) =>
    JSON.parse(
      JSON.stringify({
        sha256: entry.sha256,
        size: entry.size,
        labels: entry.labels,
        description: entry.description,
        goldenExamples: entry.goldenExamples,
        reference: entry.reference?.sha256,
      }),
    );
  return isDeepStrictEqual(identity(manifest), identity(draft));
}

/** A reference set as stored: one item per line, 64-bit integers as exact literals. */
function referenceText(items: readonly ReferenceItem[]): string {
  return `${items.map((item) => stringifyJson(item)).join('\n')}\n`;
}

function parseVersionKey(key: string): { name: string; version: number; file: string } | undefined {
  const match = VERSION_KEY_PATTERN.exec(key);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const version = Number(match[2]);
  if (!ModelNameSchema.safeParse(match[1]).success || !Number.isSafeInteger(version)) return undefined;
  return { name: match[1], version, file: match[3] };
}

function parseModelName(name: string): string {
  const parsed = ModelNameSchema.safeParse(name);
  if (!parsed.success) {
    throw new InvalidModelError(`invalid model name "${name}": ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
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
      `the model cannot be described by a manifest: ${describeIssues(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Parses the extras and checks every golden example and the labels against the graph's signature. */
function parseExtras(extras: PublishExtras | undefined, signature: ModelSignature): PublishExtras {
  const parsed = PublishExtrasSchema.safeParse(extras ?? {});
  if (!parsed.success) {
    throw new InvalidModelError(`invalid publish extras: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const problems = goldenExampleProblems(parsed.data.goldenExamples ?? [], signature);
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
