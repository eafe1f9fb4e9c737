import { DEFAULT_SHADOW_PERCENT } from '../core/rollout/gate-settings.js';
import { FULL_WEIGHT, MAX_STEP_WEIGHT, parseDuration, planRollout } from '../core/rollout/plan-rollout.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { type RolloutPlan, RolloutStrategy } from '../core/rollout/RolloutPlan.js';
import { UsageError } from './exit-codes.js';

/** Whole numbers as the CLI takes them for versions and weights: no sign, no leading zeros, no fraction. */
const WHOLE_NUMBER_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** The strategies `sluice deploy --strategy` accepts. */
export const STRATEGY_CHOICES: readonly string[] = Object.values(RolloutStrategy);

/** Reads `--version`: a published version number; a usage error otherwise. */
export function parseVersionOption(text: string | undefined): number {
  if (text === undefined) {
    throw new UsageError('--version must be a version number (1, 2, 3, ...); it is required');
  }
  if (!WHOLE_NUMBER_PATTERN.test(text) || Number(text) < 1) {
    throw new UsageError(`--version must be a version number (1, 2, 3, ...); got "${text}"`);
  }
  return Number(text);
}

/** Longest `--reason` kept: one readable line in the history. */
export const MAX_REASON_CHARS = 500;

/** Reads `--reason`: at most {@link MAX_REASON_CHARS} characters, no control characters; a usage error otherwise. */
export function parseReasonOption(text: string): string {
  if (text.length > MAX_REASON_CHARS) {
    throw new UsageError(`--reason must be at most ${MAX_REASON_CHARS} characters; got ${text.length}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new UsageError('--reason must be plain text on one line: no control characters or line breaks');
  }
  return text;
}

/** Reads `--min-requests`: a whole number, 0 or more; a usage error otherwise. */
export function parseMinRequestsOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!WHOLE_NUMBER_PATTERN.test(text)) {
    throw new UsageError(`--min-requests must be a whole number, 0 or more; got "${text}"`);
  }
  return Number(text);
}

/**
 * Reads `--weight`: a whole percent from 1 to `max` (99 for `deploy`, where 100 is the all-at-once strategy;
 * 100 for `promote`, where it makes the candidate stable); a usage error otherwise.
 */
export function parseWeightOption(text: string | undefined, max: number = FULL_WEIGHT): number | undefined {
  if (text === undefined) return undefined;
  if (!WHOLE_NUMBER_PATTERN.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`--weight must be a whole percent from 1 to ${max}; got "${text}"`);
  }
  return Number(text);
}

/** Reads a share option (`--tolerance`, `--alpha`): a number strictly between 0 and `max`; a usage error otherwise. */
export function parseShareOption(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^(0|[1-9][0-9]*)?(\.[0-9]+)?$/.test(text) && text !== '' ? Number(text) : Number.NaN;
  if (!(value > 0 && value < max)) {
    throw new UsageError(`${name} must be a number above 0 and below ${max}, e.g. 0.02; got "${text}"`);
  }
  return value;
}

/** Reads `--shadow-percent`: a percent from 0 (no shadow phase) to 100; a usage error otherwise. */
export function parseShadowOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!WHOLE_NUMBER_PATTERN.test(text) || Number(text) > 100) {
    throw new UsageError(`--shadow-percent must be a whole percent from 0 to 100; got "${text}"`);
  }
  return Number(text);
}

/** Builds the plan of `sluice deploy` from its options; a bad strategy, weight or interval is a usage error. */
export function parsePlanOptions(options: {
  strategy: string;
  weight?: string;
  interval?: string;
  minRequests?: string;
  shadowPercent?: string;
  tolerance?: string;
  alpha?: string;
  replayStandsIn?: boolean;
  watch?: string;
}): RolloutPlan {
  try {
    const strategy = Object.values(RolloutStrategy).find((choice) => choice === options.strategy);
    if (strategy === undefined) {
      throw new UsageError(
        `--strategy must be one of ${STRATEGY_CHOICES.join(', ')}; got "${options.strategy}"`,
      );
    }
    const tolerance = parseShareOption('--tolerance', options.tolerance, 1);
    const alpha = parseShareOption('--alpha', options.alpha, 0.5);
    const gates = {
      ...(tolerance === undefined ? {} : { tolerance }),
      ...(alpha === undefined ? {} : { alpha }),
      ...(options.replayStandsIn ? { replayStandsIn: true } : {}),
    };
    // The product's default: every automatic rollout starts in the shadow phase unless told otherwise.
    const shadowPercent = parseShadowOption(options.shadowPercent) ?? DEFAULT_SHADOW_PERCENT;
    return planRollout({
      strategy,
      weight: parseWeightOption(options.weight, MAX_STEP_WEIGHT),
      intervalMs: options.interval === undefined ? undefined : parseDuration(options.interval),
      minRequests: parseMinRequestsOption(options.minRequests),
      ...(options.watch === undefined ? {} : { watchMs: parseDuration(options.watch) }),
      shadowPercent,
      ...(Object.keys(gates).length > 0 ? { gates } : {}),
    });
  } catch (error) {
    // The planner's refusals are about what was typed: the command line is wrong.
    if (error instanceof RolloutError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
