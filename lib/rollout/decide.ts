import { nextStep } from './private/next-step.js';
import { RolloutStrategy } from './RolloutPlan.js';
import { type RolloutState, RolloutStatus } from './RolloutState.js';
import type { HealthReport } from './RolloutTarget.js';

/** What a rollout should do now; the engine applies it, {@link decide} only says it. */
export type Decision =
  /** No rollout in progress. */
  | { readonly kind: 'idle' }
  /** Nothing is due before `untilMs` (epoch ms; `Infinity` for manual plans, which only `sluice promote` moves). */
  | { readonly kind: 'wait'; readonly untilMs: number }
  /** Move the candidate to the plan's next weight. */
  | { readonly kind: 'advance'; readonly weight: number; readonly stepIndex: number }
  /** The candidate takes everything and becomes the stable version. */
  | { readonly kind: 'promote' }
  /** Send the candidate's weight back to 0. */
  | { readonly kind: 'rollback'; readonly reason: string };

/**
 * The rollout rule: what to do with a model's rollout given its state, the candidate's health and the time.
 *
 * An unhealthy candidate is rolled back, whatever the plan; `unknown` health (too little traffic to judge)
 * neither blocks nor rolls back. Manual plans wait for `sluice promote`. Otherwise the current step bakes
 * for the plan's interval, then the candidate moves to the next step, or is promoted when that step is 100.
 *
 * @example
 * const decision = decide(state, await target.health(state.model, candidate), Date.now());
 * if (decision.kind === 'rollback') console.log(decision.reason);
 */
export function decide(state: RolloutState, health: HealthReport, nowMs: number): Decision {
  if (state.status !== RolloutStatus.ROLLING || state.candidate === undefined) {
    return { kind: 'idle' };
  }
  if (health.verdict === 'unhealthy') {
    const why = health.reasons.length > 0 ? health.reasons.join('; ') : 'the health check gave no reason';
    return { kind: 'rollback', reason: `v${state.candidate} is unhealthy: ${why}` };
  }
  const { plan } = state;
  // A rolling state without a plan is not one this code writes; waiting leaves the choice to a person.
  if (!plan || plan.strategy === RolloutStrategy.MANUAL) {
    return { kind: 'wait', untilMs: Number.POSITIVE_INFINITY };
  }
  const untilMs = Date.parse(state.stepStartedAt ?? state.updatedAt) + plan.intervalMs;
  if (nowMs < untilMs) {
    return { kind: 'wait', untilMs };
  }
  const next = nextStep(plan, state.stepIndex ?? 0, state.weight);
  return next.kind === 'promote'
    ? { kind: 'promote' }
    : { kind: 'advance', weight: next.weight, stepIndex: next.stepIndex };
}
