import * as z from 'zod';

/** How a manual rollout moves traffic to the new version. */
export const RolloutStrategy = {
  CANARY: 'canary',
  LINEAR: 'linear',
  ALL_AT_ONCE: 'all-at-once',
  MANUAL: 'manual',
} as const;
/** One rollout strategy. */
export type RolloutStrategy = (typeof RolloutStrategy)[keyof typeof RolloutStrategy];

/**
 * A rollout plan: the candidate's traffic weights in percent, step by step, ending at 100, and how long
 * each step bakes before the next. `manual` plans never advance on their own: `sluice promote` moves them.
 */
export const RolloutPlanSchema = z.object({
  strategy: z.enum([
    RolloutStrategy.CANARY,
    RolloutStrategy.LINEAR,
    RolloutStrategy.ALL_AT_ONCE,
    RolloutStrategy.MANUAL,
  ]),
  /** Candidate weights in percent, strictly ascending, the last one 100. */
  steps: z.array(z.number().min(0).max(100)).min(1),
  /** Milliseconds each step bakes before the next (ignored by manual plans). */
  intervalMs: z.number().int().nonnegative(),
  /**
   * Evidence: requests the candidate must have answered in a step before the clock may take the next one; until
   * then the bake is extended. Absent in states written before it existed, read as `DEFAULT_MIN_REQUESTS`.
   */
  minRequests: z.number().int().nonnegative().optional(),
  /**
   * After the promotion, how long the gates still judge the new stable version and revert the promotion on a
   * breach (the watch window), in ms; 0 for none. Absent: `WATCH_MS` (10 minutes).
   */
  watchMs: z.number().int().nonnegative().optional(),
  /**
   * Percent of the model's requests the candidate also answers, unseen by clients, before it gets any traffic: the
   * shadow phase, passed on the agreement of its answers with the stable version's. 0 or absent: no shadow phase.
   */
  shadowPercent: z.number().min(0).max(100).optional(),
  /** The behaviour gates' settings; absent ones take their defaults (see `gateSettingsOf`). */
  gates: z
    .object({
      /** The share of answers the candidate may give differently from the stable version (0.02: 2 %). */
      tolerance: z.number().gt(0).lt(1).optional(),
      /** Error rate of each behaviour test: false rollbacks of a tolerable candidate stay at or under it. */
      alpha: z.number().gt(0).lt(0.5).optional(),
      /** Fewest compared requests before the shadow phase may pass. */
      minCompared: z.number().int().nonnegative().optional(),
      /** Most compared requests of an undecided shadow phase before it waits for a person. */
      maxCompared: z.number().int().positive().optional(),
      /** Longest undecided shadow phase, in milliseconds, before it waits for a person. */
      maxShadowMs: z.number().int().positive().optional(),
      /** Relative tolerance of numeric outputs (other than class scores). */
      numericTolerance: z.number().nonnegative().optional(),
      /** Whether a passed replay of the reference set stands in for live evidence (a quiet model can finish). */
      replayStandsIn: z.boolean().optional(),
      /** How much lower than the stable version's the candidate's accuracy on the reference set may be. */
      accuracyMargin: z.number().min(0).max(1).optional(),
    })
    .optional(),
});
/** A rollout plan. */
export type RolloutPlan = z.infer<typeof RolloutPlanSchema>;
