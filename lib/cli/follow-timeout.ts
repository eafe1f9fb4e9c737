import { setTimeout as delay } from 'node:timers/promises';
import { parseDuration } from '../core/rollout/plan-rollout.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './exit-codes.js';

/** Thrown by {@link followSleep} once the follower has used up its `--timeout`. */
export class FollowDeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`following ended after ${timeoutMs} ms`);
  }
}

/**
 * The follower's wait between two reads, ending the following (with {@link FollowDeadlineError}) once `timeoutMs` has
 * passed: the last wait is shortened so what it follows (a rollout, a batch run) is read once more at the deadline itself. Time is the wall clock,
 * or, when the io brings its own `sleep` (a test's clock), the time that sleep was asked to wait, so a test's
 * following ends by its clock and never by the machine's.
 */
export function followSleep(io: CliIo, timeoutMs: number | undefined): (ms: number) => Promise<void> {
  const sleep = io.sleep ?? ((ms: number) => delay(ms));
  if (timeoutMs === undefined) return sleep;
  let slept = 0;
  const now = io.sleep ? () => slept : Date.now;
  const started = now();
  return async (ms) => {
    const left = timeoutMs - (now() - started);
    if (left <= 0) throw new FollowDeadlineError(timeoutMs);
    const wait = Math.min(ms, left);
    await sleep(wait);
    slept += wait;
  };
}

/** Reads `--timeout` (of `deploy`, `batch`): a duration above 0 such as 10m; a usage error otherwise. */
export function parseTimeoutOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    if (error instanceof RolloutError) throw new UsageError(`--timeout: ${error.message}`, { cause: error });
    throw error;
  }
  if (ms === 0) throw new UsageError('--timeout must be above 0; use --no-wait not to follow at all');
  return ms;
}
