import type { Command } from 'commander';
import { compareVersions, LabelChange, type VersionChanges } from '../core/manifest/compare-versions.js';
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
  formatDuration,
  printable,
  stateSummary,
} from './describe-rollout.js';
import { FollowTimeoutError, UsageError } from './exit-codes.js';
import { FollowDeadlineError, followSleep, parseTimeoutOption } from './follow-timeout.js';
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
  readonly watch?: string;
  readonly shadowPercent?: string;
  readonly tolerance?: string;
  readonly alpha?: string;
  readonly replayStandsIn?: boolean;
  readonly allowLabelChange?: boolean;
  readonly timeout?: string;
  /** False with `--no-wait`. */
  readonly wait: boolean;
}

/** Characters of a sha256 the change summary shows; `--json` has them whole. */
const SHA256_PREFIX_CHARS = 12;

/**
 * `sluice deploy <model> --version N`: prints what changes from the stable version (bytes, signature, labels,
 * golden examples) and refuses a label change without `--allow-label-change` (exit 2), checks the version (ready,
 * golden examples), routes the plan's first weight to it, and then follows the rollout that the local stack (or, on
 * AWS, the scheduler) carries on, printing each step; exit 0 when it is promoted, 1 when it is rolled back, 3 when
 * `--timeout` ends the following first. `--no-wait`, `--timeout` and Ctrl-C stop following and leave the rollout
 * running. Deploying the version whose rollout is in progress resumes following it. Exit 1 when the golden examples
 * fail or another rollout is in progress.
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
    .option(
      '--watch <duration>',
      'after the promotion, how long the gates still judge the new stable version and revert it on a breach (default 10m; 0: none)',
    )
    .option(
      '--allow-label-change',
      "deploy a version whose class labels differ from the stable version's (content or order)",
    )
    .option(
      '--timeout <duration>',
      'stop following after this long, e.g. 10m (exit 3); the rollout keeps running (default: follow to the end)',
    )
    .option('--no-wait', 'return once the first step is routed; the rollout carries on by itself')
    .addHelpText(
      'after',
      '\nBefore acting it prints what changes from the stable version: sha256, inputs and outputs, labels, golden\n' +
        'examples (--json: "changes"). Labels that differ in content or order are refused unless --allow-label-change:\n' +
        'golden examples compare class indices, so reordered labels pass them and still rename every answer.\n' +
        '\nExit codes: 0 promoted (or first deploy), 1 rolled back or failed, 2 usage (a label change included),\n' +
        '3 --timeout reached: the rollout keeps running; deploy the same version again to follow it.\n' +
        '\nExamples:\n  npx sluice deploy iris --version 2 --local\n' +
        '  npx sluice deploy iris --version 2 --strategy linear --weight 25 --interval 30s --local\n' +
        '  npx sluice deploy iris --version 2 --strategy manual --weight 5 --local   # then: sluice promote iris\n' +
        '  npx sluice deploy iris --version 2 --timeout 15m --function iris-predict   # exit 3 if still rolling',
    )
    .action(async (model: string, options: DeployCommandOptions) => {
      const version = parseVersionOption(options.version);
      const plan = parsePlanOptions({ ...options, strategy: options.strategy ?? RolloutStrategy.CANARY });
      const timeoutMs = parseTimeoutOption(options.timeout);
      const context = await resolveRolloutContext(options, io.env, io.awsClients);
      const say = (line: string): void => {
        if (!options.json) io.stdout(`${line}\n`);
      };
      const before = await context.control.current(model);
      const resuming = before?.status === RolloutStatus.ROLLING && before.candidate === version;
      let changes = await changesFromStable(context, model, version, before?.stable);
      if (changes) {
        say(describeChanges(changes));
        if (!resuming) {
          warnOfSignatureChange(changes, model, io);
          refuseLabelChange(changes, model, options.allowLabelChange === true);
        }
      }
      const state = await context.control.deploy(model, { version, plan });
      if (!changes && state.status === RolloutStatus.ROLLING && state.candidate === version) {
        // No state was recorded before: the engine chose the stable version as it deployed, too late to refuse.
        changes = await changesFromStable(context, model, version, state.stable);
        if (changes) {
          say(
            `${describeChanges(changes)}\n  (v${state.stable} became the stable version as the deploy started)`,
          );
          warnOfSignatureChange(changes, model, io);
          if (changes.labels.change !== LabelChange.NONE && options.allowLabelChange !== true) {
            io.stderr(
              `warning: v${version} of ${model} changes the labels of v${state.stable} (${describeLabels(changes)}); ` +
                `not refused, as ${model} had no stable version recorded before this deploy: ` +
                `\`sluice rollback ${model}${targetFlags(context, options)}\` undoes it\n`,
            );
          }
        }
      }
      const withChanges = changes ? { changes } : {};
      if (state.status === RolloutStatus.IDLE) {
        // The model's first version: nothing to roll out from.
        say(`${model} v${version} is the stable version (first deploy on ${context.registry.description})`);
        if (options.json) {
          io.stdout(`${JSON.stringify({ result: 'stable', ...stateSummary(state), ...withChanges })}\n`);
        }
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
      const target = targetFlags(context, options);
      if (state.plan?.strategy === RolloutStrategy.MANUAL || !options.wait) {
        say(
          `  it carries on by itself${state.plan?.strategy === RolloutStrategy.MANUAL ? ' only with `sluice promote`' : ''}; ` +
            `follow with \`sluice status ${model}${target}\`, move on with \`sluice promote ${model}${target}\`, ` +
            `undo with \`sluice rollback ${model}${target}\``,
        );
        if (options.json) {
          io.stdout(`${JSON.stringify({ result: 'rolling', ...stateSummary(state), ...withChanges })}\n`);
        }
        return;
      }
      const where = context.local ? 'in the local stack' : 'on the scheduler';
      say(
        `  following (Ctrl-C stops following${timeoutMs === undefined ? '' : `, and so does --timeout after ${formatDuration(timeoutMs)}`}; the rollout carries on ${where})`,
      );
      let final: RolloutState;
      try {
        final = await followRollout({
          control: context.control,
          model,
          fromRevision: state.revision,
          pollIntervalMs: context.pollIntervalMs,
          sleep: followSleep(io, timeoutMs),
          onEvent: (event) => say(`  ${describeEvent(event)}`),
          onWait: (decision, health) =>
            say(
              `  waiting: ${describeWait(decision, Date.now())}${health ? `; health ${describeHealth(health)}` : ''}`,
            ),
        });
      } catch (error) {
        if (!(error instanceof FollowDeadlineError)) throw error;
        const current = await context.control.current(model);
        const routing = current ? describeRouting(current) : 'no state';
        throw new FollowTimeoutError(
          `stopped following after ${formatDuration(error.timeoutMs)} (--timeout): the rollout of ${model} v${version} ` +
            `keeps running ${where} (${routing}); follow it again with \`sluice deploy ${model} --version ${version}${target}\`, ` +
            `read it with \`sluice status ${model}${target}\``,
        );
      }
      const outcome = final.history.findLast((event) => event.candidate === version);
      if (outcome?.action === RolloutAction.PROMOTE) {
        say(`promoted: ${model} v${version} takes all traffic`);
        if (options.json) {
          io.stdout(`${JSON.stringify({ result: 'promoted', ...stateSummary(final), ...withChanges })}\n`);
        }
        return;
      }
      throw new RolloutError(
        outcome?.action === RolloutAction.ROLLBACK
          ? `${model} v${version} was rolled back by ${outcome.actor}: ${outcome.reason ?? 'no reason given'}; v${final.stable} takes all traffic`
          : `the rollout of ${model} v${version} ended without promoting it; run \`sluice status ${model}\``,
      );
    });
}

/** What changes from the stable version to `version`; undefined without a stable version, or when it is `version`. */
async function changesFromStable(
  context: RolloutContext,
  model: string,
  version: number,
  stableVersion: number | undefined,
): Promise<VersionChanges | undefined> {
  if (stableVersion === undefined || stableVersion === version) return undefined;
  const [stable, candidate] = await Promise.all([
    context.registry.registry.getManifest(model, stableVersion),
    context.registry.registry.getManifest(model, version),
  ]);
  return compareVersions(stable, candidate);
}

/** The change summary printed before a deploy acts: one line per aspect, what changes and what stays. */
function describeChanges(changes: VersionChanges): string {
  const short = (sha256: string) => sha256.slice(0, SHA256_PREFIX_CHARS);
  const bytes = changes.sha256.same
    ? `same (${short(changes.sha256.stable)})`
    : `${short(changes.sha256.stable)} -> ${short(changes.sha256.candidate)}`;
  const signature =
    changes.signature.length === 0
      ? ['same']
      : changes.signature.map((line, index) => (index === 0 ? line : `                   ${line}`));
  const golden = changes.goldenExamples;
  return [
    `changes from stable v${changes.from} to v${changes.to}:`,
    `  sha256           ${bytes}`,
    `  inputs/outputs   ${signature.join('\n')}`,
    `  labels           ${describeLabels(changes)}`,
    `  golden examples  ${golden.stable === golden.candidate ? `${golden.stable} (same)` : `${golden.stable} -> ${golden.candidate}`}`,
  ].join('\n');
}

/** The labels' line of the change summary. */
function describeLabels(changes: VersionChanges): string {
  const list = (labels: readonly string[] | undefined) =>
    labels ? `[${labels.map((label) => printable(label)).join(', ')}]` : 'none';
  const { stable, candidate, change } = changes.labels;
  if (change === LabelChange.NONE) return stable ? `same ${list(stable)}` : 'none';
  return `${change}: ${list(stable)} -> ${list(candidate)}`;
}

/** Warns (stderr) when the candidate's signature differs from the stable version's: clients may be refused. */
function warnOfSignatureChange(changes: VersionChanges, model: string, io: CliIo): void {
  if (changes.signature.length === 0) return;
  io.stderr(
    `warning: v${changes.to} of ${model} has another signature than stable v${changes.from}; clients sending what ` +
      `v${changes.from} accepts may be refused (a jump in refused inputs rolls the candidate back):\n` +
      `${changes.signature.map((line) => `  - ${line}`).join('\n')}\n`,
  );
}

/**
 * Refuses (exit 2) a candidate whose labels differ from the stable version's, unless allowed: clients reading labels
 * would get other class names for the same answers, and golden examples, which compare class indices, cannot tell.
 */
function refuseLabelChange(changes: VersionChanges, model: string, allowed: boolean): void {
  if (changes.labels.change === LabelChange.NONE || allowed) return;
  throw new UsageError(
    `v${changes.to} of ${model} changes the labels of stable v${changes.from} (${describeLabels(changes)}): clients ` +
      'reading labels would get other class names for the same answers, and golden examples, which compare class ' +
      'indices, cannot tell. Publish the version with the right labels, or pass --allow-label-change to deploy it anyway',
  );
}

/** The line saying what the pre-traffic check did: golden examples run, or only a load check when there are none. */
async function describeGoldenCheck(context: RolloutContext, model: string, version: number): Promise<string> {
  const manifest = await context.registry.registry.getManifest(model, version);
  const examples = manifest.goldenExamples?.length ?? 0;
  return examples === 0
    ? `v${version} loads; it has no golden examples, so its answers were not checked before traffic`
    : `${examples} golden ${examples === 1 ? 'example' : 'examples'} of v${version} passed`;
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
  if (options.watch !== undefined && given.watchMs !== plan.watchMs) ignored.push(`--watch ${options.watch}`);
  return ignored;
}
