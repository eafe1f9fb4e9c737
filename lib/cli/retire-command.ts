import type { Command } from 'commander';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import { retirementRefusal } from '../core/rollout/retirement-refusal.js';
import type { CliIo } from './cli-io.js';
import { parseVersionArgument } from './model-argument.js';
import { type RegistryTarget, resolveRegistryTarget } from './registry-target.js';
import { parseReasonOption } from './rollout-arguments.js';
import { CLI_ACTOR, resolveRolloutContext } from './rollout-context.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Reason recorded for a retirement when `--reason` is not given. */
export const DEFAULT_RETIRE_REASON = 'retired by hand';

/**
 * `sluice retire <model> <version> [--reason T]`: marks a published version retired (`retired.json` beside its
 * manifest, written once): from then on no rollout is started to it (`sluice deploy`, `cdk deploy`, the local stack
 * refuse it), and publishing its bytes again makes a new version. The version stays readable (`show`, `diff`) and
 * its explicit-version routes still answer; a rollback to it is still allowed. Refused (exit 1) while the version
 * is routed or is the stable or candidate of a rollout.
 */
export function registerRetireCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('retire'), io)
    .description('retire a version: no rollout is started to it again (refused while it is routed)')
    .argument('<model>', 'model name')
    .argument('<version>', 'the version to retire', parseVersionArgument)
    .option('--reason <text>', 'why, kept in its retirement (one line)', DEFAULT_RETIRE_REASON)
    .addHelpText('after', '\nExample:\n  npx sluice retire iris 3 --reason "wrong labels" --local')
    .action(async (model: string, version: number, options: GlobalOptions & { reason: string }) => {
      const reason = parseReasonOption(options.reason);
      const target = await resolveRegistryTarget(options, io.env);
      const [state, newest] = await Promise.all([
        currentState(target, model, options, io),
        target.registry.latestVersion(model),
      ]);
      // Published at all (a missing version is named as such, not as "not routed").
      await target.registry.getManifest(model, version);
      const refusal = retirementRefusal(state, version, newest);
      if (refusal) {
        throw new RolloutError(
          `${model} ${refusal}; it cannot be retired while routed: roll it back or deploy another version first`,
        );
      }
      const { retirement, alreadyRetired } = await target.registry.retire(model, version, {
        actor: CLI_ACTOR,
        reason,
      });
      if (options.json) {
        io.stdout(
          `${JSON.stringify({ result: alreadyRetired ? 'already-retired' : 'retired', ...retirement })}\n`,
        );
        return;
      }
      io.stdout(
        alreadyRetired
          ? `${model} v${version} was retired already, by ${retirement.actor} at ${retirement.retiredAt}: ${retirement.reason}\n`
          : `retired ${model} v${version} on ${target.description}: no rollout is started to it again; its bytes and manifest stay\n`,
      );
    });
}

/** The model's rollout state: the local stack's (it owns its states), or the registry bucket's on AWS. */
async function currentState(
  target: RegistryTarget,
  model: string,
  options: GlobalOptions,
  io: CliIo,
): Promise<RolloutState | undefined> {
  if (options.local) return (await resolveRolloutContext(options, io.env)).control.current(model);
  const { RolloutStore } = await import('../storage/RolloutStore.js');
  return new RolloutStore({ store: target.objects }).current(model);
}
