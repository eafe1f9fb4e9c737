import type { ObjectRange, ObjectStore, PutOptions, RangeOptions, StreamedBody } from './ObjectStore.js';

/** Properties of {@link LazyObjectStore}. */
export interface LazyObjectStoreProps<T extends ObjectStore> {
  /** Opens the store; called once, at the first operation that needs it. */
  readonly open: () => Promise<T>;
  /** Where a key lives, answered without opening the store (`s3://bucket/key`). */
  readonly locate: (key: string) => string;
}

/**
 * An {@link ObjectStore} opened at its first read or write. The S3 client takes about 150 ms to load, and a CLI
 * command that never touches the bucket (`sluice status --local` asks the local stack) should not pay for it.
 * A failure to open is the failure of every operation.
 *
 * @example
 * const objects = new LazyObjectStore({
 *   open: async () => new S3ObjectStore({ client: createS3Client({ region }), bucket }),
 *   locate: (key) => `s3://${bucket}/${key}`,
 * });
 */
export class LazyObjectStore<T extends ObjectStore = ObjectStore> implements ObjectStore {
  readonly #open: () => Promise<T>;
  readonly #locate: (key: string) => string;
  #opened: Promise<T> | undefined;

  constructor(props: LazyObjectStoreProps<T>) {
    this.#open = props.open;
    this.#locate = props.locate;
  }

  /** The store itself, opened now if it was not yet. */
  opened(): Promise<T> {
    this.#opened ??= this.#open();
    return this.#opened;
  }

  locate(key: string): string {
    return this.#locate(key);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.opened()).get(key);
  }

  async getRange(
    key: string,
    start: number,
    length: number,
    options?: RangeOptions,
  ): Promise<ObjectRange | undefined> {
    return (await this.opened()).getRange(key, start, length, options);
  }

  async putIfAbsent(
    key: string,
    body: Uint8Array | string | StreamedBody,
    options?: PutOptions,
  ): Promise<boolean> {
    return (await this.opened()).putIfAbsent(key, body, options);
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* (await this.opened()).list(prefix);
  }

  async delete(key: string): Promise<void> {
    return (await this.opened()).delete(key);
  }
}
