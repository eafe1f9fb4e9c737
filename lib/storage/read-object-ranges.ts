import type { ObjectRange, ObjectStore } from './ObjectStore.js';

/** Options of {@link readObjectRanges}. */
export interface RangedReadOptions {
  /** Where the object is. */
  readonly store: Pick<ObjectStore, 'getRange'>;
  readonly key: string;
  /** Where its bytes go, in order: its length is the size the object must have (the caller checked `first.total`). */
  readonly into: Uint8Array;
  /** The object's first range (bytes 0 to `partBytes`), already asked for: callers start it beside other work. */
  readonly first: ObjectRange;
  /** Size of each range; the first is this size too. */
  readonly partBytes: number;
  /** Ranges in flight at once, besides the first. */
  readonly concurrency: number;
  /** Called whenever the bytes in order from byte 0 reach further: `end` bytes are in. @default nothing */
  readonly onContiguous?: (end: number) => void;
  /** The error for an object whose bytes are not what was expected (too many, too few, gone while being read). */
  readonly problem: (what: string) => Error;
}

/**
 * Reads a whole object into one buffer in byte ranges fetched in parallel: the first range (already requested by
 * the caller) and the rest, `partBytes` at a time, `concurrency` in flight, each written straight to its place in
 * `into` as its chunks arrive (no concatenation copy). What the registry fetches models with, and the function
 * reads tensors sent by reference with.
 *
 * "You can use concurrent connections to Amazon S3 to fetch different byte ranges from within the same object"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html).
 *
 * @example
 * const first = await store.getRange(key, 0, partBytes);
 * if (first && first.total === bytes.byteLength)
 *   await readObjectRanges({ store, key, into: bytes, first, partBytes, concurrency: 4, problem: (what) => new Error(what) });
 */
export async function readObjectRanges(options: RangedReadOptions): Promise<void> {
  const { store, key, into, first, partBytes, concurrency, onContiguous, problem } = options;
  const size = into.byteLength;
  const parts = Math.max(1, Math.ceil(size / partBytes));
  const filled = new Array<number>(parts).fill(0);
  let contiguous = 0;
  // Reports every byte that has arrived in order so far; parts finish out of order.
  const advance = (): void => {
    let end = contiguous;
    while (end < size) {
      const part = Math.floor(end / partBytes);
      const partEnd = part * partBytes + (filled[part] as number);
      if (partEnd <= end) break;
      end = partEnd;
    }
    if (end > contiguous) {
      contiguous = end;
      onContiguous?.(end);
    }
  };
  const readPart = async (part: number, range: ObjectRange): Promise<void> => {
    const start = part * partBytes;
    const end = Math.min(size, start + partBytes);
    let offset = start;
    for await (const chunk of range.body) {
      if (offset + chunk.byteLength > end) throw problem(`more bytes than the ${size} expected`);
      into.set(chunk, offset);
      offset += chunk.byteLength;
      filled[part] = offset - start;
      advance();
    }
    if (offset !== end)
      throw problem(`${offset - start} bytes in the range at ${start}, expected ${end - start}`);
  };
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next < parts) {
      const part = next++;
      // The same version as the first range, or nothing: a write to the key meanwhile must not mix two objects.
      const range = await store.getRange(
        key,
        part * partBytes,
        partBytes,
        first.etag === undefined ? {} : { ifMatch: first.etag },
      );
      if (!range)
        throw problem('missing or replaced (the object was deleted or written again while it was read)');
      await readPart(part, range);
    }
  };
  await Promise.all([
    readPart(0, first),
    ...Array.from({ length: Math.min(concurrency, parts - 1) }, worker),
  ]);
}
