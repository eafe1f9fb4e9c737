import type { Command } from 'commander';
import { RolloutStatus } from '../core/rollout/RolloutState.js';
import type { CliIo } from './cli-io.js';
import { describeRouting, stateSummary } from './describe-rollout.js';
import { parseWeightOption } from './rollout-arguments.js';
import { resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/**
 * `sluice promote <model> [--weight W]`: moves the candidate to W percent (100 makes it stable), or to its plan's
 * next step. The only way a manual rollout moves; also finishes a rollout whose `sluice deploy` was stopped.
 */
export function registerPromoteCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('promote'), io)
    .description("move the candidate to --weight percent, or to its plan's next step (100% makes it stable)")
    .argument('<model>', 'model name')
    .option('--weight <percent>', 'the weight to move to, above the current one; 100 promotes to stable')
    .addHelpText(
      'after',
      '\nExamples:\n  npx sluice promote iris --local\n  npx sluice promote iris --weight 50 --local',
    )
    .action(async (model: string, options: RolloutCommandOptions & { weight?: string }) => {
      const weight = parseWeightOption(options.weight);
      const context = await resolveRolloutContext(options, io.env, io.awsClients);
      const state = await context.control.promote(model, weight === undefined ? {} : { weight });
      const promoted = state.status === RolloutStatus.IDLE;
      if (options.json) {
        io.stdout(
          `${JSON.stringify({ result: promoted ? 'promoted' : 'rolling', ...stateSummary(state) })}\n`,
        );
        return;
      }
      io.stdout(
        promoted
          ? `promoted: ${model} v${state.stable} takes all traffic\n`
          : `${model}: ${describeRouting(state)}; \`sluice promote ${model}\` again to move on\n`,
      );
    });
}
