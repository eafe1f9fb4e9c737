import { type RolloutState, RolloutStatus } from './RolloutState.js';
import type { Routing } from './RolloutTarget.js';

/**
 * The routing a state calls for: the stable version alone while idle, the candidate at its weight while rolling.
 *
 * @example
 * await target.route(state.model, routingOf(state));
 */
export function routingOf(state: RolloutState): Routing {
  if (state.status === RolloutStatus.ROLLING && state.candidate !== undefined) {
    return { stable: state.stable, candidate: state.candidate, weight: state.weight };
  }
  return { stable: state.stable, weight: 0 };
}
