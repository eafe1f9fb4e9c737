import { SluiceError } from '../core/errors/SluiceError.js';

/** Process exit codes of the `sluice` CLI. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** `sluice deploy --timeout` stopped following; the rollout keeps running. */
  FOLLOW_TIMEOUT: 3,
} as const;

/** One CLI exit code. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line itself is wrong (exit 2); the message says what to type instead. */
export class UsageError extends SluiceError {}

/**
 * `sluice deploy` stopped following at its `--timeout` (exit 3): the rollout was neither promoted nor rolled back
 * by then, and keeps running. The message says how to follow it again.
 */
export class FollowTimeoutError extends SluiceError {
  /** The exit code the CLI ends with. */
  readonly exitCode = ExitCode.FOLLOW_TIMEOUT;
}
