import { type Decision, WaitReason } from '../core/rollout/decide.js';
import { type RolloutPlan, RolloutStrategy } from '../core/rollout/RolloutPlan.js';
import { type RolloutEvent, type RolloutState, RolloutStatus } from '../core/rollout/RolloutState.js';
import type { HealthReport } from '../core/rollout/RolloutTarget.js';

/**
 * A plan in one phrase: `canary [10, 100]%, 300ms per step`.
 *
 * @example
 * describePlan({ strategy: 'linear', steps: [50, 100], intervalMs: 60000 }); // 'linear [50, 100]%, 1m per step'
 */
export function describePlan(plan: RolloutPlan): string {
  if (plan.strategy === RolloutStrategy.MANUAL)
    return `manual [${plan.steps.join(', ')}]%, moved by \`sluice promote\``;
  if (plan.strategy === RolloutStrategy.ALL_AT_ONCE) {
    const evidence = plan.minRequests === undefined ? '' : `, ${plan.minRequests} requests`;
    return plan.intervalMs === 0
      ? `all-at-once [100]%${evidence}`
      : `all-at-once [100]%, ${formatDuration(plan.intervalMs)} bake${evidence}`;
  }
  const evidence = plan.minRequests === undefined ? '' : `, ${plan.minRequests} requests per step`;
  return `${plan.strategy} [${plan.steps.join(', ')}]%, ${formatDuration(plan.intervalMs)} per step${evidence}`;
}

/** A duration as the CLI's `--interval` takes it: `300ms`, `2s`, `1.5m`, `1h`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${round(ms / 1_000)}s`;
  if (ms < 3_600_000) return `${round(ms / 60_000)}m`;
  return `${round(ms / 3_600_000)}h`;
}

/** The routing of a state in one phrase: `v1 100%` or `v1 90% / v2 10%`. */
export function describeRouting(state: RolloutState): string {
  if (state.status !== RolloutStatus.ROLLING || state.candidate === undefined) return `v${state.stable} 100%`;
  if (state.phase === 'shadow') {
    return `v${state.stable} 100%; v${state.candidate} shadows ${state.plan?.shadowPercent ?? 0}% of the requests unseen (shadow phase)`;
  }
  return `v${state.stable} ${round(100 - state.weight)}% / v${state.candidate} ${round(state.weight)}%`;
}

/** A health report in one line: the verdict and its reasons. */
export function describeHealth(health: HealthReport): string {
  return health.reasons.length > 0 ? `${health.verdict}: ${health.reasons.join('; ')}` : health.verdict;
}

/** Requests per version in one phrase: `v1 180, v2 20`. */
export function describeRequests(requests: Readonly<Record<string, number>> | undefined): string {
  const entries = Object.entries(requests ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  return entries.length === 0
    ? 'none observed'
    : entries.map(([version, count]) => `v${version} ${count}`).join(', ');
}

/** What a waiting rollout waits for, in one phrase. */
export function describeWait(decision: Extract<Decision, { kind: 'wait' }>, now: number): string {
  const inTime = `${formatDuration(Math.max(0, Math.round(decision.untilMs - now)))}`;
  switch (decision.why) {
    case WaitReason.MANUAL:
      return 'waiting for `sluice promote` (manual plan)';
    case WaitReason.BAKING:
      return `next step in ${inTime}, if healthy with enough requests`;
    case WaitReason.SETTLING:
      return `${decision.detail ?? decision.why}; the step is taken in about ${inTime}`;
    case WaitReason.EVIDENCE:
    case WaitReason.UNKNOWN_HEALTH:
    case WaitReason.AGREEMENT:
      return `${decision.detail ?? decision.why}; checked again at the driver's next tick`;
    case WaitReason.AGREEMENT_UNDECIDED:
      return `waiting for a person: ${decision.detail ?? decision.why}`;
  }
}

/** Text as one printable line: control characters (a terminal's escape sequences among them) become `?`. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** One history event in one line: time, action, actor, versions, weight and reason. */
export function describeEvent(event: RolloutEvent): string {
  const versions =
    event.candidate === undefined || event.candidate === event.stable
      ? `v${event.stable ?? event.candidate ?? '?'}`
      : `v${event.stable ?? '?'} -> v${event.candidate}`;
  const reason = event.reason ? `  ${printable(event.reason)}` : '';
  return `${event.at}  ${printable(event.action).padEnd(13)} ${printable(event.actor).padEnd(11)} ${versions.padEnd(12)} ${String(event.weight).padStart(3)}%${reason}`;
}

/** What happens next, in one phrase. */
export function describeDecision(decision: Decision, now: number): string {
  switch (decision.kind) {
    case 'idle':
      return 'nothing: no rollout in progress';
    case 'wait':
      return describeWait(decision, now);
    case 'advance':
      return `move to ${decision.weight}%`;
    case 'promote':
      return 'promote the candidate to stable';
    case 'rollback':
      return `roll back: ${decision.reason}`;
  }
}

/** A state as the commands print it with `--json`. */
export function stateSummary(state: RolloutState): Record<string, unknown> {
  return {
    model: state.model,
    revision: state.revision,
    status: state.status,
    stable: state.stable,
    candidate: state.candidate,
    weight: state.weight,
    plan: state.plan,
    stepIndex: state.stepIndex,
    stepStartedAt: state.stepStartedAt,
    watchUntil: state.watchUntil,
    updatedAt: state.updatedAt,
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
