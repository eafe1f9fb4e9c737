import type { Routing } from './RolloutTarget.js';

/**
 * The version one request goes to under a routing: the candidate with probability `weight / 100`, otherwise the
 * stable version. Pure: `draw` is a uniform random number in [0, 1), so the rule is tested without randomness.
 *
 * @example
 * pickVersion({ stable: 1, candidate: 2, weight: 10 }, Math.random()); // 2 about one time in ten
 */
export function pickVersion(routing: Routing, draw: number): number {
  if (routing.candidate === undefined || routing.weight <= 0) return routing.stable;
  return draw * 100 < routing.weight ? routing.candidate : routing.stable;
}
