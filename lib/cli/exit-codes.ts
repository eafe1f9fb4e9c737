import { SluiceError } from '../core/errors/SluiceError.js';

/** Process exit codes of the `sluice` CLI. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
} as const;

/** One CLI exit code. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line itself is wrong (exit 2); the message says what to type instead. */
export class UsageError extends SluiceError {}
