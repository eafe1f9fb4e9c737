/**
 * A small seeded pseudo-random generator (mulberry32): reproducible weights and inputs for generated models, the
 * bench and the tests, without a dependency. Not for anything that needs real randomness.
 *
 * @example
 * const random = seededRandom(1);
 * random(); // the same number on every run
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
