import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import { stateSummary } from './describe-rollout.js';
import { MAX_REASON_CHARS, parseReasonOption } from './rollout-arguments.js';
import { resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** Reason recorded for a rollback when `--reason` is not given. */
export const DEFAULT_ROLLBACK_REASON = 'rolled back by hand';

/** `sluice rollback <model>`: the candidate's weight goes back to 0; the stable version serves everything. */
export function registerRollbackCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('rollback'), io)
    .description("send the candidate's traffic back to the stable version")
    .argument('<model>', 'model name')
    .option(
      '--reason <text>',
      `why, kept in the rollout history (one line, at most ${MAX_REASON_CHARS} characters)`,
      DEFAULT_ROLLBACK_REASON,
    )
    .addHelpText('after', '\nExample:\n  npx sluice rollback iris --reason "wrong labels" --local')
    .action(async (model: string, options: RolloutCommandOptions & { reason: string }) => {
      const reason = parseReasonOption(options.reason);
      const context = await resolveRolloutContext(options, io.env, io.awsClients);
      const before = await context.control.current(model);
      const state = await context.control.rollback(model, reason);
      if (options.json) {
        io.stdout(`${JSON.stringify({ result: 'rolled-back', ...stateSummary(state) })}\n`);
        return;
      }
      io.stdout(`rolled back ${model} v${before?.candidate ?? '?'}: v${state.stable} takes all traffic\n`);
    });
}
