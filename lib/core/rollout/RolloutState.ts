import * as z from 'zod';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { RolloutPlanSchema } from './RolloutPlan.js';

/** Where a model's rollout stands. */
export const RolloutStatus = {
  /** No rollout: the stable version takes all traffic. */
  IDLE: 'idle',
  /** A candidate takes `weight` percent of traffic and moves through the plan. */
  ROLLING: 'rolling',
} as const;
/** One rollout status. */
export type RolloutStatus = (typeof RolloutStatus)[keyof typeof RolloutStatus];

/** What a rollout event records; the `action` of a {@link RolloutEvent}. */
export const RolloutAction = {
  /** A rollout started, or a model's first version was deployed directly as stable. */
  DEPLOY: 'deploy',
  /** The candidate moved to another weight, by plan or by hand. */
  STEP: 'step',
  /** The candidate took all traffic and became the stable version. */
  PROMOTE: 'promote',
  /** The candidate's weight went back to 0; the stable version serves everything. */
  ROLLBACK: 'rollback',
  /** A version failed its golden examples and got no traffic. */
  GOLDEN_FAILED: 'golden-failed',
  /** A version was refused before getting any traffic because it was unhealthy already. */
  REFUSED: 'refused',
  /** A version's answers to the reference sets disagreed with the stable version's: it got no traffic. */
  REPLAY_FAILED: 'replay-failed',
} as const;
/** One rollout action. */
export type RolloutAction = (typeof RolloutAction)[keyof typeof RolloutAction];

/**
 * One thing that happened to a model's routing, newest last. `stable` is the stable version when it happened,
 * `candidate` the version it concerned (with their builds, on a target with builds), and `weight` the candidate's weight right after it (100 on promote).
 */
export const RolloutEventSchema = z.object({
  at: z.string().datetime(),
  /** deploy, step, promote, rollback, golden-failed, refused, ... */
  action: z.string(),
  /** Who acted: `cli`, `local-stack`, `alarm`, ... */
  actor: z.string(),
  stable: z.number().int().positive().optional(),
  /** The stable version's build when it happened (targets with builds). */
  stableBuild: z.string().min(1).optional(),
  candidate: z.number().int().positive().optional(),
  /** The candidate's build (targets with builds). */
  candidateBuild: z.string().min(1).optional(),
  weight: z.number().min(0).max(100),
  reason: z.string().optional(),
});
/** One routing event. */
export type RolloutEvent = z.infer<typeof RolloutEventSchema>;

/**
 * A model's routing and rollout, stored in the registry bucket as an append-only series of revisions
 * (`rollouts/NAME/NNNNNNNNNN.json`, the revision zero-padded to 10 digits); the highest revision is the current state. Each revision is written with
 * `If-None-Match: *`, so of two writers that read the same revision only one can write the next.
 */
export const RolloutStateSchema = z.object({
  schemaVersion: z.literal(1),
  model: ModelNameSchema,
  /** Monotonic revision number of this state (its object key). */
  revision: z.number().int().nonnegative(),
  status: z.enum([RolloutStatus.IDLE, RolloutStatus.ROLLING]),
  /**
   * The function whose Lambda versions the builds are (AWS), written when the release creates its alias: a state of
   * an earlier function of the model (removed and added again, or replaced) names versions that are gone.
   */
  functionName: z.string().min(1).optional(),
  /** The version serving everything not routed to the candidate. */
  stable: z.number().int().positive(),
  /** The target's build of the stable version (AWS: its Lambda version), when the target has builds. */
  stableBuild: z.string().min(1).optional(),
  /** The version being rolled out, while rolling. */
  candidate: z.number().int().positive().optional(),
  /**
   * The candidate's build, when the target has builds. A candidate may be the stable model version in another
   * build: a change of sluice's code or the function's configuration rolled out like a new model version.
   */
  candidateBuild: z.string().min(1).optional(),
  /** Percent of traffic the candidate takes (0 while idle). */
  weight: z.number().min(0).max(100),
  plan: RolloutPlanSchema.optional(),
  /** Index into plan.steps of the current weight; -1 below the first step (the shadow phase, a promote below it). */
  stepIndex: z.number().int().min(-1).optional(),
  /**
   * `shadow` while the candidate only shadows a share of requests (weight 0, `stepIndex` -1), passed on the
   * agreement of its answers; absent once it takes traffic.
   */
  phase: z.literal('shadow').optional(),
  /**
   * During the shadow phase on a target with builds: the build routed the shadow share, which answers with the
   * stable version and runs the candidate on the same requests (AWS: a Lambda version with SLUICE_SHADOW_VERSION).
   */
  shadowBuild: z.string().min(1).optional(),
  /** The replay of the reference sets before any traffic, when one ran. */
  replay: z
    .object({
      compared: z.number().int().nonnegative(),
      disagreed: z.number().int().nonnegative(),
      /** The passed replay stands in for live evidence (the plan allows it). */
      standsIn: z.boolean(),
      summary: z.string(),
    })
    .optional(),
  /** When the current step began (bake time counts from here). */
  stepStartedAt: z.string().datetime().optional(),
  /**
   * After a promotion: until when the gates still judge the new stable version, and revert the promotion at once
   * when it breaches one (`WATCH_MS`). Absent otherwise; any later change of the routing ends it.
   */
  watchUntil: z.string().datetime().optional(),
  updatedAt: z.string().datetime(),
  /** Every event since the model's first rollout, newest last (bounded; oldest dropped first). */
  history: z.array(RolloutEventSchema),
});
/** A model's routing and rollout state. */
export type RolloutState = z.infer<typeof RolloutStateSchema>;
