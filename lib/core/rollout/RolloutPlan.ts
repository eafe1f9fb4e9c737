import { z } from 'zod';

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
});
/** A rollout plan. */
export type RolloutPlan = z.infer<typeof RolloutPlanSchema>;
