import { RolloutAction, type RolloutEvent, type RolloutState, RolloutStatus } from './RolloutState.js';
import type { ReleaseEvent, ReleaseProperties } from './release-event.js';
import { LIVE_ALIAS } from './stack-names.js';

/** The actor `cdk deploy`'s rollouts record in the history. */
export const CDK_ACTOR = 'cdk';

/** A model version in a build (a Lambda version). */
export interface ServedBuild {
  readonly version: number;
  readonly build?: string | undefined;
}

/** What a release knows when it decides: the request, the model's current state, and what serves. */
export interface ReleaseSituation {
  readonly event: ReleaseEvent;
  /** The model's current rollout state, if it has one. */
  readonly state: RolloutState | undefined;
  /**
   * What serves now when the model has no state (an Update only; the target reads the alias), and, for a Create or
   * a replaced function, the model version the published Lambda version serves (its environment).
   */
  readonly served?: ServedBuild;
}

/**
 * When the release sets the alias's provisioned concurrency. Lambda refuses PutProvisionedConcurrencyConfig on an
 * alias with routing weights (hashicorp/terraform#24957) and AWS advises raising it before routing
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html), so it is set only while the
 * alias routes to one version: before a rollout starts, after one ends.
 */
export const ProvisionedConcurrencyStep = {
  /** Before the action (the alias is not weighted yet). */
  BEFORE: 'before',
  /** After the action (it ends a rollout, so the weights are gone). */
  AFTER: 'after',
  /** Unchanged, or set by the earlier attempt of a retried request. */
  KEEP: 'keep',
} as const;
export type ProvisionedConcurrencyStep =
  (typeof ProvisionedConcurrencyStep)[keyof typeof ProvisionedConcurrencyStep];

/** What a release does with a request: one of these, then the provisioned concurrency as {@link ProvisionedConcurrencyStep} says. */
export type ReleaseDecision = (
  | {
      /** Create the alias on the published Lambda version; write a fresh state unless it is this function's already (a retried Create). */
      readonly kind: 'create';
      readonly writeState: boolean;
    }
  | { readonly kind: 'delete' }
  | { readonly kind: 'none'; readonly reason: string }
  | {
      /** CloudFormation's rollback Update (or a reverted config) during cdk deploy's own rollout: end it, move no traffic. */
      readonly kind: 'end-own-rollout';
      readonly reason: string;
    }
  | {
      /** The Update reverses exactly the last release cdk deploy promoted: that version serves again at once. */
      readonly kind: 'revert-at-once';
      readonly version: number;
      readonly build: string;
    }
  | { readonly kind: 'refuse'; readonly message: string }
  | {
      /** A retried Update whose rollout is already in progress: wait for it again, from when it started. */
      readonly kind: 'resume';
      readonly candidate: number;
      readonly build: string;
      readonly startedAt: number;
    }
  | {
      /** Roll the configured version out in the Lambda version CloudFormation published. */
      readonly kind: 'roll-out';
      readonly candidate: number;
      readonly build: string;
      /**
       * The stable build, when the candidate is the stable model version in another Lambda version: the release
       * compares the two, and moves nothing if they serve exactly the same (e.g. the config now names the version
       * `sluice deploy` promoted, and CloudFormation published an identical build).
       */
      readonly compareWith?: string;
    }
  | {
      /**
       * Only sluice's code or the function's configuration changed and another version than the config names is
       * stable (`sluice deploy` promoted it): roll the new code out with that version, in a build published for it.
       */
      readonly kind: 'roll-out-new-code';
      readonly candidate: number;
      readonly configured: number;
      /** The stable version's build, which the new one is compared with (as in `roll-out`). */
      readonly compareWith?: string;
    }
) & { readonly provisionedConcurrency: ProvisionedConcurrencyStep };

/**
 * What a model's release does with a custom resource request, from the request and the model's state alone (no
 * I/O, so every case is a row of a table test). The cases, in the order they are tried, are listed in the README's
 * "What a deploy does".
 *
 * @example
 * const decision = decideRelease({ event, state: await store.current(model), served });
 * if (decision.kind === 'refuse') throw new RolloutError(decision.message);
 */
export function decideRelease(situation: ReleaseSituation): ReleaseDecision {
  const { event, state } = situation;
  if (event.RequestType === 'Delete')
    return { kind: 'delete', provisionedConcurrency: ProvisionedConcurrencyStep.KEEP };
  const props = event.ResourceProperties;
  if (event.RequestType === 'Create' || event.PhysicalResourceId !== aliasIdOf(props)) {
    // A Create, or an Update whose function CloudFormation replaced (a new physical id; CloudFormation deletes the
    // old one after: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html).
    const published = situation.served?.version;
    const own =
      state?.status === RolloutStatus.IDLE &&
      state.functionName === props.FunctionName &&
      state.stableBuild === props.LambdaVersion &&
      state.stable === published;
    return { kind: 'create', writeState: !own, provisionedConcurrency: ProvisionedConcurrencyStep.AFTER };
  }
  return decideUpdate(props, event.OldResourceProperties, state, situation.served);
}

function decideUpdate(
  props: ReleaseProperties,
  old: ReleaseProperties,
  state: RolloutState | undefined,
  served: ServedBuild | undefined,
): ReleaseDecision {
  const model = props.Model;
  const configured = Number(props.ModelVersion);
  const build = props.LambdaVersion;
  const concurrencyChanged = old.ProvisionedConcurrency !== props.ProvisionedConcurrency;
  const rolling = state?.status === RolloutStatus.ROLLING;
  const lastDeploy = state && lastDeployEvent(state.history);
  const startedBy = lastDeploy?.actor;
  const ownRollout = rolling && startedBy === CDK_ACTOR;
  const servesChanged = old.ModelVersion !== props.ModelVersion || old.Sha256 !== props.Sha256;
  const codeChanged = old.LambdaVersion !== props.LambdaVersion;
  const before = concurrencyChanged ? ProvisionedConcurrencyStep.BEFORE : ProvisionedConcurrencyStep.KEEP;

  if (ownRollout && state.stable === configured && state.stableBuild === build) {
    return {
      kind: 'end-own-rollout',
      reason: `cdk deploy now names v${configured} in Lambda version ${build}, the stable version (the stack is being rolled back, or the config reverted)`,
      provisionedConcurrency: concurrencyChanged
        ? ProvisionedConcurrencyStep.AFTER
        : ProvisionedConcurrencyStep.KEEP,
    };
  }
  if (
    rolling &&
    state.candidate === configured &&
    state.candidateBuild === build &&
    startedBy === CDK_ACTOR
  ) {
    return {
      kind: 'resume',
      candidate: configured,
      build,
      startedAt: Date.parse(lastDeploy?.at ?? state.updatedAt),
      provisionedConcurrency: ProvisionedConcurrencyStep.KEEP,
    };
  }
  if (rolling) {
    const what = `a rollout of ${model} (v${state.stable} -> v${state.candidate} at ${state.weight}%${startedBy ? `, started by ${startedBy}` : ''}) is in progress`;
    if (!servesChanged && !codeChanged && !concurrencyChanged) {
      return {
        kind: 'none',
        reason: `nothing the model serves changed (${what})`,
        provisionedConcurrency: ProvisionedConcurrencyStep.KEEP,
      };
    }
    return {
      kind: 'refuse',
      message:
        servesChanged || codeChanged
          ? `${what}; cdk deploy changes ${model} only once it is promoted or rolled back (\`sluice status ${model}\`)`
          : `${what}, so its alias is weighted and Lambda refuses a change of its provisioned concurrency ` +
            '("Alias with weights can not be used with Provisioned Concurrency"); deploy the change once the rollout is promoted or rolled back',
      provisionedConcurrency: ProvisionedConcurrencyStep.KEEP,
    };
  }
  if (!servesChanged && !codeChanged) {
    return { kind: 'none', reason: 'nothing the model serves changed', provisionedConcurrency: before };
  }
  if (
    state !== undefined &&
    startedBy === CDK_ACTOR &&
    // That deploy took this very version and build off the alias, and what it rolled out is what serves now.
    lastDeploy?.stable === configured &&
    lastDeploy.stableBuild === build &&
    lastDeploy.candidate === state.stable &&
    lastDeploy.candidateBuild === state.stableBuild &&
    Number(old.ModelVersion) === state.stable &&
    old.LambdaVersion === state.stableBuild
  ) {
    return { kind: 'revert-at-once', version: configured, build, provisionedConcurrency: before };
  }
  const stable = state ? { version: state.stable, build: state.stableBuild } : served;
  if (servesChanged || stable === undefined || stable.version === configured) {
    if (stable !== undefined && stable.version === configured && stable.build === build) {
      return {
        kind: 'none',
        reason: `v${configured} in Lambda version ${build} already serves`,
        provisionedConcurrency: before,
      };
    }
    return {
      kind: 'roll-out',
      candidate: configured,
      build,
      ...(stable?.version === configured && stable.build !== undefined ? { compareWith: stable.build } : {}),
      provisionedConcurrency: before,
    };
  }
  return {
    kind: 'roll-out-new-code',
    candidate: stable.version,
    configured,
    ...(stable.build === undefined ? {} : { compareWith: stable.build }),
    provisionedConcurrency: before,
  };
}

/**
 * The newest deploy in a history (by `actor`, when given): who started the current or last rollout and what was
 * stable then, with the builds of both.
 */
export function lastDeployEvent(history: RolloutState['history'], actor?: string): RolloutEvent | undefined {
  return [...history]
    .reverse()
    .find((event) => event.action === RolloutAction.DEPLOY && (actor === undefined || event.actor === actor));
}

/** The physical id of a release: the alias it owns, `<function>:live`. */
export function aliasIdOf(props: Pick<ReleaseProperties, 'FunctionName'>): string {
  return `${props.FunctionName}:${LIVE_ALIAS}`;
}
