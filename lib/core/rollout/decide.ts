import { compareClassShares } from '../stats/class-shares.js';
import { judgeDisagreement } from '../stats/sequential-test.js';
import { type GateSettings, gateSettingsOf } from './gate-settings.js';
import { DEFAULT_MIN_REQUESTS } from './plan-rollout.js';
import { nextStep } from './private/next-step.js';
import { RolloutStrategy } from './RolloutPlan.js';
import { type RolloutState, RolloutStatus } from './RolloutState.js';
import type { DifferenceFigures, HealthReport } from './RolloutTarget.js';

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
  /** The shadow phase: too few of the candidate's answers compared yet to pass or fail it. */
  AGREEMENT: 'agreement',
  /**
   * The shadow phase reached its caps (`maxCompared`, `maxShadowMs`) undecided: the candidate disagrees about as
   * often as tolerated, and a person promotes or rolls it back.
   */
  AGREEMENT_UNDECIDED: 'agreement-undecided',
} as const;
/** One reason to wait. */
export type WaitReason = (typeof WaitReason)[keyof typeof WaitReason];

/** What a rollout should do now; the engine applies it, {@link decide} only says it. */
export type Decision =
  /** No rollout in progress. */
  | { readonly kind: 'idle' }
  /**
   * Nothing is due before `untilMs` (epoch ms; `Infinity` when only a person moves it: a manual plan, a shadow
   * phase undecided at its limit); `why` says what the rollout waits for, `detail` in words.
   */
  | { readonly kind: 'wait'; readonly untilMs: number; readonly why: WaitReason; readonly detail?: string }
  /** Move the candidate to the plan's next weight; `reason`, when given, is what the step's event records. */
  | {
      readonly kind: 'advance';
      readonly weight: number;
      readonly stepIndex: number;
      readonly reason?: string;
    }
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
  if (state.phase === 'shadow') return decideShadow(state, health, nowMs);
  // A rolling state without a plan is not one this code writes; waiting leaves the choice to a person.
  if (!plan || plan.strategy === RolloutStrategy.MANUAL) {
    return { kind: 'wait', untilMs: Number.POSITIVE_INFINITY, why: WaitReason.MANUAL };
  }
  const standsIn = state.replay?.standsIn === true;
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
  const minRequests = standsIn ? 0 : (plan.minRequests ?? DEFAULT_MIN_REQUESTS);
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
  // A quiet model whose replay stands in for live evidence is not held up by the silence of its health signals.
  if (health.verdict !== 'healthy' && !(standsIn && answered === 0)) {
    return {
      kind: 'wait',
      untilMs: nowMs + EVIDENCE_RECHECK_MS,
      why: WaitReason.UNKNOWN_HEALTH,
      detail: `bake extended: health of v${state.candidate} is unknown (${health.reasons.join('; ') || 'no signal'})`,
    };
  }
  // At the end of the step, once: do the candidate's classes differ from the stable version's over the step? Each
  // step's test gets alpha / steps (Bonferroni), so a whole rollout's false rollbacks stay at or under alpha.
  if (health.classShares) {
    const shares = compareClassShares(
      health.classShares.stable,
      health.classShares.candidate,
      gateSettingsOf(plan).alpha / Math.max(1, plan.steps.length),
    );
    if (shares.verdict === 'differ') {
      return {
        kind: 'rollback',
        reason: `class shares: v${state.candidate} ${describeClassShares(shares, state.stable)}`,
      };
    }
  }
  const next = nextStep(plan, state.stepIndex ?? 0, state.weight);
  return next.kind === 'promote'
    ? { kind: 'promote' }
    : { kind: 'advance', weight: next.weight, stepIndex: next.stepIndex };
}

/**
 * The shadow phase: the paired answers decide, by the sequential test, with no bake of its own. A candidate the test
 * has not decided by the phase's caps waits for a person: its disagreement is too close to the tolerance to call.
 */
function decideShadow(state: RolloutState, health: HealthReport, nowMs: number): Decision {
  const settings = gateSettingsOf(state.plan);
  const counts = health.agreement ?? { compared: 0, disagreed: 0 };
  const judgement = judgeDisagreement(counts, settings);
  const figures = describeAgreement(counts, state.stable, settings);
  if (judgement.verdict === 'fail') {
    return {
      kind: 'rollback',
      reason:
        `shadow: v${state.candidate} ${figures}: more than tolerated (sequential test at alpha ${settings.alpha})` +
        describeOutputs(health.agreement?.byOutput) +
        describeDifferences(health.agreement?.differences, settings.numericTolerance),
    };
  }
  if (judgement.verdict === 'pass') {
    const weight = state.plan?.steps[0] ?? 100;
    return {
      kind: 'advance',
      weight,
      stepIndex: 0,
      reason:
        `shadow: v${state.candidate} ${figures}: within tolerance (sequential test at alpha ${settings.alpha})` +
        `${describeDifferences(health.agreement?.differences, settings.numericTolerance)}; ` +
        `health ${health.verdict}: ${health.reasons.join('; ') || 'no signal'}`,
    };
  }
  const startedMs = Date.parse(state.stepStartedAt ?? state.updatedAt);
  if (counts.compared >= settings.maxCompared || nowMs - startedMs >= settings.maxShadowMs) {
    return {
      kind: 'wait',
      untilMs: Number.POSITIVE_INFINITY,
      why: WaitReason.AGREEMENT_UNDECIDED,
      detail:
        `shadow: v${state.candidate} ${figures}, undecided at the phase's limit (${settings.maxCompared} compared ` +
        `requests or ${Math.round(settings.maxShadowMs / 60_000)} min): it disagrees about as often as tolerated; ` +
        `\`sluice promote ${state.model}\` or \`sluice rollback ${state.model}\``,
    };
  }
  return {
    kind: 'wait',
    untilMs: nowMs + EVIDENCE_RECHECK_MS,
    why: WaitReason.AGREEMENT,
    detail:
      `shadow: v${state.candidate} ${figures} so far; the sequential test needs more to pass or fail ` +
      `(at least ${settings.minCompared} to pass${health.agreement === undefined ? '; the target compares no answers' : ''})`,
  };
}

/**
 * `; by output, the compared requests each disagreed on: label 57, probabilities 12`, most first; empty without
 * counts.
 */
export function describeOutputs(
  byOutput: Readonly<Record<string, number>> | undefined,
  counted = 'compared requests',
): string {
  const outputs = Object.entries(byOutput ?? {}).filter(([, count]) => count > 0);
  if (outputs.length === 0) return '';
  const listed = outputs
    .sort(([a, left], [b, right]) => right - left || a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  return `; by output, the ${counted} each disagreed on: ${listed}`;
}

/**
 * `; relative differences |candidate - stable| / max(1, |stable|) per request, p50 / p99 (tolerance 0.001):
 * probabilities 1.2e-7 / 3.4e-6`; empty without figures.
 */
export function describeDifferences(
  differences: Readonly<Record<string, DifferenceFigures>> | undefined,
  numericTolerance: number,
  counted = 'request',
): string {
  const outputs = Object.entries(differences ?? {}).filter(([, figures]) => figures.compared > 0);
  if (outputs.length === 0) return '';
  const figure = (value: number) => (value === 0 ? '0' : value.toPrecision(2));
  const listed = outputs
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { p50, p99 }]) => `${name} ${figure(p50)} / ${figure(p99)}`)
    .join(', ');
  return (
    `; relative differences |candidate - stable| / max(1, |stable|) per ${counted}, p50 / p99 ` +
    `(tolerance ${numericTolerance}): ${listed}`
  );
}

/**
 * `disagreed with v1 on 3 of 120 compared requests (2.5%; 2.0% tolerated)`; a batch request counts its share of
 * disagreeing rows, so the count may be fractional (`2.25 of 120`).
 */
export function describeAgreement(
  counts: { readonly compared: number; readonly disagreed: number },
  stable: number,
  settings: Pick<GateSettings, 'tolerance'>,
): string {
  const share = counts.compared === 0 ? 0 : (100 * counts.disagreed) / counts.compared;
  const disagreed = Number.isInteger(counts.disagreed)
    ? String(counts.disagreed)
    : String(Math.round(counts.disagreed * 100) / 100);
  return `disagreed with v${stable} on ${disagreed} of ${counts.compared} compared requests (${share.toFixed(1)}%; ${(100 * settings.tolerance).toFixed(1)}% tolerated)`;
}

/**
 * `answers other classes than v1 over the step (requests per class, candidate vs stable: 0 3 vs 40, ...; chi-square
 * 21.3, 2 dof, p 2.0e-5)`.
 */
function describeClassShares(shares: ReturnType<typeof compareClassShares>, stable: number): string {
  const cells = shares.cells.map((cell) => `${cell.classes} ${cell.candidate} vs ${cell.stable}`).join(', ');
  return (
    `answers other classes than v${stable} over the step (requests per class, candidate vs stable: ${cells}; ` +
    `chi-square ${shares.statistic.toFixed(1)}, ${shares.degreesOfFreedom} dof, p ${shares.pValue.toPrecision(2)})`
  );
}
