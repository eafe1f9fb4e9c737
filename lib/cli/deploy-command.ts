import type { Command } from 'commander';
import { compareSignatures } from '../core/manifest/compare-signatures.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { type RolloutPlan, RolloutStrategy } from '../core/rollout/RolloutPlan.js';
import { RolloutAction, type RolloutState, RolloutStatus } from '../core/rollout/RolloutState.js';
import { followRollout } from '../rollout/follow-rollout.js';
import type { CliIo } from './cli-io.js';
import {
  describeEvent,
  describeHealth,
  describePlan,
  describeRouting,
  describeWait,
  stateSummary,
} from './describe-rollout.js';
import { parsePlanOptions, parseVersionOption, STRATEGY_CHOICES } from './rollout-arguments.js';
import { type RolloutContext, resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** Options of `sluice deploy`. */
interface DeployCommandOptions extends RolloutCommandOptions {
  readonly version?: string;
  readonly strategy?: string;
  readonly weight?: string;
  readonly interval?: string;
  readonly minRequests?: string;
  readonly shadowPercent?: string;
  readonly tolerance?: string;
  readonly alpha?: string;
  readonly replayStandsIn?: boolean;
  /** False with `--no-wait`. */
  readonly wait: boolean;
}

/**
 * `sluice deploy <model> --version N`: checks the version (ready, golden examples), routes the plan's first
 * weight to it, and then follows the rollout that the local stack (or, on AWS, the scheduler) carries on,
 * printing each step; exit 0 when it is promoted, 1 when it is rolled back. `--no-wait` and Ctrl-C stop
 * following and leave the rollout running. Deploying the version whose rollout is in progress resumes following
 * it. Exit 1 when the golden examples fail or another rollout is in progress.
 */
export function registerDeployCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('deploy'), io)
    .description('roll a published version out: golden check, then traffic step by step, gated on health')
    .argument('<model>', 'model name')
    .option('--version <n>', 'the version to roll out (required)')
    .option('--strategy <name>', `how traffic moves: ${STRATEGY_CHOICES.join(', ')} (default canary)`)
    .option(
      '--weight <percent>',
      "first step's weight (canary, manual) or each step's increment (linear), 1 to 99; default 10",
    )
    .option('--interval <duration>', 'bake time per step, e.g. 30s, 5m (default: canary 5m, linear 1m)')
    .option(
      '--min-requests <n>',
      'requests the candidate must answer in a step before the next one (default 20)',
    )
    .option(
      '--shadow-percent <n>',
      'percent of requests the candidate also answers, unseen, before any traffic (default 10; 0: no shadow phase)',
    )
    .option(
      '--tolerance <share>',
      'share of answers the candidate may give otherwise than stable (default 0.02)',
    )
    .option(
      '--alpha <share>',
      'error rate of the behaviour tests: false rollbacks stay at or under it (default 0.05)',
    )
    .option(
      '--replay-stands-in',
      'a passed replay of the reference sets stands in for live evidence (quiet models)',
    )
    .option('--no-wait', 'return once the first step is routed; the rollout carries on by itself')
    .addHelpText(
      'after',
      '\nExamples:\n  npx sluice deploy iris --version 2 --local\n' +
        '  npx sluice deploy iris --version 2 --strategy linear --weight 25 --interval 30s --local\n' +
        '  npx sluice deploy iris --version 2 --strategy manual --weight 5 --local   # then: sluice promote iris',
    )
    .action(async (model: string, options: DeployCommandOptions) => {
      const version = parseVersionOption(options.version);
      const plan = parsePlanOptions({ ...options, strategy: options.strategy ?? RolloutStrategy.CANARY });
      const context = await resolveRolloutContext(options, io.env, io.awsClients);
      const say = (line: string): void => {
        if (!options.json) io.stdout(`${line}\n`);
      };
      const before = await context.control.current(model);
      const resuming = before?.status === RolloutStatus.ROLLING && before.candidate === version;
      if (!resuming) await warnOfSignatureChange(context, model, version, before, io);
      const state = await context.control.deploy(model, { version, plan });
      if (state.status === RolloutStatus.IDLE) {
        // The model's first version: nothing to roll out from.
        say(`${model} v${version} is the stable version (first deploy on ${context.registry.description})`);
        if (options.json) io.stdout(`${JSON.stringify({ result: 'stable', ...stateSummary(state) })}\n`);
        return;
      }
      if (resuming) {
        say(`resuming the rollout of ${model} v${version}: ${describeRouting(state)}`);
        const ignored = ignoredPlanOptions(options, state.plan);
        if (ignored.length > 0) {
          io.stderr(
            `warning: the rollout in progress keeps its plan (${state.plan ? describePlan(state.plan) : 'none'}); ` +
              `${ignored.join(', ')} not applied. \`sluice rollback ${model}\` and deploy again to change it\n`,
          );
        }
      } else {
        say(await describeGoldenCheck(context, model, version));
        say(`rolling out on ${context.registry.description}`);
        say(`  plan: ${describePlan(state.plan ?? plan)}`);
        say(`  ${describeRouting(state)}`);
      }
      if (state.plan?.strategy === RolloutStrategy.MANUAL || !options.wait) {
        const target = targetFlags(context, options);
        say(
          `  it carries on by itself${state.plan?.strategy === RolloutStrategy.MANUAL ? ' only with `sluice promote`' : ''}; ` +
            `follow with \`sluice status ${model}${target}\`, move on with \`sluice promote ${model}${target}\`, ` +
            `undo with \`sluice rollback ${model}${target}\``,
        );
        if (options.json) io.stdout(`${JSON.stringify({ result: 'rolling', ...stateSummary(state) })}\n`);
        return;
      }
      say(
        `  following (Ctrl-C stops following; the rollout carries on ${context.local ? 'in the local stack' : 'on the scheduler'})`,
      );
      const final = await followRollout({
        control: context.control,
        model,
        fromRevision: state.revision,
        pollIntervalMs: context.pollIntervalMs,
        ...(io.sleep ? { sleep: io.sleep } : {}),
        onEvent: (event) => say(`  ${describeEvent(event)}`),
        onWait: (decision, health) =>
          say(
            `  waiting: ${describeWait(decision, Date.now())}${health ? `; health ${describeHealth(health)}` : ''}`,
          ),
      });
      const outcome = final.history.findLast((event) => event.candidate === version);
      if (outcome?.action === RolloutAction.PROMOTE) {
        say(`promoted: ${model} v${version} takes all traffic`);
        if (options.json) io.stdout(`${JSON.stringify({ result: 'promoted', ...stateSummary(final) })}\n`);
        return;
      }
      throw new RolloutError(
        outcome?.action === RolloutAction.ROLLBACK
          ? `${model} v${version} was rolled back by ${outcome.actor}: ${outcome.reason ?? 'no reason given'}; v${final.stable} takes all traffic`
          : `the rollout of ${model} v${version} ended without promoting it; run \`sluice status ${model}\``,
      );
    });
}

/** The line saying what the pre-traffic check did: golden examples run, or only a load check when there are none. */
async function describeGoldenCheck(context: RolloutContext, model: string, version: number): Promise<string> {
  const manifest = await context.registry.registry.getManifest(model, version);
  const examples = manifest.goldenExamples?.length ?? 0;
  return examples === 0
    ? `v${version} loads; it has no golden examples, so its answers were not checked before traffic`
    : `${examples} golden ${examples === 1 ? 'example' : 'examples'} of v${version} passed`;
}

/** Warns (stderr) when the candidate's signature differs from the stable version's: clients may be refused. */
async function warnOfSignatureChange(
  context: RolloutContext,
  model: string,
  version: number,
  before: RolloutState | undefined,
  io: CliIo,
): Promise<void> {
  if (!before || before.stable === version) return;
  const [stable, candidate] = await Promise.all([
    context.registry.registry.getManifest(model, before.stable),
    context.registry.registry.getManifest(model, version),
  ]);
  const differences = compareSignatures(stable, candidate);
  if (differences.length === 0) return;
  io.stderr(
    `warning: v${version} of ${model} has another signature than stable v${before.stable}; clients sending what ` +
      `v${before.stable} accepts may be refused (a jump in refused inputs rolls the candidate back):\n` +
      `${differences.map((line) => `  - ${line}`).join('\n')}\n`,
  );
}

/** The target options to repeat in a suggested command: `--local`, or the function on AWS. */
function targetFlags(context: RolloutContext, options: DeployCommandOptions): string {
  if (context.local) return ' --local';
  return options.function === undefined ? '' : ` --function ${options.function}`;
}

/** The plan options given on the command line that differ from the plan of the rollout being resumed. */
function ignoredPlanOptions(options: DeployCommandOptions, plan: RolloutPlan | undefined): string[] {
  if (!plan) return [];
  const given = parsePlanOptions({ ...options, strategy: options.strategy ?? plan.strategy });
  const ignored: string[] = [];
  if (options.strategy !== undefined && given.strategy !== plan.strategy)
    ignored.push(`--strategy ${options.strategy}`);
  if (options.weight !== undefined && given.steps.join() !== plan.steps.join())
    ignored.push(`--weight ${options.weight}`);
  if (options.interval !== undefined && given.intervalMs !== plan.intervalMs)
    ignored.push(`--interval ${options.interval}`);
  if (options.minRequests !== undefined && given.minRequests !== plan.minRequests) {
    ignored.push(`--min-requests ${options.minRequests}`);
  }
  return ignored;
}
