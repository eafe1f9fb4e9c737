import type { Command } from 'commander';
import type { StepResult } from '../rollout/RolloutEngine.js';
import { RolloutError } from '../rollout/RolloutError.js';
import { RolloutStrategy } from '../rollout/RolloutPlan.js';
import { RolloutStatus } from '../rollout/RolloutState.js';
import {
  describePlan,
  describeRouting,
  describeStep,
  lastRollbackOf,
  stateSummary,
} from './describe-rollout.js';
import { parsePlanOptions, parseVersionOption, STRATEGY_CHOICES } from './rollout-arguments.js';
import { resolveRolloutContext } from './rollout-context.js';
import type { CliIo } from './run-cli.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** Options of `sluice deploy`. */
interface DeployCommandOptions extends RolloutCommandOptions {
  readonly version?: string;
  readonly strategy: string;
  readonly weight?: string;
  readonly interval?: string;
  /** False with `--no-wait`. */
  readonly wait: boolean;
}

/**
 * `sluice deploy <model> --version N`: checks the version (ready, golden examples), routes the plan's first
 * weight to it, and, for canary, linear and all-at-once plans, runs the rollout to the end unless `--no-wait`.
 * Deploying the version whose rollout is in progress resumes it. Exit 1 when the golden examples fail, another
 * rollout is in progress, or the version is rolled back.
 */
export function registerDeployCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('deploy'), io)
    .description('roll a published version out: golden check, then traffic step by step, gated on health')
    .argument('<model>', 'model name')
    .option('--version <n>', 'the version to roll out (required)')
    .option('--strategy <name>', `how traffic moves: ${STRATEGY_CHOICES.join(', ')}`, RolloutStrategy.CANARY)
    .option(
      '--weight <percent>',
      "first step's weight (canary, manual) or each step's increment (linear); default 10",
    )
    .option('--interval <duration>', 'bake time per step, e.g. 30s, 5m (default: canary 5m, linear 1m)')
    .option(
      '--no-wait',
      'return once the first step is routed; `sluice status` or `sluice deploy` again carries on',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx sluice deploy iris --version 2 --local\n' +
        '  npx sluice deploy iris --version 2 --strategy linear --weight 25 --interval 30s --local\n' +
        '  npx sluice deploy iris --version 2 --strategy manual --weight 5 --local   # then: sluice promote iris',
    )
    .action(async (model: string, options: DeployCommandOptions) => {
      const version = parseVersionOption(options.version);
      const plan = parsePlanOptions(options);
      const context = await resolveRolloutContext(options, io.env);
      const say = (line: string): void => {
        if (!options.json) io.stdout(`${line}\n`);
      };
      const before = await context.store.current(model);
      const resuming = before?.status === RolloutStatus.ROLLING && before.candidate === version;
      const state = await context.engine.deploy(model, { version, plan });
      if (state.status === RolloutStatus.IDLE) {
        // The model's first version: nothing to roll out from.
        say(`${model} v${version} is the stable version (first deploy on ${context.registry.description})`);
        if (options.json) io.stdout(`${JSON.stringify({ result: 'stable', ...stateSummary(state) })}\n`);
        return;
      }
      if (resuming) {
        say(`resuming the rollout of ${model} v${version}: ${describeRouting(state)}`);
      } else {
        say(`golden examples of v${version} passed; rolling out on ${context.registry.description}`);
        say(`  plan: ${describePlan(state.plan ?? plan)}`);
        say(`  ${describeRouting(state)}`);
      }
      if (state.plan?.strategy === RolloutStrategy.MANUAL || !options.wait) {
        say(
          `  carry on with \`sluice promote ${model}\`, check with \`sluice status ${model}\`, undo with \`sluice rollback ${model}\``,
        );
        if (options.json) io.stdout(`${JSON.stringify({ result: 'rolling', ...stateSummary(state) })}\n`);
        return;
      }
      let previous: StepResult | undefined;
      const final = await context.engine.run(model, {
        onStep: (step) => {
          const line = describeStep(step, previous, Date.now());
          if (line !== undefined) say(line);
          previous = step;
        },
      });
      if (final.status === RolloutStatus.IDLE && final.stable === version) {
        say(`promoted: ${model} v${version} takes all traffic`);
        if (options.json) io.stdout(`${JSON.stringify({ result: 'promoted', ...stateSummary(final) })}\n`);
        return;
      }
      const rollback = lastRollbackOf(final, version);
      throw new RolloutError(
        rollback
          ? `${model} v${version} was rolled back by ${rollback.actor}: ${rollback.reason ?? 'no reason given'}; v${final.stable} takes all traffic`
          : `the rollout of ${model} v${version} ended without promoting it; run \`sluice status ${model}\``,
      );
    });
}
