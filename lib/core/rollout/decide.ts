import { DEFAULT_MIN_REQUESTS } from './plan-rollout.js';
import { nextStep } from './private/next-step.js';
import { RolloutStrategy } from './RolloutPlan.js';
import { type RolloutState, RolloutStatus } from './RolloutState.js';
import type { HealthReport } from './RolloutTarget.js';

/**
 * How far ahead a decision to wait for evidence or for metrics looks, in milliseconds: what `status` shows as the
 * next check. The driver checks again at its own pace (every tick); this only informs.
 */
export const EVIDENCE_RECHECK_MS = 15_000;

/** Why a rollout waits; `status` prints the reason. */
export const WaitReason = {
  /** The current step bakes until `untilMs`. */
  BAKING: 'baking',
  /** Manual plans move only with `sluice promote`. */
  MANUAL: 'manual',
  /** The bake is over but the health data of its end has not arrived yet (CloudWatch's delay). */
  SETTLING: 'settling',
  /** The bake is over but the candidate answered too few requests to judge it: the bake is extended. */
  EVIDENCE: 'evidence',
  /** The bake is over with enough requests, but health is `unknown`: no step is taken on missing data. */
  UNKNOWN_HEALTH: 'unknown-health',
} as const;
/** One reason to wait. */
export type WaitReason = (typeof WaitReason)[keyof typeof WaitReason];

/** What a rollout should do now; the engine applies it, {@link decide} only says it. */
export type Decision =
  /** No rollout in progress. */
  | { readonly kind: 'idle' }
  /**
   * Nothing is due before `untilMs` (epoch ms; `Infinity` for manual plans, which only `sluice promote` moves);
   * `why` says what the rollout waits for, `detail` in words.
   */
  | { readonly kind: 'wait'; readonly untilMs: number; readonly why: WaitReason; readonly detail?: string }
  /** Move the candidate to the plan's next weight. */
  | { readonly kind: 'advance'; readonly weight: number; readonly stepIndex: number }
  /** The candidate takes everything and becomes the stable version. */
  | { readonly kind: 'promote' }
  /** Send the candidate's weight back to 0. */
  | { readonly kind: 'rollback'; readonly reason: string };

/**
 * The rollout rule: what to do with a model's rollout given its state, the candidate's health and the time.
 *
 * An unhealthy candidate is rolled back at once, whatever the plan. Manual plans wait for `sluice promote`.
 * Otherwise the current step bakes for the plan's interval, and then the next step is taken (promotion when it is
 * 100) only on evidence: the health data must be complete up to the end of the bake (`settledUntilMs`), the
 * candidate must have answered at least the plan's `minRequests` in the step, and its health must be `healthy`.
 * Until then the bake is extended: missing data is never health, and the clock alone never promotes.
 *
 * @example
 * const decision = decide(state, await target.health(state.model, candidate, { sinceMs }), Date.now());
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
    return { kind: 'wait', untilMs: Number.POSITIVE_INFINITY, why: WaitReason.MANUAL };
  }
  const bakeEndMs = Date.parse(state.stepStartedAt ?? state.updatedAt) + plan.intervalMs;
  if (nowMs < bakeEndMs) {
    return { kind: 'wait', untilMs: bakeEndMs, why: WaitReason.BAKING };
  }
  const settledUntilMs = health.settledUntilMs ?? nowMs;
  if (settledUntilMs < bakeEndMs) {
    return {
      kind: 'wait',
      untilMs: nowMs + (bakeEndMs - settledUntilMs),
      why: WaitReason.SETTLING,
      detail: `health data is complete up to ${new Date(settledUntilMs).toISOString()}; the bake ended at ${new Date(bakeEndMs).toISOString()}`,
    };
  }
  const minRequests = plan.minRequests ?? DEFAULT_MIN_REQUESTS;
  const answered = health.candidateRequests ?? 0;
  if (answered < minRequests) {
    const counted = health.candidateRequests === undefined ? 'no request count is available' : `${answered}`;
    return {
      kind: 'wait',
      untilMs: nowMs + EVIDENCE_RECHECK_MS,
      why: WaitReason.EVIDENCE,
      detail:
        `bake extended: v${state.candidate} answered ${counted} of the ${minRequests} requests a step needs ` +
        `since ${state.stepStartedAt ?? state.updatedAt}`,
    };
  }
  if (health.verdict !== 'healthy') {
    return {
      kind: 'wait',
      untilMs: nowMs + EVIDENCE_RECHECK_MS,
      why: WaitReason.UNKNOWN_HEALTH,
      detail: `bake extended: health of v${state.candidate} is unknown (${health.reasons.join('; ') || 'no signal'})`,
    };
  }
  const next = nextStep(plan, state.stepIndex ?? 0, state.weight);
  return next.kind === 'promote'
    ? { kind: 'promote' }
    : { kind: 'advance', weight: next.weight, stepIndex: next.stepIndex };
}
