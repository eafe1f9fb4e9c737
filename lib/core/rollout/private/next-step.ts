import { FULL_WEIGHT } from '../plan-rollout.js';
import type { RolloutPlan } from '../RolloutPlan.js';

/** Where a rolling candidate goes after its current step: a higher weight of the plan, or promotion. */
export type NextStep = { kind: 'step'; weight: number; stepIndex: number } | { kind: 'promote' };

/**
 * The first step after `stepIndex` above the current weight; promotion when that step is 100 or there is none.
 * Steps at or below the weight are skipped because a manual promote may have jumped past them.
 */
export function nextStep(plan: RolloutPlan, stepIndex: number, weight: number): NextStep {
  for (let index = stepIndex + 1; index < plan.steps.length; index++) {
    const step = plan.steps[index];
    if (step !== undefined && step > weight) {
      return step >= FULL_WEIGHT ? { kind: 'promote' } : { kind: 'step', weight: step, stepIndex: index };
    }
  }
  return { kind: 'promote' };
}
