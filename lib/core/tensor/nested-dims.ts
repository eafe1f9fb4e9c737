/**
 * The dims of nested arrays, read off the first element at each level: `[[1, 2, 3]]` is `[1, 3]`, a scalar `[]`.
 * Whether every row agrees is the decoder's to check.
 *
 * @example
 * nestedDims([[5.1, 3.5, 1.4, 0.2]]); // [1, 4]
 */
export function nestedDims(value: unknown): number[] {
  const dims: number[] = [];
  let level = value;
  while (Array.isArray(level)) {
    dims.push(level.length);
    level = level[0];
  }
  return dims;
}
