/**
 * Reusable plain arrays that output tensors are copied into before `JSON.stringify` writes them.
 *
 * `JSON.stringify(Array.from(typed))` spends about a quarter of its time allocating the array (and boxing
 * every double); typed-array `join` is slower still. Copying into a packed array that already exists and
 * stringifying that is about 1.3x faster on ordinary floats and 3x on mostly-zero maps, with exactly the
 * same text (`JSON.stringify` writes NaN and ±Infinity as `null`).
 */

/** Elements kept for reuse per kind (8 MiB of doubles at most): bigger outputs get a fresh array per call. */
export const MAX_SCRATCH_ELEMENTS = 1024 * 1024;

/** Scratch arrays kept at once, one per length (a model's outputs repeat their lengths). */
const MAX_SCRATCH_ARRAYS = 8;

/** The kinds of element a scratch array is kept packed for, so V8 never changes its representation. */
export type ScratchKind = 'float' | 'integer' | 'boolean';

/** The value a new scratch array of each kind is filled with; it fixes the array's element representation. */
const FILL: Record<ScratchKind, unknown> = { float: 0.5, integer: 0, boolean: false };

const pools: Record<ScratchKind, Map<number, unknown[]>> = {
  float: new Map(),
  integer: new Map(),
  boolean: new Map(),
};

/**
 * A packed array of exactly `length` elements to overwrite and stringify at once; the caller must not keep it.
 *
 * Arrays up to {@link MAX_SCRATCH_ELEMENTS} are reused across calls (least recently used dropped first).
 */
export function scratchArray(kind: ScratchKind, length: number): unknown[] {
  const pool = pools[kind];
  const found = pool.get(length);
  if (found) {
    pool.delete(length);
    pool.set(length, found);
    return found;
  }
  // Grown by push from an empty literal: `new Array(n)` would be holey, which JSON.stringify walks slowly.
  const fill = FILL[kind];
  const array: unknown[] = [];
  for (let index = 0; index < length; index++) array.push(fill);
  if (length <= MAX_SCRATCH_ELEMENTS) {
    pool.set(length, array);
    let total = 0;
    for (const kept of pool.values()) total += kept.length;
    for (const [key, kept] of pool) {
      if (pool.size <= MAX_SCRATCH_ARRAYS && total <= MAX_SCRATCH_ELEMENTS) break;
      if (key === length) continue;
      pool.delete(key);
      total -= kept.length;
    }
  }
  return array;
}
