/** A byte range of an object as it arrives, with the size of the whole object. */
export interface ObjectRange {
  /** Size of the whole object in bytes. */
  readonly total: number;
  /** The range's bytes, in order. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Closes the body without reading it, so its connection is not held open. */
  discard(): void;
  /** The object's entity tag, when the store gives one: what a later range can ask to match (`ifMatch`). */
  readonly etag?: string;
}

/** How {@link ObjectStore.getRange} reads. */
export interface RangeOptions {
  /**
   * Read only the version of the object with this entity tag (HTTP `If-Match`): another version, one written
   * since, answers as a missing object. @default any
   */
  readonly ifMatch?: string;
}

/**
 * A body read from its source as it is written, never held whole (a batch input of many GB): its size, and how to
 * open it, once per write.
 */
export interface StreamedBody {
  /** Its size in bytes, known before the write (a multipart upload's parts, the progress's total). */
  readonly size: number;
  /** Opens the body's bytes, in order. */
  readonly open: () => AsyncIterable<Uint8Array>;
}

/** A streamed body was not the size it said (a file that changed while it was read): nothing was written. */
export class BodyChangedError extends Error {
  override readonly name = 'BodyChangedError';
}

/** How {@link ObjectStore.putIfAbsent} writes. */
export interface PutOptions {
  /** @default 'application/octet-stream' */
  readonly contentType?: string;
  /** Called as bytes reach the store; `loaded` never decreases and ends at the body's size. */
  readonly onProgress?: (loaded: number) => void;
  /**
   * Stops the write: an upload in flight is abandoned (parts already sent are deleted) and the promise rejects with
   * the signal's reason. @default not stoppable
   */
  readonly signal?: AbortSignal;
}

/**
 * The one storage port: the five operations sluice's registry and rollout states need from an object store. An
 * S3 bucket is one ({@link S3ObjectStore}); so is the local stack's embedded store, through the same adapter.
 *
 * Store failures (unreachable, access denied, throttled) propagate as the adapter's own errors, with their cause.
 */
export interface ObjectStore {
  /** Where a key lives, for messages and logs, e.g. `s3://bucket/models/iris/1/manifest.json`. */
  locate(key: string): string;
  /** An object's bytes; undefined when the key does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** A byte range of an object (an empty object has a range of nothing); undefined when the key does not exist. */
  getRange(
    key: string,
    start: number,
    length: number,
    options?: RangeOptions,
  ): Promise<ObjectRange | undefined>;
  /** Writes an object only if its key is free: true when written, false when the key exists. Never overwrites. */
  putIfAbsent(key: string, body: Uint8Array | string | StreamedBody, options?: PutOptions): Promise<boolean>;
  /** Every key under a prefix, in the store's (lexicographic) order. */
  list(prefix: string): AsyncIterable<string>;
  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}
