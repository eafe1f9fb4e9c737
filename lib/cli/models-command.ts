import type { Command } from 'commander';
import { DEFAULT_MIN_REQUESTS } from '../core/rollout/plan-rollout.js';
import { type RolloutEvent, type RolloutState, RolloutStatus } from '../core/rollout/RolloutState.js';
import type { RolloutStatusReport } from '../rollout/RolloutEngine.js';
import type { CliIo } from './cli-io.js';
import { describeDecision, printable, stateSummary } from './describe-rollout.js';
import { formatTable } from './format-table.js';
import { type RolloutContext, resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** Models read at once: each costs a few requests to the local stack, or to S3 and CloudWatch on AWS. */
const MODELS_IN_FLIGHT = 8;

/** Characters of the last event's reason the table shows; `--json` and `sluice status` show it whole. */
const REASON_COLUMN_CHARS = 80;

/** One model as `sluice models` shows it. */
interface ModelOverview {
  readonly model: string;
  /** The newest published version. */
  readonly newest?: number;
  /** The rollout's status report; absent when it could not be read (see {@link error}). */
  readonly report?: RolloutStatusReport;
  readonly error?: string;
}

/**
 * `sluice models`: every model of the registry in one view: the newest published version, the stable and candidate
 * versions, the candidate's weight and phase, its gate figures (health verdict, the evidence a step needs, the shadow
 * agreement, the replay) and the last event of its history. Locally the running stack answers each model's status;
 * on AWS the engine reads the rollout states in the registry bucket, and a rolling model's health from the
 * CloudWatch alarms and metrics of the function its state names (or `--function`). It only reads.
 */
export function registerModelsCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('models'), io)
    .description('show every model: stable and candidate versions, weight, gate figures and the last event')
    .addHelpText(
      'after',
      '\nOn AWS a rolling model is judged on the function its rollout state names (or --function).\n\n' +
        'Examples:\n  npx sluice models --local\n  npx sluice models --bucket my-registry --json',
    )
    .action(async (options: RolloutCommandOptions) => {
      const functions = new Map<string, string>();
      const context = await resolveRolloutContext(options, io.env, io.awsClients, (model) =>
        functions.get(model),
      );
      const names = await context.registry.registry.listModels();
      if (!context.local) await readFunctionNames(context, names, functions);
      const models = await mapInFlight(names, MODELS_IN_FLIGHT, (model) => overviewOf(context, model));
      if (options.json) {
        io.stdout(`${JSON.stringify({ models: models.map(toJson) })}\n`);
        return;
      }
      if (models.length === 0) {
        io.stdout('no models published yet\n');
        return;
      }
      io.stdout(describeModels(models));
      for (const failed of models.filter((model) => model.error !== undefined)) {
        io.stderr(`sluice: ${failed.model}: ${failed.error}\n`);
      }
    });
}

/** The function each model's rollout state names (AWS), for the health of the rolling ones. */
async function readFunctionNames(
  context: RolloutContext,
  models: readonly string[],
  functions: Map<string, string>,
): Promise<void> {
  const { RolloutStore } = await import('../storage/RolloutStore.js');
  const store = new RolloutStore({ store: context.registry.objects });
  await mapInFlight(models, MODELS_IN_FLIGHT, async (model) => {
    const functionName = (await store.current(model).catch(() => undefined))?.functionName;
    if (functionName !== undefined) functions.set(model, functionName);
  });
}

async function overviewOf(context: RolloutContext, model: string): Promise<ModelOverview> {
  const newest = await context.registry.registry.latestVersion(model).catch(() => undefined);
  try {
    return {
      model,
      ...(newest === undefined ? {} : { newest }),
      report: await context.control.status(model),
    };
  } catch (error) {
    return {
      model,
      ...(newest === undefined ? {} : { newest }),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

function toJson(overview: ModelOverview): Record<string, unknown> {
  const { model, newest, report, error } = overview;
  if (!report) return { model, newest, error };
  const { state, health, decision } = report;
  if (!state) return { model, newest, status: 'none' };
  return {
    ...stateSummary(state),
    newest,
    phase: state.phase,
    minRequests: state.status === RolloutStatus.ROLLING ? minRequestsOf(state) : undefined,
    replay: state.replay,
    health: health
      ? {
          verdict: health.verdict,
          reasons: health.reasons,
          candidateRequests: health.candidateRequests,
          agreement: health.agreement
            ? { compared: health.agreement.compared, disagreed: health.agreement.disagreed }
            : undefined,
        }
      : undefined,
    decision,
    lastEvent: state.history.at(-1),
  };
}

function describeModels(models: readonly ModelOverview[]): string {
  const now = Date.now();
  const rows = models.map((overview) => {
    const newest = overview.newest === undefined ? '-' : `v${overview.newest}`;
    const state = overview.report?.state;
    if (!overview.report) return [overview.model, newest, '-', '-', '-', 'unavailable (below)', '-', '-'];
    if (!state) return [overview.model, newest, '-', '-', '-', 'never deployed', '-', '-'];
    const rolling = state.status === RolloutStatus.ROLLING && state.candidate !== undefined;
    return [
      overview.model,
      newest,
      `v${state.stable}`,
      rolling ? `v${state.candidate}` : '-',
      rolling ? weightOf(state) : '-',
      rolling ? phaseOf(state) : 'idle',
      rolling ? gatesOf(overview.report, now) : '-',
      lastEventOf(state.history.at(-1)),
    ];
  });
  return formatTable(
    [
      { header: 'MODEL' },
      { header: 'NEWEST', alignRight: true },
      { header: 'STABLE', alignRight: true },
      { header: 'CANDIDATE', alignRight: true },
      { header: 'WEIGHT', alignRight: true },
      { header: 'PHASE' },
      { header: 'GATES' },
      { header: 'LAST EVENT' },
    ],
    rows,
  );
}

function weightOf(state: RolloutState): string {
  return state.phase === 'shadow' ? `0% (shadows ${state.plan?.shadowPercent ?? 0}%)` : `${state.weight}%`;
}

function phaseOf(state: RolloutState): string {
  if (state.phase === 'shadow') return 'shadow';
  const steps = state.plan?.steps.length ?? 0;
  const step = (state.stepIndex ?? 0) + 1;
  return step < 1 ? 'before step 1' : `step ${step} of ${steps}`;
}

/** The gate figures in one cell: the verdict, then the shadow agreement or the step's evidence, then the replay. */
function gatesOf(report: RolloutStatusReport, now: number): string {
  const { state, health, decision } = report;
  if (!state) return '-';
  const parts: string[] = [health ? health.verdict : 'health unknown'];
  if (state.phase === 'shadow') {
    const agreement = health?.agreement ?? { compared: 0, disagreed: 0 };
    parts.push(`${round(agreement.disagreed)} of ${agreement.compared} compared disagreed`);
  } else if (health?.candidateRequests !== undefined) {
    parts.push(`${health.candidateRequests} of ${minRequestsOf(state)} requests`);
  }
  if (state.replay) parts.push(`replay ${state.replay.disagreed} of ${state.replay.compared} disagreed`);
  if (decision.kind === 'rollback') parts.push(`next: ${describeDecision(decision, now)}`);
  return parts.join('; ');
}

function minRequestsOf(state: RolloutState): number {
  return state.plan?.minRequests ?? DEFAULT_MIN_REQUESTS;
}

function lastEventOf(event: RolloutEvent | undefined): string {
  if (!event) return '-';
  const reason = event.reason ? `: ${printable(event.reason)}` : '';
  const text = `${event.at} ${printable(event.action)} by ${printable(event.actor)}${reason}`;
  return text.length > REASON_COLUMN_CHARS + 40 ? `${text.slice(0, REASON_COLUMN_CHARS + 39)}…` : text;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Maps `items` with at most `limit` calls of `map` in flight; the results keep the items' order. */
async function mapInFlight<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
