import { describeIssues } from '../errors/describe-issues.js';
import { RolloutError } from './RolloutError.js';
import { type RolloutPlan, RolloutPlanSchema, RolloutStrategy } from './RolloutPlan.js';

/** Candidate weight of the first step of canary and manual plans, and the increment of linear plans, in percent. */
export const DEFAULT_STEP_WEIGHT = 10;

/** How long a canary's first step bakes before the candidate takes everything: 5 minutes, like CodeDeploy's presets. */
export const DEFAULT_CANARY_INTERVAL_MS = 5 * 60_000;

/** How long each step of a linear plan bakes: 1 minute. */
export const DEFAULT_LINEAR_INTERVAL_MS = 60_000;

/** How long an all-at-once rollout bakes at 100% before it is promoted: no wait, one health check. */
export const DEFAULT_ALL_AT_ONCE_INTERVAL_MS = 0;

/** Smallest first-step weight, in percent: 0 would route nothing and prove nothing. */
export const MIN_STEP_WEIGHT = 1;

/** Largest first-step weight, in percent: 100 is all-at-once. */
export const MAX_STEP_WEIGHT = 99;

/** The weight at which a candidate takes all traffic and is promoted. */
export const FULL_WEIGHT = 100;

/**
 * Requests the candidate must answer in a step before the clock may take the next one (evidence): enough to
 * judge an error rate at the 5 % default limit, few enough for a 10 % canary of a quiet model.
 */
export const DEFAULT_MIN_REQUESTS = 20;

/** What {@link planRollout} takes; the CLI's `--strategy`, `--weight` and `--interval`. */
export interface PlanRolloutInput {
  /** How traffic moves to the candidate. */
  readonly strategy: RolloutStrategy;
  /**
   * First weight (canary, manual) or increment (linear), a whole percent from 1 to 99; ignored by all-at-once.
   * @default DEFAULT_STEP_WEIGHT
   */
  readonly weight?: number;
  /**
   * Milliseconds each step bakes; manual plans never advance on their own whatever it is.
   * @default DEFAULT_CANARY_INTERVAL_MS (canary), DEFAULT_LINEAR_INTERVAL_MS (linear), 0 (all-at-once, manual)
   */
  readonly intervalMs?: number;
  /**
   * Requests the candidate must answer in each step before the clock takes the next one.
   * @default DEFAULT_MIN_REQUESTS
   */
  readonly minRequests?: number;
  /**
   * Percent of requests the candidate also answers, unseen, before it gets traffic (0: no shadow phase). Manual
   * plans have none: a person moves them. `sluice deploy` asks for DEFAULT_SHADOW_PERCENT unless told otherwise;
   * plans read from `sluice.config.json` (the CDK deploy) have none yet.
   * @default 0
   */
  readonly shadowPercent?: number;
  /** The behaviour gates' settings. @default the defaults of gate-settings.ts */
  readonly gates?: RolloutPlan['gates'];
  /**
   * Milliseconds the gates still judge the new stable version after the promotion and revert it on a breach (0: no
   * watch window). @default WATCH_MS (10 minutes), left out of the plan
   */
  readonly watchMs?: number;
}

const DEFAULT_INTERVAL_MS: Record<RolloutStrategy, number> = {
  [RolloutStrategy.CANARY]: DEFAULT_CANARY_INTERVAL_MS,
  [RolloutStrategy.LINEAR]: DEFAULT_LINEAR_INTERVAL_MS,
  [RolloutStrategy.ALL_AT_ONCE]: DEFAULT_ALL_AT_ONCE_INTERVAL_MS,
  // Never read to advance; stored as 0 so the plan does not pretend to have a schedule.
  [RolloutStrategy.MANUAL]: 0,
};

/**
 * The plan of a rollout: the candidate's weights step by step, ending at 100, and the bake time of each step.
 *
 * - canary: `[weight, 100]`, 5 minutes;
 * - linear: `weight, 2*weight, ...` then 100, 1 minute each;
 * - all-at-once: `[100]`;
 * - manual: `[weight, 100]`, moved on only by `sluice promote`.
 *
 * Every step also needs evidence: `minRequests` answered by the candidate before the clock takes the next one.
 * Throws {@link RolloutError} for an unknown strategy, a weight outside 1..99 or a negative interval or minimum.
 *
 * @example
 * planRollout({ strategy: 'linear', weight: 25 }); // { strategy: 'linear', steps: [25, 50, 75, 100], intervalMs: 60000, minRequests: 20 }
 */
export function planRollout(input: PlanRolloutInput): RolloutPlan {
  const { strategy } = input;
  if (!isStrategy(strategy)) {
    throw new RolloutError(
      `unknown rollout strategy "${String(strategy)}"; use ${Object.values(RolloutStrategy).join(', ')}`,
    );
  }
  const intervalMs = input.intervalMs ?? DEFAULT_INTERVAL_MS[strategy];
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 0) {
    throw new RolloutError(
      `the interval must be a whole number of milliseconds, 0 or more; got ${intervalMs}`,
    );
  }
  const minRequests = input.minRequests ?? DEFAULT_MIN_REQUESTS;
  if (!Number.isSafeInteger(minRequests) || minRequests < 0) {
    throw new RolloutError(
      `the minimum requests per step must be a whole number, 0 or more; got ${minRequests}`,
    );
  }
  const shadowPercent = strategy === RolloutStrategy.MANUAL ? 0 : (input.shadowPercent ?? 0);
  if (!Number.isFinite(shadowPercent) || shadowPercent < 0 || shadowPercent > 100) {
    throw new RolloutError(`the shadow share must be a percent from 0 to 100; got ${shadowPercent}`);
  }
  if (input.watchMs !== undefined && !(Number.isSafeInteger(input.watchMs) && input.watchMs >= 0)) {
    throw new RolloutError(
      `the watch window must be a whole number of milliseconds, 0 or more; got ${input.watchMs}`,
    );
  }
  const gated = {
    minRequests,
    ...(shadowPercent > 0 ? { shadowPercent } : {}),
    ...(input.gates ? { gates: input.gates } : {}),
    ...(input.watchMs === undefined ? {} : { watchMs: input.watchMs }),
  };
  if (strategy === RolloutStrategy.ALL_AT_ONCE) {
    return { strategy, steps: [FULL_WEIGHT], intervalMs, ...gated };
  }
  const weight = input.weight ?? DEFAULT_STEP_WEIGHT;
  if (!Number.isInteger(weight) || weight < MIN_STEP_WEIGHT || weight > MAX_STEP_WEIGHT) {
    throw new RolloutError(
      `${strategy} weight must be a whole percent from ${MIN_STEP_WEIGHT} to ${MAX_STEP_WEIGHT}; got ${weight}` +
        ' (use the all-at-once strategy to move all traffic at once)',
    );
  }
  if (strategy === RolloutStrategy.LINEAR) {
    const steps: number[] = [];
    for (let step = weight; step < FULL_WEIGHT; step += weight) {
      steps.push(step);
    }
    return { strategy, steps: [...steps, FULL_WEIGHT], intervalMs, ...gated };
  }
  return { strategy, steps: [weight, FULL_WEIGHT], intervalMs, ...gated };
}

/**
 * Checks a plan that did not come from {@link planRollout} (a stored state, a config file): the schema, and
 * weights above 0, strictly ascending, ending at 100. Throws {@link RolloutError} naming what is wrong.
 */
export function assertValidPlan(plan: unknown): RolloutPlan {
  const parsed = RolloutPlanSchema.safeParse(plan);
  if (!parsed.success) {
    throw new RolloutError(`not a rollout plan: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const { steps } = parsed.data;
  const ascending = steps.every((step, index) => step > 0 && (index === 0 || step > (steps[index - 1] ?? 0)));
  if (!ascending || steps.at(-1) !== FULL_WEIGHT) {
    throw new RolloutError(
      `a rollout plan's steps must be weights above 0, strictly ascending and ending at ${FULL_WEIGHT}; got [${steps.join(', ')}]`,
    );
  }
  if (parsed.data.strategy === RolloutStrategy.MANUAL && (parsed.data.shadowPercent ?? 0) > 0) {
    // A shadow phase ends on its own when it passes; a manual plan moves only when a person says so.
    throw new RolloutError('a manual rollout plan has no shadow phase: leave its shadow share out or at 0');
  }
  return parsed.data;
}

/** Milliseconds per unit of a duration; the units {@link DURATION_PATTERN} accepts. */
const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A number, optionally with a unit: `1500`, `1500ms`, `30s`, `2.5m`, `1h`. */
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/**
 * Milliseconds in a duration as the CLI's `--interval` takes it: `30s`, `5m`, `1h`, `1500ms`, or plain milliseconds.
 * Throws {@link RolloutError} for anything else, including negative and fractional milliseconds.
 *
 * @example
 * parseDuration('5m'); // 300000
 */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  // No match leaves NaN, refused below with everything else that is not a whole number of milliseconds.
  const ms = Number(match?.[1]) * (DURATION_UNITS_MS[match?.[2] ?? 'ms'] ?? Number.NaN);
  if (!Number.isSafeInteger(ms)) {
    throw new RolloutError(
      `invalid duration "${text}": use milliseconds or a number with ms, s, m or h, e.g. 1500ms, 30s, 5m, 1h`,
    );
  }
  return ms;
}

function isStrategy(value: unknown): value is RolloutStrategy {
  return Object.values(RolloutStrategy).some((strategy) => strategy === value);
}
