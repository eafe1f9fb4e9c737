import { DEFAULT_SHADOW_PERCENT } from '../rollout/gate-settings.js';
import { planRollout } from '../rollout/plan-rollout.js';
import { type RolloutPlan, RolloutStrategy } from '../rollout/RolloutPlan.js';
import { type Rollout, type RolloutGates, RolloutPreset } from './deploy-config.js';

const MINUTE_MS = 60_000;

/** Each preset as the canary, linear or all-at-once plan it names. */
const PRESET_PLANS: Record<
  RolloutPreset,
  { strategy: RolloutStrategy; weight?: number; intervalMs: number }
> = {
  [RolloutPreset.ALL_AT_ONCE]: { strategy: RolloutStrategy.ALL_AT_ONCE, intervalMs: 0 },
  [RolloutPreset.CANARY_10_PERCENT_5_MINUTES]: {
    strategy: RolloutStrategy.CANARY,
    weight: 10,
    intervalMs: 5 * MINUTE_MS,
  },
  [RolloutPreset.CANARY_10_PERCENT_10_MINUTES]: {
    strategy: RolloutStrategy.CANARY,
    weight: 10,
    intervalMs: 10 * MINUTE_MS,
  },
  [RolloutPreset.CANARY_10_PERCENT_15_MINUTES]: {
    strategy: RolloutStrategy.CANARY,
    weight: 10,
    intervalMs: 15 * MINUTE_MS,
  },
  [RolloutPreset.CANARY_10_PERCENT_30_MINUTES]: {
    strategy: RolloutStrategy.CANARY,
    weight: 10,
    intervalMs: 30 * MINUTE_MS,
  },
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_1_MINUTE]: {
    strategy: RolloutStrategy.LINEAR,
    weight: 10,
    intervalMs: MINUTE_MS,
  },
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_2_MINUTES]: {
    strategy: RolloutStrategy.LINEAR,
    weight: 10,
    intervalMs: 2 * MINUTE_MS,
  },
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_3_MINUTES]: {
    strategy: RolloutStrategy.LINEAR,
    weight: 10,
    intervalMs: 3 * MINUTE_MS,
  },
  [RolloutPreset.LINEAR_10_PERCENT_EVERY_10_MINUTES]: {
    strategy: RolloutStrategy.LINEAR,
    weight: 10,
    intervalMs: 10 * MINUTE_MS,
  },
};

/**
 * The engine's plan for a model's configured rollout: presets are canary or linear plans by name
 * (`canary-10-percent-5-minutes` is `[10, 100]`, 5 minutes per step), custom ones map field by field; a 10 %
 * shadow phase unless `shadowPercent` says otherwise.
 *
 * @example
 * rolloutPlanOf({ strategy: 'preset', preset: 'canary-10-percent-5-minutes' });
 * // { strategy: 'canary', steps: [10, 100], intervalMs: 300000, minRequests: 20, shadowPercent: 10 }
 */
export function rolloutPlanOf(rollout: Rollout): RolloutPlan {
  const common = {
    ...(rollout.minRequests === undefined ? {} : { minRequests: rollout.minRequests }),
    shadowPercent: rollout.shadowPercent ?? DEFAULT_SHADOW_PERCENT,
    ...gatesOf(rollout.gates),
    ...(rollout.watchMinutes === undefined ? {} : { watchMs: rollout.watchMinutes * MINUTE_MS }),
  };
  switch (rollout.strategy) {
    case 'preset':
      return planRollout({ ...PRESET_PLANS[rollout.preset], ...common });
    case 'canary':
    case 'linear':
      return planRollout({
        strategy: rollout.strategy,
        weight: rollout.percentage,
        intervalMs: rollout.intervalMinutes * MINUTE_MS,
        ...common,
      });
    case 'all-at-once':
      return planRollout({
        strategy: RolloutStrategy.ALL_AT_ONCE,
        intervalMs: (rollout.intervalMinutes ?? 0) * MINUTE_MS,
        ...common,
      });
  }
}

/** The config's gate settings as the plan's (minutes as milliseconds); nothing when it states none. */
function gatesOf(gates: RolloutGates): { gates?: NonNullable<RolloutPlan['gates']> } {
  if (gates === undefined) return {};
  const { maxShadowMinutes, ...rest } = gates;
  const plan = {
    ...rest,
    ...(maxShadowMinutes === undefined ? {} : { maxShadowMs: maxShadowMinutes * MINUTE_MS }),
  };
  return Object.keys(plan).length === 0 ? {} : { gates: plan };
}
