import { type Command, Option } from 'commander';
import type { CliIo } from './cli-io.js';
import type { TargetOptions } from './registry-target.js';
import type { RolloutTargetOptions } from './rollout-context.js';

/** The options that name an S3 registry; none of them goes with `--local`. */
const S3_TARGET_OPTIONS = ['bucket', 'region', 'endpoint'];

/** Options every command that reads or writes the registry accepts. */
export interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
}

/** Options every rollout command accepts. */
export interface RolloutCommandOptions extends GlobalOptions, RolloutTargetOptions {}

/**
 * Adds the target options (`--local`, `--bucket`, `--region`, `--endpoint`) and `--json` to a command, and
 * routes its output and exits through the CLI's own.
 */
export function withTargetOptions(command: Command, io: CliIo): Command {
  return (
    command
      // Two targets at once is a usage error, never a silent pick of one (environment defaults do not count).
      .addOption(
        new Option('--local', 'use the running local stack (npm start)').conflicts(S3_TARGET_OPTIONS),
      )
      .option('--bucket <name>', 'registry bucket on S3 (default: $SLUICE_BUCKET)')
      .option('--region <region>', 'AWS region of the bucket (default: $AWS_REGION)')
      .addOption(
        new Option('--endpoint <url>', 'S3-compatible endpoint (default: $SLUICE_S3_ENDPOINT)').hideHelp(),
      )
      .option('--json', 'print JSON instead of text')
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
  );
}

/** Adds the option the rollout commands need on AWS: the model's predict function. */
export function withRolloutTargetOptions(command: Command, io: CliIo): Command {
  return withTargetOptions(command, io).option(
    '--function <name>',
    "AWS: the model's predict function, name or ARN (default: $SLUICE_FUNCTION)",
  );
}
