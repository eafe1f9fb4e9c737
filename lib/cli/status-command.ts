import type { Command } from 'commander';
import { describeAgreement, describeDifferences, describeOutputs } from '../core/rollout/decide.js';
import { gateSettingsOf } from '../core/rollout/gate-settings.js';
import { DEFAULT_MIN_REQUESTS } from '../core/rollout/plan-rollout.js';
import { RolloutStatus } from '../core/rollout/RolloutState.js';
import type { ObservedTraffic } from '../core/rollout/RolloutTarget.js';
import { LARGE_DRIFT_PSI } from '../core/stats/drift.js';
import type { RolloutStatusReport } from '../rollout/RolloutEngine.js';
import type { CliIo } from './cli-io.js';
import {
  describeDecision,
  describeEvent,
  describeHealth,
  describePlan,
  describeRequests,
  formatDuration,
  stateSummary,
} from './describe-rollout.js';
import { type RolloutContext, resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/**
 * `sluice status <model>`: the stable and candidate versions and weights, the candidate's health and its
 * reasons, the requests per version observed, what the driver does next (and why a bake is extended), and the
 * history. It only reads: the local stack or the scheduler carries rollouts on.
 */
export function registerStatusCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('status'), io)
    .description("show a model's routing, the candidate's health, the observed traffic split and the history")
    .argument('<model>', 'model name')
    .addHelpText('after', '\nExample:\n  npx sluice status iris --local --json')
    .action(async (model: string, options: RolloutCommandOptions) => {
      const context = await resolveRolloutContext(options, io.env, io.awsClients);
      const report = await context.control.status(model);
      const { state } = report;
      // Without a rollout there is no alias yet: the newest version answers (this also refuses unknown models).
      const newest = state ? undefined : await context.registry.registry.latestVersion(model);
      const observed = await observedTraffic(context, model);
      if (options.json) {
        io.stdout(
          `${JSON.stringify({
            ...(state ? stateSummary(state) : { model, status: 'none', stable: newest, weight: 0 }),
            health: report.health
              ? {
                  verdict: report.health.verdict,
                  reasons: report.health.reasons,
                  candidateRequests: report.health.candidateRequests,
                }
              : undefined,
            requests: observed.traffic?.requests ?? {},
            ...(observed.traffic ? { requestsWindowMs: observed.traffic.windowMs } : {}),
            ...(observed.error === undefined ? {} : { requestsError: observed.error }),
            drift: observed.traffic?.drift ?? {},
            decision: report.decision,
            history: report.history,
          })}\n`,
        );
        return;
      }
      io.stdout(describeReport(context, model, report, newest, observed, (io.now ?? Date.now)()));
    });
}

/** The traffic split the target observed, or why it could not be read. */
interface Observed {
  readonly traffic?: ObservedTraffic;
  readonly error?: string;
}

/** Reads the observed split; a failure is reported, not thrown: status still shows the rest. */
async function observedTraffic(context: RolloutContext, model: string): Promise<Observed> {
  try {
    return { traffic: await context.control.traffic(model) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function describeReport(
  context: RolloutContext,
  model: string,
  report: RolloutStatusReport,
  newest: number | undefined,
  observed: Observed,
  now: number,
): string {
  const { state } = report;
  const lines: string[] = [];
  if (!state) {
    lines.push(
      `${model}: never deployed; the newest published version (v${newest}) answers unversioned requests` +
        (context.local ? ' (the local stack pins it as stable at the first such request)' : ''),
    );
    lines.push(`  requests   ${describeObserved(observed)}`);
    const drift = describeDrift(observed);
    if (drift) lines.push(`  drift      ${drift}`);
    lines.push(`  deploy one with \`sluice deploy ${model} --version N\``);
    return `${lines.join('\n')}\n`;
  }
  if (state.status === RolloutStatus.ROLLING && state.candidate !== undefined) {
    lines.push(`${model}: rolling v${state.stable} -> v${state.candidate}`);
    lines.push(`  stable     v${state.stable}  ${100 - state.weight}%`);
    lines.push(`  candidate  v${state.candidate}  ${state.weight}%`);
    if (state.plan) {
      // Before the first step (the shadow phase, or a promote by hand below it) there is no step to count.
      const step = (state.stepIndex ?? 0) + 1;
      const where = step < 1 ? 'before the first step' : `step ${step} of ${state.plan.steps.length}`;
      lines.push(`  plan       ${describePlan(state.plan)}; ${where}`);
    }
    if (state.replay)
      lines.push(
        `  replay     ${state.replay.summary}${state.replay.standsIn ? ' (stands in for live evidence)' : ''}`,
      );
    if (state.phase === 'shadow') {
      lines.push(
        `  shadow     v${state.candidate} answers ${state.plan?.shadowPercent ?? 0}% of the requests unseen`,
      );
      const counts = report.health?.agreement ?? { compared: 0, disagreed: 0 };
      lines.push(
        `  agreement  ${describeAgreement(counts, state.stable, gateSettingsOf(state.plan))}` +
          describeOutputs(report.health?.agreement?.byOutput) +
          describeDifferences(
            report.health?.agreement?.differences,
            gateSettingsOf(state.plan).numericTolerance,
          ),
      );
    }
    if (report.health) lines.push(`  health     ${describeHealth(report.health)}`);
    if (report.health?.candidateRequests !== undefined && state.phase !== 'shadow') {
      lines.push(
        `  evidence   v${state.candidate} answered ${report.health.candidateRequests} requests in this step; ` +
          `a step needs ${state.plan?.minRequests ?? DEFAULT_MIN_REQUESTS}`,
      );
    }
  } else {
    lines.push(`${model}: idle; v${state.stable} takes all traffic`);
    // The promotion's watch window: the gates still judge the new stable version, and a breach reverts it.
    if (state.watchUntil !== undefined && Date.parse(state.watchUntil) > now) {
      lines.push(
        `  watch      v${state.stable} is judged until ${state.watchUntil}; a breach reverts the promotion ` +
          `(\`sluice rollback ${model}\` reverts it by hand)`,
      );
      if (report.health) lines.push(`  health     ${describeHealth(report.health)}`);
    }
  }
  lines.push(`  requests   ${describeObserved(observed)}`);
  const drift = describeDrift(observed);
  if (drift) lines.push(`  drift      ${drift}`);
  lines.push(`  next       ${describeDecision(report.decision, now)}`);
  lines.push('history:');
  for (const event of report.history) lines.push(`  ${describeEvent(event)}`);
  return `${lines.join('\n')}\n`;
}

function describeObserved(observed: Observed): string {
  if (!observed.traffic) return `unavailable: ${observed.error ?? 'no answer'}`;
  return `${describeRequests(observed.traffic.requests)} (last ${formatDuration(observed.traffic.windowMs)})`;
}

/**
 * The versions' drift figures per output, when any filled a window of answers: how far what a version answers
 * moved from what it gave its reference set (population stability; under 0.1 no shift, above 0.25 a large one).
 */
function describeDrift(observed: Observed): string | undefined {
  const versions = Object.entries(observed.traffic?.drift ?? {}).filter(
    ([, outputs]) => Object.keys(outputs).length > 0,
  );
  if (versions.length === 0) return undefined;
  const parts = versions
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([version, outputs]) => {
      const figures = Object.entries(outputs)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(
          ([output, psi]) => `${output} ${psi.toFixed(3)}${psi >= LARGE_DRIFT_PSI ? ' (a large shift)' : ''}`,
        );
      return `v${version} ${figures.join(', ')}`;
    });
  return `${parts.join('; ')} (population stability against the reference set's answers, per output)`;
}
