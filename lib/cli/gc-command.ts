import type { Command } from 'commander';
import { parseDuration } from '../core/rollout/plan-rollout.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { KeptReason, UNPUBLISHED_GRACE_MS, type UnpublishedVersion } from '../storage/ModelRegistry.js';
import type { CliIo } from './cli-io.js';
import { formatDuration } from './describe-rollout.js';
import { UsageError } from './exit-codes.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Options of `sluice gc`. */
interface GcCommandOptions extends GlobalOptions {
  readonly grace?: string;
  readonly dryRun?: boolean;
}

/** What a kept version's line says about why it stays. */
const KEPT_BECAUSE: Record<KeptReason, (grace: string) => string> = {
  [KeptReason.YOUNG]: (grace) => `claimed less than ${grace} ago: its publish may still be in flight`,
  [KeptReason.UNDATED]: () =>
    'no readable claim says when its upload began; delete it by hand if it is stale',
  [KeptReason.PUBLISHED]: () => 'its manifest was written while gc ran: it is a version now',
};

/**
 * `sluice gc [--grace D] [--dry-run]`: deletes the bytes of version numbers that never got a manifest (a publish
 * killed before its commit) and were claimed longer than the grace period ago (default 1h), on the local stack or a
 * bucket. Published versions, and uploads younger than the grace period, are never touched; the claims stay, so
 * those numbers are never reused.
 */
export function registerGcCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('gc'), io)
    .description('remove the bytes of publishes that died before writing their manifest')
    .option(
      '--grace <duration>',
      `leave bytes claimed less than this long ago, e.g. 30m, 2h (default ${formatDuration(UNPUBLISHED_GRACE_MS)})`,
    )
    .option('--dry-run', 'list what would be removed, and remove nothing')
    .addHelpText(
      'after',
      '\nA publish killed after uploading its bytes but before writing its manifest leaves model.onnx (and\n' +
        'reference.jsonl) without a version. gc deletes those bytes once their claim is older than --grace; a\n' +
        'version with a manifest is never touched. The local stack does the same at every start.\n' +
        '\nExamples:\n  npx sluice gc --local\n  npx sluice gc --bucket my-registry --grace 6h --dry-run',
    )
    .action(async (options: GcCommandOptions) => {
      const graceMs = parseGraceOption(options.grace);
      const target = await resolveRegistryTarget(options, io.env);
      const report = await target.registry.sweepUnpublished({
        graceMs,
        ...(options.dryRun ? { dryRun: true } : {}),
      });
      if (options.json) {
        io.stdout(
          `${JSON.stringify({ registry: target.description, graceMs, dryRun: options.dryRun === true, ...report })}\n`,
        );
        return;
      }
      const grace = formatDuration(graceMs);
      if (report.removed.length === 0 && report.kept.length === 0) {
        io.stdout(`nothing to remove on ${target.description}: every version with bytes has a manifest\n`);
        return;
      }
      if (report.removed.length > 0) {
        const verb = options.dryRun ? 'would remove' : 'removed';
        io.stdout(
          `${verb} the bytes of ${count(report.removed.length)} without a manifest from ${target.description} (claimed over ${grace} ago):\n`,
        );
        for (const entry of report.removed) io.stdout(`  ${describeEntry(entry)}\n`);
        io.stdout('  their numbers stay claimed and are never reused\n');
      }
      if (report.kept.length > 0) {
        io.stdout(`kept ${count(report.kept.length)} without a manifest:\n`);
        for (const entry of report.kept) {
          io.stdout(`  ${describeEntry(entry)}: ${KEPT_BECAUSE[entry.reason](grace)}\n`);
        }
      }
    });
}

/** Reads `--grace`: a duration such as 30m or 2h (0 included); a usage error otherwise. */
function parseGraceOption(text: string | undefined): number {
  if (text === undefined) return UNPUBLISHED_GRACE_MS;
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof RolloutError) throw new UsageError(`--grace: ${error.message}`, { cause: error });
    throw error;
  }
}

/** `iris v3  model.onnx, reference.jsonl  claimed 2026-01-01T00:00:00.000Z` */
function describeEntry(entry: UnpublishedVersion): string {
  const files = entry.keys.map((key) => key.slice(key.lastIndexOf('/') + 1)).join(', ');
  return `${entry.model} v${entry.version}  ${files}  ${entry.claimedAt ? `claimed ${entry.claimedAt}` : 'no dated claim'}`;
}

function count(versions: number): string {
  return versions === 1 ? '1 version number' : `${versions} version numbers`;
}
