/**
 * An object changed under a read: deleted while it was read (another request used the same reference at the same
 * time), or its bytes were not the size it said. What the store found, not a failure of the store.
 */
export class ObjectChangedError extends Error {
  override readonly name = 'ObjectChangedError';
}

/** A request someone else makes on sluice's behalf: a presigned URL, the headers it must carry, and its end. */
export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT' | 'GET';
  /** Headers the request must carry with exactly these values (they are signed). */
  readonly headers: Readonly<Record<string, string>>;
  /** When the URL stops working: its own expiry or its credentials', whichever comes first. */
  readonly expiresAt: Date;
}

/**
 * Where tensors sent by reference live (`requests/MODEL/ID` in the registry bucket): what the function needs to hand
 * out upload and download URLs, read an uploaded input into a tensor, write an output, and delete what was used.
 * {@link S3RequestObjects} is the S3 one, locally on the embedded store too.
 */
export interface RequestObjectStore {
  /** A presigned PUT of exactly `byteSize` bytes to `key`, valid for `seconds` at most. */
  presignUpload(key: string, byteSize: number, seconds: number): Promise<PresignedRequest>;
  /** A presigned GET of `key`, valid for `seconds` at most. */
  presignDownload(key: string, seconds: number): Promise<PresignedRequest>;
  /**
   * Reads the object at `key` into `into` when it has exactly `into.byteLength` bytes, and returns its size either
   * way (nothing is read from an object of another size); undefined when there is no such object. Throws
   * {@link ObjectChangedError} when the object changes while it is read.
   */
  readInto(key: string, into: Uint8Array): Promise<number | undefined>;
  /** Writes a new object. */
  write(key: string, bytes: Uint8Array): Promise<void>;
  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}
