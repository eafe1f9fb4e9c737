import { InvalidArgumentError } from 'commander';
import { describeIssues } from '../core/errors/describe-issues.js';
import { ModelNameSchema } from '../core/manifest/ModelManifest.js';

/**
 * Commander's parser for a model name argument or option: a name the registry cannot hold is a usage error (exit 2),
 * reported before anything is read or written.
 *
 * @example
 * command.argument('<model>', 'model name', parseModelArgument);
 */
export function parseModelArgument(value: string): string {
  const parsed = ModelNameSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidArgumentError(`"${value}" is not a model name: ${describeIssues(parsed.error)}.`);
  }
  return parsed.data;
}

/**
 * Commander's parser for `--version N` of the registry commands: a published version number.
 *
 * @example
 * command.option('--version <n>', 'version number', parseVersionArgument);
 */
export function parseVersionArgument(value: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`versions are 1, 2, 3, ...; got "${value}".`);
  }
  return Number(value);
}
