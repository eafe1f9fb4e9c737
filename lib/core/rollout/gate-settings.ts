import type { RolloutPlan } from './RolloutPlan.js';

/** Share of answers a candidate may give differently from the stable version: 2 in 100. */
export const DEFAULT_TOLERANCE = 0.02;

/** Error rate of each behaviour test (false rollbacks of a tolerable candidate, false passes of a worse one). */
export const DEFAULT_ALPHA = 0.05;

/** Fewest compared answers before the shadow phase may pass. */
export const DEFAULT_MIN_COMPARED = 100;

/**
 * Most compared requests a shadow phase takes: a candidate whose disagreement is this close to the tolerance that
 * the sequential test has not decided by then (just under or over it) is handed to a person, not watched for ever.
 */
export const DEFAULT_MAX_COMPARED = 20_000;

/**
 * Longest shadow phase, in milliseconds: 6 hours, as long as the local stack keeps its counts (HEALTH_RETENTION_MS),
 * so the test never reads a count that has started to fall. Past it, a person decides.
 */
export const DEFAULT_MAX_SHADOW_MS = 6 * 3_600_000;

/** Relative tolerance of numeric outputs: |candidate - stable| <= 1e-3 * max(1, |stable|). */
export const DEFAULT_NUMERIC_TOLERANCE = 1e-3;

/** Lower accuracy on the reference set than the stable version's that a candidate may have: 2 points. */
export const DEFAULT_ACCURACY_MARGIN = 0.02;

/** Percent of requests shadowed by the candidate before it gets traffic, for automatic plans. */
export const DEFAULT_SHADOW_PERCENT = 10;

/** A plan's behaviour-gate settings with every default filled. */
export interface GateSettings {
  readonly tolerance: number;
  readonly alpha: number;
  readonly minCompared: number;
  readonly maxCompared: number;
  readonly maxShadowMs: number;
  readonly numericTolerance: number;
  readonly replayStandsIn: boolean;
  readonly accuracyMargin: number;
  /** 0: no shadow phase. */
  readonly shadowPercent: number;
}

/**
 * The behaviour gates of a plan, defaults filled; a plan stored before the gates existed has no shadow phase.
 *
 * @example
 * gateSettingsOf(planRollout({ strategy: 'canary' })).tolerance; // 0.02
 */
export function gateSettingsOf(plan: RolloutPlan | undefined): GateSettings {
  const gates = plan?.gates ?? {};
  return {
    tolerance: gates.tolerance ?? DEFAULT_TOLERANCE,
    alpha: gates.alpha ?? DEFAULT_ALPHA,
    minCompared: gates.minCompared ?? DEFAULT_MIN_COMPARED,
    maxCompared: gates.maxCompared ?? DEFAULT_MAX_COMPARED,
    maxShadowMs: gates.maxShadowMs ?? DEFAULT_MAX_SHADOW_MS,
    numericTolerance: gates.numericTolerance ?? DEFAULT_NUMERIC_TOLERANCE,
    replayStandsIn: gates.replayStandsIn ?? false,
    accuracyMargin: gates.accuracyMargin ?? DEFAULT_ACCURACY_MARGIN,
    shadowPercent: plan?.shadowPercent ?? 0,
  };
}
