import { type RolloutState, RolloutStatus } from './RolloutState.js';
import type { Routing } from './RolloutTarget.js';

/**
 * The routing a state calls for: the stable version alone while idle, the candidate at its weight while rolling.
 *
 * @example
 * await target.route(state.model, routingOf(state));
 */
export function routingOf(state: RolloutState): Routing {
  const stableBuild = state.stableBuild === undefined ? {} : { stableBuild: state.stableBuild };
  if (state.status === RolloutStatus.ROLLING && state.candidate !== undefined) {
    return {
      stable: state.stable,
      ...stableBuild,
      candidate: state.candidate,
      ...(state.candidateBuild === undefined ? {} : { candidateBuild: state.candidateBuild }),
      weight: state.weight,
      ...(state.phase === 'shadow'
        ? {
            shadowPercent: state.plan?.shadowPercent ?? 0,
            ...(state.shadowBuild === undefined ? {} : { shadowBuild: state.shadowBuild }),
          }
        : {}),
    };
  }
  return { stable: state.stable, ...stableBuild, weight: 0 };
}
