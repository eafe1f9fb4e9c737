import { type RolloutState, RolloutStatus } from './RolloutState.js';

/**
 * Why a version may not be retired now, or undefined when it may: a version is not retired while it is routed or
 * is the stable or candidate of the model's rollout (a candidate in its shadow phase included), nor, for a model
 * never deployed, while it is the newest version, which answers the unversioned routes. A pure function of the
 * routing state; `sluice retire` asks it.
 *
 * @example
 * retirementRefusal(state, 3, 4); // 'v3 is the stable version: it takes 90% of the traffic'
 */
export function retirementRefusal(
  state: RolloutState | undefined,
  version: number,
  newest: number,
): string | undefined {
  if (!state) {
    return version === newest
      ? `v${version} is the newest version of a model never deployed: it answers the unversioned routes`
      : undefined;
  }
  const rolling = state.status === RolloutStatus.ROLLING && state.candidate !== undefined;
  if (version === state.stable) {
    return `v${version} is the stable version: it takes ${rolling ? 100 - state.weight : 100}% of the traffic`;
  }
  if (rolling && version === state.candidate) {
    return state.phase === 'shadow'
      ? `v${version} is the candidate of the rollout in progress (shadow phase)`
      : `v${version} is the candidate of the rollout in progress: it takes ${state.weight}% of the traffic`;
  }
  return undefined;
}
