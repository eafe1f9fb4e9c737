import type { Logger } from '@aws-lambda-powertools/logger';
import {
  GetFunctionConfigurationCommand,
  type LambdaClient,
  UpdateAliasCommand,
  type UpdateAliasCommandInput,
} from '@aws-sdk/client-lambda';
import { readModelIdentity } from '../../core/environment/predict-environment.js';
import { AlarmState, type AlarmStateChangeEvent } from '../../core/gates/alarm-state-change-event.js';
import { parseVersionAlarmName } from '../../core/gates/version-alarm-name.js';
import { RolloutConflictError } from '../../core/rollout/RolloutConflictError.js';
import { type RolloutState, RolloutStatus } from '../../core/rollout/RolloutState.js';
import type { Routing } from '../../core/rollout/RolloutTarget.js';
import { rollback } from '../../core/rollout/rollout-transitions.js';
import { routingOf } from '../../core/rollout/routing-of.js';
import { LIVE_ALIAS } from '../../core/rollout/stack-names.js';
import type { RolloutStore } from '../../storage/RolloutStore.js';
import { aliasRouting } from '../lambda/alias-routing.js';
import { listFunctionVersions } from '../lambda/list-function-versions.js';
import { findPublishedVersion } from '../lambda/published-version.js';

/** The actor the rollback event records. */
export const ALARM_ACTOR = 'alarm';

/** Rollbacks tried when a CLI writes the model's next state at the same moment; each try re-reads the state. */
export const MAX_ALARM_ROLLBACK_ATTEMPTS = 3;

/** What the alarm-rollback function needs. */
export interface AlarmRollbackDeps {
  /** Reads which model version the alarmed Lambda version serves, and clears the alias's routing. */
  readonly lambda: LambdaClient;
  /** The rollout states in the registry bucket. */
  readonly store: Pick<RolloutStore, 'current' | 'write'>;
  /**
   * The alias whose routing is cleared.
   * @default LIVE_ALIAS
   */
  readonly alias?: string;
  /** @default no logging */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Clock for the rollback event.
   * @default Date.now
   */
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
 * Rolls a rollout back when an alarm of its candidate fires: the alias goes back to the stable version's
 * Lambda version with no additional weight (UpdateAlias; also when the candidate had become the primary version
 * at 100 %), and the next rollout state (idle, candidate cleared, a `rollback` event by `alarm`) is written to
 * the registry bucket. The alias is updated again after the write: a CLI may have routed its older state in
 * between, and it re-reads the state after routing, so whichever lands last, the alias ends rolled back.
 *
 * The alarm's name (`sluice-<function>-<lambdaVersion>-<kind>`) says which Lambda version fired; that version's
 * environment says which model version it serves. Only the current candidate of a rolling state (its build, when
 * the state names one) is rolled back: alarms of other versions and of idle models change nothing. The alias is cleared before the state is written, so traffic stops even when S3 fails, and a failed
 * write leaves a rolling state for the retried invocation to act on again.
 *
 * @example
 * const outcome = await rollbackOnAlarm(parseAlarmStateChangeEvent(event), { lambda, store });
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
  const alias = deps.alias ?? LIVE_ALIAS;
  const now = deps.now ?? Date.now;

  let movedAlias = false;
  for (let attempt = 1; ; attempt++) {
    const state = await deps.store.current(target.model);
    // With builds (Lambda versions) in the state, the alarm must be of the candidate's build: a code-only rollout
    // has the stable model version as its candidate, and the stable build's alarms are not the candidate's.
    const isCandidate =
      state?.status === RolloutStatus.ROLLING &&
      state.candidate === target.version &&
      (state.candidateBuild === undefined || state.candidateBuild === subject.lambdaVersion);
    if (!state || !isCandidate) {
      const where = state === undefined ? 'has no rollout state' : describe(state);
      if (state && movedAlias) {
        // This invocation moved the alias, then lost the write to a command that had already routed its own
        // state: put the alias back on what that command wrote, or it would stay on ours.
        await deps.lambda.send(
          new UpdateAliasCommand(
            await aliasUpdate(deps, subject.functionName, alias, target.model, routingOf(state)),
          ),
        );
      }
      return ignore(
        `${version} serves ${target.model} v${target.version}, which is not the candidate: ${target.model} ${where}`,
      );
    }
    const stableRouting = await aliasUpdate(deps, subject.functionName, alias, target.model, {
      stable: state.stable,
      ...(state.stableBuild === undefined ? {} : { stableBuild: state.stableBuild }),
      weight: 0,
    });
    await deps.lambda.send(new UpdateAliasCommand(stableRouting));
    movedAlias = true;
    try {
      const written = await deps.store.write(rollback(state, { reason, actor: ALARM_ACTOR, now: now() }));
      await deps.lambda.send(new UpdateAliasCommand(stableRouting));
      deps.logger?.warn('rolled the candidate back', {
        alarmName,
        model: target.model,
        candidate: target.version,
        stable: written.stable,
        revision: written.revision,
      });
      return { action: 'rolled-back', model: target.model, candidate: target.version, state: written };
    } catch (error) {
      // A CLI wrote the next state in between (a step, a promote, a rollback): decide again on what it wrote.
      if (!(error instanceof RolloutConflictError) || attempt >= MAX_ALARM_ROLLBACK_ATTEMPTS) throw error;
    }
  }
}

/**
 * The alias update for a routing, as the CLI applies it: the stable model version's newest published Lambda
 * version as the primary (the candidate's at 100 %) and the candidate's at its weight. When no Lambda version
 * serves the stable version (versions deleted by hand), the primary is left as it is and only the weights are set.
 */
async function aliasUpdate(
  deps: AlarmRollbackDeps,
  functionName: string,
  alias: string,
  model: string,
  routing: Routing,
): Promise<UpdateAliasCommandInput> {
  const versions = await listFunctionVersions(deps.lambda, functionName);
  const lambdaVersionOf = (modelVersion: number) =>
    findPublishedVersion(versions, model, modelVersion)?.Version;
  const stable = routing.stableBuild ?? lambdaVersionOf(routing.stable);
  const candidate =
    routing.candidate === undefined || routing.weight <= 0
      ? undefined
      : (routing.candidateBuild ?? lambdaVersionOf(routing.candidate));
  if (stable === undefined) {
    deps.logger?.warn('no Lambda version serves the stable model version; setting the weights only', {
      model,
      stable: routing.stable,
    });
  }
  return {
    FunctionName: functionName,
    Name: alias,
    ...aliasRouting(stable, candidate === stable ? undefined : candidate, routing.weight),
  };
}

function describe(state: RolloutState): string {
  return state.status === RolloutStatus.ROLLING
    ? `is rolling v${state.candidate} out at ${state.weight}%`
    : `is idle on v${state.stable}`;
}
