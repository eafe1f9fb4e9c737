import type { Logger } from '@aws-lambda-powertools/logger';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { readModelIdentity } from '../../core/environment/predict-environment.js';
import { AlarmState, type AlarmStateChangeEvent } from '../../core/gates/alarm-state-change-event.js';
import { parseVersionAlarmName } from '../../core/gates/version-alarm-name.js';
import { RolloutError } from '../../core/rollout/RolloutError.js';
import { type RolloutState, RolloutStatus } from '../../core/rollout/RolloutState.js';
import { isWatched, type RolloutEngine } from '../../rollout/RolloutEngine.js';
import type { RolloutStore } from '../../storage/RolloutStore.js';

/** The actor the rollback event records. */
export const ALARM_ACTOR = 'alarm';

/** Rollbacks tried when a CLI writes the model's next state at the same moment; each try re-reads the state. */
export const MAX_ALARM_ROLLBACK_ATTEMPTS = 3;

/** What the alarm-rollback function needs. */
export interface AlarmRollbackDeps {
  /** Reads which model version the alarmed Lambda version serves (its environment). */
  readonly lambda: LambdaClient;
  /** The rollout states in the registry bucket, to tell whether the alarmed version is the candidate. */
  readonly store: Pick<RolloutStore, 'current'>;
  /**
   * The rollout engine (actor {@link ALARM_ACTOR}) over the Lambda target of a predict function: the rollback is
   * the engine's, which writes the state and routes the alias, so one writer moves every alias.
   */
  readonly engineFor: (functionName: string) => Pick<RolloutEngine, 'rollback'>;
  /** @default no logging */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** Epoch ms, for the watch window after a promotion. @default Date.now */
  readonly now?: () => number;
}

/** What the function did with one alarm event. */
export type AlarmRollbackOutcome =
  /** The candidate's weight went to 0 and the state recording it was written. */
  | {
      readonly action: 'rolled-back';
      readonly model: string;
      readonly candidate: number;
      readonly state: RolloutState;
    }
  /** Nothing was changed, and why. */
  | { readonly action: 'ignored'; readonly reason: string };

/**
 * Rolls a rollout back when an alarm of its candidate fires, through the rollout engine: the next state (idle,
 * candidate cleared, a `rollback` event by `alarm`) is written to the registry bucket and the alias routed to the
 * stable version alone (also when the candidate had become the primary version at 100 %). The engine routes the
 * newest state after its write, so a CLI that wrote in between never leaves the alias on an older routing.
 *
 * The alarm's name (`sluice-<function>-<lambdaVersion>-<kind>`) says which Lambda version fired; that version's
 * environment says which model version it serves. Only the current candidate of a rolling state (its build, when
 * the state names one) is rolled back: alarms of other versions and of idle models change nothing. A write that
 * fails (S3 down) leaves the candidate routed and throws: Lambda retries the event (the function's retry
 * attempts), then it goes to the failure queue, whose alarm notifies.
 *
 * @example
 * const outcome = await rollbackOnAlarm(parseAlarmStateChangeEvent(event), { lambda, store, engineFor });
 */
export async function rollbackOnAlarm(
  event: AlarmStateChangeEvent,
  deps: AlarmRollbackDeps,
): Promise<AlarmRollbackOutcome> {
  const { alarmName, state: alarmState } = event.detail;
  const ignore = (reason: string): AlarmRollbackOutcome => {
    deps.logger?.info('alarm ignored', { alarmName, reason });
    return { action: 'ignored', reason };
  };
  if (alarmState.value !== AlarmState.ALARM) return ignore(`the alarm is ${alarmState.value}, not ALARM`);
  const subject = parseVersionAlarmName(alarmName);
  if (subject === undefined) return ignore('not a sluice version alarm (sluice-<function>-<version>-<kind>)');

  const version = `${subject.functionName}:${subject.lambdaVersion}`;
  const configuration = await deps.lambda.send(
    new GetFunctionConfigurationCommand({
      FunctionName: subject.functionName,
      Qualifier: subject.lambdaVersion,
    }),
  );
  const target = readModelIdentity(configuration.Environment?.Variables, version);
  const reason = `${alarmName} in ALARM: ${alarmState.reason}`;

  for (let attempt = 1; ; attempt++) {
    const state = await deps.store.current(target.model);
    // With builds (Lambda versions) in the state, the alarm must be of the candidate's build: a code-only rollout
    // has the stable model version as its candidate, and the stable build's alarms are not the candidate's.
    const isCandidate =
      state?.status === RolloutStatus.ROLLING &&
      state.candidate === target.version &&
      (state.candidateBuild === undefined || state.candidateBuild === subject.lambdaVersion);
    // After a promotion, in its watch window, an alarm of the new stable build reverts the promotion.
    const isWatchedStable =
      state !== undefined &&
      isWatched(state, (deps.now ?? Date.now)()) &&
      state.stable === target.version &&
      (state.stableBuild === undefined || state.stableBuild === subject.lambdaVersion);
    if (!state || !(isCandidate || isWatchedStable)) {
      const where = state === undefined ? 'has no rollout state' : describe(state);
      return ignore(
        `${version} serves ${target.model} v${target.version}, which is not the candidate: ${target.model} ${where}`,
      );
    }
    try {
      const written = await deps
        .engineFor(subject.functionName)
        .rollback(target.model, reason, { undoPromotion: isWatchedStable });
      deps.logger?.warn('rolled the candidate back', {
        alarmName,
        model: target.model,
        candidate: target.version,
        stable: written.stable,
        revision: written.revision,
      });
      return { action: 'rolled-back', model: target.model, candidate: target.version, state: written };
    } catch (error) {
      // A CLI wrote the next state in between (a step, a promote, a rollback: RolloutConflictError, or the engine
      // finding no rollout left to roll back): decide again on what it wrote.
      if (!(error instanceof RolloutError) || attempt >= MAX_ALARM_ROLLBACK_ATTEMPTS) throw error;
    }
  }
}

function describe(state: RolloutState): string {
  return state.status === RolloutStatus.ROLLING
    ? `is rolling v${state.candidate} out at ${state.weight}%`
    : `is idle on v${state.stable}, past any watch window`;
}
