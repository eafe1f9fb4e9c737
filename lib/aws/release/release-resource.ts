import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DeleteAliasCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  PutProvisionedConcurrencyConfigCommand,
} from '@aws-sdk/client-lambda';
import { readModelIdentity } from '../../core/environment/predict-environment.js';
import { describeIssues } from '../../core/errors/describe-issues.js';
import { planRollout } from '../../core/rollout/plan-rollout.js';
import { RolloutConflictError } from '../../core/rollout/RolloutConflictError.js';
import { RolloutError } from '../../core/rollout/RolloutError.js';
import { RolloutStrategy } from '../../core/rollout/RolloutPlan.js';
import { RolloutAction, type RolloutState, RolloutStatus } from '../../core/rollout/RolloutState.js';
import {
  aliasIdOf,
  CDK_ACTOR,
  decideRelease,
  ProvisionedConcurrencyStep,
  type ReleaseDecision,
} from '../../core/rollout/release-decision.js';
import {
  ReleaseAction,
  type ReleaseCompleteEvent,
  ReleaseCompleteEventSchema,
  type ReleaseData,
  type ReleaseEvent,
  ReleaseEventSchema,
  type ReleaseProperties,
  ReleasePropertiesSchema,
} from '../../core/rollout/release-event.js';
import { releasedOnNewFunction } from '../../core/rollout/rollout-transitions.js';
import { ROLLOUT_WAIT_MS } from '../../core/rollout/rollout-wait.js';
import { LIVE_ALIAS } from '../../core/rollout/stack-names.js';
import type { RolloutEngine } from '../../rollout/RolloutEngine.js';
import type { RolloutStore } from '../../storage/RolloutStore.js';
import type { LambdaRolloutTarget } from '../lambda/LambdaRolloutTarget.js';
import { deleteFunctionAlarms } from '../lambda/prune-function-versions.js';

export { CDK_ACTOR } from '../../core/rollout/release-decision.js';

/** What the release handlers need. */
export interface ReleaseDeps {
  /** Creates and deletes the alias, reads the Lambda version CloudFormation published. */
  readonly lambda: LambdaClient;
  /** The engine (actor {@link CDK_ACTOR}) that starts and rolls back rollouts. */
  readonly engine: Pick<RolloutEngine, 'deploy' | 'rollback' | 'reconcile' | 'promote'>;
  /** Where the rollout states are read, and where Create writes a new function's first one. */
  readonly store: Pick<RolloutStore, 'current' | 'write'>;
  /** Deletes the function's version alarms on Delete. */
  readonly cloudwatch: CloudWatchClient;
  /** The AWS target: the stable version of a model with no state, builds of a code-only change, alarms. */
  readonly target: Pick<LambdaRolloutTarget, 'prepare' | 'servedVersion' | 'ensureVersionAlarms'>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default no logging */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /**
   * How long `isComplete` waits for a rollout before rolling it back and failing.
   * @default ROLLOUT_WAIT_MS
   */
  readonly waitMs?: number;
}

/** `onEvent`'s answer to the Provider framework. */
export interface ReleaseResponse {
  readonly PhysicalResourceId: string;
  readonly Data: ReleaseData;
}

/**
 * `onEvent` of a model's release custom resource: what `cdk deploy` does to a model's traffic. What to do is decided
 * by {@link decideRelease} from the request and the model's state alone (its cases are documented and table-tested
 * there); this carries it out:
 *
 * - **Create** (or a function CloudFormation replaced): the `live` alias on the Lambda version CloudFormation
 *   published, with its version alarms and provisioned concurrency, through the engine; no rollout. The model's
 *   state is written afresh on the new function (`releasedOnNewFunction`). The registry may still be empty: the
 *   function answers 503 until that model version is published.
 * - **Update**: a rollout through the engine (actor `cdk`, the model's plan) that `isComplete` waits for; or
 *   the end of cdk deploy's own rollout (CloudFormation's rollback Update); or the previous version back at once (a
 *   rollback Update of a release cdk deploy promoted); or nothing; or a refusal naming the rollout in progress.
 *   Provisioned concurrency is set only while the alias routes to one version.
 * - **Delete**: deletes the alias and every version alarm of the function. The rollout states stay as history; a
 *   later Create of the model starts from a fresh one.
 *
 * @example
 * export const onEvent = (event: unknown) => onReleaseEvent(event, deps);
 */
export async function onReleaseEvent(raw: unknown, deps: ReleaseDeps): Promise<ReleaseResponse> {
  const event = parseRequest(raw);
  if (event.RequestType === 'Delete') {
    const functionName = await deleteAlias(event.PhysicalResourceId, deps);
    const alarms = await deleteFunctionAlarms(deps.cloudwatch, functionName);
    deps.logger?.info('deleted the live alias and the version alarms', {
      functionName,
      alarms: alarms.length,
    });
    return { PhysicalResourceId: event.PhysicalResourceId, Data: { Action: ReleaseAction.DELETED } };
  }
  const props = event.ResourceProperties;
  const state = await deps.store.current(props.Model);
  const creates = event.RequestType === 'Create' || event.PhysicalResourceId !== aliasIdOf(props);
  if (creates) {
    const configuration = await deps.lambda.send(
      new GetFunctionConfigurationCommand({
        FunctionName: props.FunctionName,
        Qualifier: props.LambdaVersion,
      }),
    );
    const served = readModelIdentity(
      configuration.Environment?.Variables,
      `${props.FunctionName}:${props.LambdaVersion}`,
    );
    const decision = decideRelease({ event, state, served: { version: served.version } });
    await deps.target.ensureVersionAlarms(props.Model, served.version, configuration);
    return createAlias(props, served.version, decision.kind === 'create' && decision.writeState, state, deps);
  }
  const served = state ? undefined : await deps.target.servedVersion(props.Model);
  const decision = decideRelease({ event, state, ...(served ? { served } : {}) });
  if (decision.provisionedConcurrency === ProvisionedConcurrencyStep.BEFORE) {
    await applyProvisionedConcurrency(props, deps.lambda);
  }
  const response = await act(decision, props, deps);
  if (decision.provisionedConcurrency === ProvisionedConcurrencyStep.AFTER) {
    await applyProvisionedConcurrency(props, deps.lambda);
  }
  return response;
}

/**
 * `isComplete` of a model's release: true once the rollout `onEvent` started is promoted (the stable version is
 * the candidate in its Lambda version); false while it rolls; throws when it was rolled back (by its alarms, the
 * driver's health gate or a person), so CloudFormation fails the deploy and rolls the stack back while the
 * previous version keeps serving. A rollout still rolling after `waitMs` is rolled back here, then fails the same
 * way, rather than letting CloudFormation time out with traffic split.
 */
export async function isReleaseComplete(raw: unknown, deps: ReleaseDeps): Promise<{ IsComplete: boolean }> {
  const event = parseComplete(raw);
  const { Data: data } = event;
  if (data.Action !== ReleaseAction.ROLLOUT) return { IsComplete: true };
  const parsedProps = ReleasePropertiesSchema.safeParse(event.ResourceProperties);
  if (!parsedProps.success) {
    throw new RolloutError(`not a release isComplete request: ${describeIssues(parsedProps.error)}`);
  }
  const props = parsedProps.data;
  const candidate = Number(data.Candidate);
  const build = data.Build;
  const model = props.Model;
  const state = await deps.store.current(model);
  if (state === undefined) {
    throw new RolloutError(
      `${model} has no rollout state, but cdk deploy started a rollout of v${candidate}`,
    );
  }
  if (state.stable === candidate && state.stableBuild === build) return { IsComplete: true };
  const ours = state.candidate === candidate && state.candidateBuild === build;
  if (state.status === RolloutStatus.ROLLING && ours) {
    const now = (deps.now ?? Date.now)();
    const deadline = Number(data.StartedAt ?? now) + (deps.waitMs ?? ROLLOUT_WAIT_MS);
    if (now < deadline) return { IsComplete: false };
    const minutes = Math.round((deps.waitMs ?? ROLLOUT_WAIT_MS) / 60_000);
    const reason = `cdk deploy waited ${minutes} minutes for the rollout of v${candidate} (Lambda version ${build}) and it had not finished`;
    try {
      await deps.engine.rollback(model, reason);
    } catch (error) {
      // The driver wrote a step (or the promotion) at the same moment: decide again at the next poll.
      if (error instanceof RolloutConflictError) return { IsComplete: false };
      throw error;
    }
    throw new RolloutError(
      `${model}: ${reason} (at ${state.weight}%; ${state.plan ? `plan [${state.plan.steps.join(', ')}]%` : 'no plan'}); ` +
        `it was rolled back and v${state.stable} keeps serving. Give the model traffic (each step needs its minRequests), ` +
        'shorten its rollout in sluice.config.json, or roll it out with `sluice deploy` instead',
    );
  }
  throw new RolloutError(`${model}: ${describeEnd(state, candidate, build)}; v${state.stable} keeps serving`);
}

/** Carries out an Update's decision. */
async function act(
  decision: ReleaseDecision,
  props: ReleaseProperties,
  deps: ReleaseDeps,
): Promise<ReleaseResponse> {
  const model = props.Model;
  const physicalId = aliasIdOf(props);
  switch (decision.kind) {
    case 'none':
      return none(physicalId, decision.reason, deps, props);
    case 'refuse':
      // Refused before anything is published; the engine would refuse the same way, later.
      throw new RolloutError(decision.message);
    case 'end-own-rollout': {
      // CloudFormation rolling the stack back (its rollback Update carries the previous properties) after another
      // resource failed, or the config reverted. The rollout ends here and the stable version keeps serving: refusing
      // would leave the stack in UPDATE_ROLLBACK_FAILED (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed).
      const ended = await deps.engine.rollback(model, decision.reason);
      return none(
        physicalId,
        `the rollout of v${ended.history.at(-1)?.candidate ?? '?'} was rolled back; v${props.ModelVersion} keeps serving`,
        deps,
        props,
      );
    }
    case 'revert-at-once': {
      // The version it names was stable until the last cdk deploy, so it takes all traffic back at once, after its
      // golden check, rather than through a canary a quiet model could not finish within CloudFormation's hour.
      // No watch window: the version CloudFormation rolls back to is not judged against the one it rolls back from.
      const plan = {
        ...planRollout({ strategy: RolloutStrategy.ALL_AT_ONCE, shadowPercent: 0 }),
        watchMs: 0,
      };
      await deps.engine.deploy(model, { version: decision.version, plan, build: decision.build });
      await deps.engine.promote(model, { weight: 100 });
      return none(
        physicalId,
        `v${decision.version} in Lambda version ${decision.build}, stable before the last cdk deploy, serves again at once`,
        deps,
        props,
      );
    }
    case 'resume':
      return rolloutResponse(
        physicalId,
        decision.candidate,
        decision.build,
        decision.startedAt,
        `still rolling v${decision.candidate} out in Lambda version ${decision.build} (a retried request)`,
      );
    case 'roll-out':
      return rollOutUnlessIdentical(
        props,
        decision,
        decision.build,
        `rolling v${decision.candidate} out in Lambda version ${decision.build}`,
        deps,
      );
    case 'roll-out-new-code': {
      const build = (await deps.target.prepare(model, decision.candidate)).build ?? props.LambdaVersion;
      return rollOutUnlessIdentical(
        props,
        decision,
        build,
        `rolling sluice's new code out with v${decision.candidate}, the version sluice promoted (the config names v${decision.configured})`,
        deps,
      );
    }
    case 'create':
    case 'delete':
      throw new RolloutError(`${model}: an Update cannot ${decision.kind}`);
  }
}

/**
 * Starts the rollout of the candidate in `build`, unless that build serves exactly what the stable one serves (the
 * candidate is the stable model version): then nothing moves.
 */
async function rollOutUnlessIdentical(
  props: ReleaseProperties,
  decision: { readonly candidate: number; readonly compareWith?: string },
  build: string,
  reason: string,
  deps: ReleaseDeps,
): Promise<ReleaseResponse> {
  const stableBuild = decision.compareWith;
  if (build === stableBuild) {
    return none(
      aliasIdOf(props),
      `v${decision.candidate} in Lambda version ${build} already serves`,
      deps,
      props,
    );
  }
  if (stableBuild !== undefined && (await sameRelease(deps.lambda, props, build, stableBuild))) {
    return none(
      aliasIdOf(props),
      `Lambda version ${build} serves exactly what Lambda version ${stableBuild} (v${decision.candidate}) serves: same code and environment`,
      deps,
      props,
    );
  }
  return startRollout(props, decision.candidate, build, reason, deps);
}

async function startRollout(
  props: ReleaseProperties,
  candidate: number,
  build: string,
  reason: string,
  deps: ReleaseDeps,
): Promise<ReleaseResponse> {
  const startedAt = (deps.now ?? Date.now)();
  const state = await deps.engine.deploy(props.Model, { version: candidate, plan: props.Plan, build });
  deps.logger?.info('cdk deploy started a rollout', {
    model: props.Model,
    candidate,
    build,
    stable: state.stable,
    status: state.status,
  });
  return rolloutResponse(aliasIdOf(props), candidate, build, startedAt, reason);
}

function rolloutResponse(
  physicalId: string,
  candidate: number,
  build: string,
  startedAt: number,
  reason: string,
): ReleaseResponse {
  return {
    PhysicalResourceId: physicalId,
    Data: {
      Action: ReleaseAction.ROLLOUT,
      Candidate: String(candidate),
      Build: build,
      StartedAt: String(startedAt),
      Reason: reason,
    },
  };
}

/** Whether two Lambda versions serve exactly the same: the same code (CodeSha256) and environment. */
async function sameRelease(
  lambda: LambdaClient,
  props: ReleaseProperties,
  build: string,
  other: string,
): Promise<boolean> {
  const [a, b] = await Promise.all(
    [build, other].map((qualifier) =>
      lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: props.FunctionName, Qualifier: qualifier }),
      ),
    ),
  );
  const variables = (config: typeof a) =>
    JSON.stringify(Object.entries(config?.Environment?.Variables ?? {}).sort());
  return a?.CodeSha256 !== undefined && a.CodeSha256 === b?.CodeSha256 && variables(a) === variables(b);
}

/**
 * Creates the alias (a Create, or a function CloudFormation replaced): writes the model's state afresh on this
 * function unless a retried Create already did, and lets the engine route it: the target creates the alias as it
 * does (UpdateAlias, then CreateAlias when there is none), so the engine is the one writer of the alias.
 */
async function createAlias(
  props: ReleaseProperties,
  version: number,
  writeState: boolean,
  current: RolloutState | undefined,
  deps: ReleaseDeps,
): Promise<ReleaseResponse> {
  if (writeState) {
    await deps.store.write(
      releasedOnNewFunction(current, {
        model: props.Model,
        version,
        build: props.LambdaVersion,
        functionName: props.FunctionName,
        actor: CDK_ACTOR,
        now: (deps.now ?? Date.now)(),
      }),
    );
  }
  await deps.engine.reconcile(props.Model);
  await applyProvisionedConcurrency(props, deps.lambda);
  deps.logger?.info('created the live alias', {
    model: props.Model,
    lambdaVersion: props.LambdaVersion,
    version,
  });
  return {
    PhysicalResourceId: aliasIdOf(props),
    Data: {
      Action: ReleaseAction.CREATED,
      Reason: `the live alias serves v${version} (Lambda version ${props.LambdaVersion}); nothing to roll out from`,
    },
  };
}

/** Deletes the alias a physical id names (`function:alias`); returns the function's name. */
async function deleteAlias(physicalId: string, deps: ReleaseDeps): Promise<string> {
  const separator = physicalId.lastIndexOf(':');
  const functionName = physicalId.slice(0, separator);
  const name = physicalId.slice(separator + 1);
  try {
    await deps.lambda.send(new DeleteAliasCommand({ FunctionName: functionName, Name: name }));
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') throw error;
  }
  return functionName;
}

/** Sets the alias's provisioned concurrency to the configured number, or removes it for 0. */
async function applyProvisionedConcurrency(props: ReleaseProperties, lambda: LambdaClient): Promise<void> {
  const executions = Number(props.ProvisionedConcurrency);
  if (executions > 0) {
    await lambda.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: props.FunctionName,
        Qualifier: LIVE_ALIAS,
        ProvisionedConcurrentExecutions: executions,
      }),
    );
    return;
  }
  try {
    await lambda.send(
      new DeleteProvisionedConcurrencyConfigCommand({
        FunctionName: props.FunctionName,
        Qualifier: LIVE_ALIAS,
      }),
    );
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') throw error;
  }
}

function none(
  physicalId: string,
  reason: string,
  deps: ReleaseDeps,
  props: ReleaseProperties,
): ReleaseResponse {
  deps.logger?.info('cdk deploy moves no traffic', { model: props.Model, reason });
  return { PhysicalResourceId: physicalId, Data: { Action: ReleaseAction.NONE, Reason: reason } };
}

/** Why the rollout `cdk deploy` started is over without its candidate being stable. */
function describeEnd(state: RolloutState, candidate: number, build: string | undefined): string {
  const ended = [...state.history]
    .reverse()
    .find(
      (event) =>
        event.candidate === candidate &&
        (event.action === RolloutAction.ROLLBACK || event.action === RolloutAction.GOLDEN_FAILED),
    );
  const what = `the rollout of v${candidate} (Lambda version ${build ?? '?'})`;
  if (ended !== undefined) {
    return `${what} was rolled back by ${ended.actor} at ${ended.at}: ${ended.reason ?? 'no reason recorded'}`;
  }
  return state.status === RolloutStatus.ROLLING
    ? `${what} was replaced by a rollout of v${state.candidate}`
    : `${what} ended without being promoted`;
}

function parseRequest(raw: unknown): ReleaseEvent {
  const parsed = ReleaseEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RolloutError(`not a release custom resource request: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

function parseComplete(raw: unknown): ReleaseCompleteEvent {
  const parsed = ReleaseCompleteEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RolloutError(`not a release isComplete request: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Most bytes of a failure's message the release hands the Provider framework, which sends it to CloudFormation as
 * the response's `Reason` with its own text around it: "The total size of the response body can't exceed 4096
 * bytes" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html), and a response
 * over it fails the stack operation with a reason nobody sees.
 */
export const MAX_FAILURE_REASON_BYTES = 2_000;

/**
 * A release handler whose failures fit CloudFormation's response: a longer message (a golden check's list of
 * mismatches, a replay's figures) is logged whole and thrown cut to {@link MAX_FAILURE_REASON_BYTES}, saying so.
 *
 * @example
 * export const onEvent = boundedFailures((event) => onReleaseEvent(event, deps), logger);
 */
export function boundedFailures<TEvent, TResult>(
  handler: (event: TEvent) => Promise<TResult>,
  logger?: Pick<Logger, 'error'>,
): (event: TEvent) => Promise<TResult> {
  return async (event) => {
    try {
      return await handler(event);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (Buffer.byteLength(message) <= MAX_FAILURE_REASON_BYTES) throw error;
      logger?.error('the release failed; its whole reason', { reason: message });
      const note = " ... (cut to fit CloudFormation; the whole reason is in the handler's log)";
      let cut = message.slice(0, MAX_FAILURE_REASON_BYTES - note.length);
      while (Buffer.byteLength(cut) + note.length > MAX_FAILURE_REASON_BYTES) cut = cut.slice(0, -1);
      throw new Error(`${cut}${note}`, { cause: error });
    }
  };
}
