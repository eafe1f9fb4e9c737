import type { Decision } from './decide.js';
import { assertValidPlan, DEFAULT_MIN_REQUESTS, FULL_WEIGHT } from './plan-rollout.js';
import { nextStep } from './private/next-step.js';
import { RolloutError } from './RolloutError.js';
import type { RolloutPlan } from './RolloutPlan.js';
import { RolloutAction, type RolloutEvent, type RolloutState, RolloutStatus } from './RolloutState.js';

/** Events kept in a state's history; the oldest are dropped first, so a state object stays small. */
export const MAX_HISTORY_EVENTS = 200;

/** Characters of an event's reason kept (golden failures and alarm reasons can be long). */
export const MAX_EVENT_REASON_CHARS = 1_000;

/** The version of the state schema these transitions write. */
const STATE_SCHEMA_VERSION = 1;

/** Who acts and when; every transition records both in the event it appends. */
export interface TransitionContext {
  /** Who acts: `cli`, `local-stack`, `alarm`, ... */
  readonly actor: string;
  /** The time of the transition, epoch milliseconds (passed in: the transitions never read a clock). */
  readonly now: number;
}

/** What {@link startRollout} takes. */
export interface StartRolloutInput extends TransitionContext {
  /** The model being rolled out. */
  readonly model: string;
  /** The version to roll out. */
  readonly candidate: number;
  /**
   * The target's build of the candidate (AWS: its Lambda version).
   * @default none (targets without builds)
   */
  readonly candidateBuild?: string;
  /**
   * The version serving everything else; required when the model has no state yet.
   * @default the state's stable version
   */
  readonly stable?: number;
  /**
   * The stable version's build, when the model has no state yet.
   * @default the state's stable build
   */
  readonly stableBuild?: string;
  /** How traffic moves; see `planRollout`. */
  readonly plan: RolloutPlan;
  /** The replay of the reference sets that ran before the rollout, when one did. @default none */
  readonly replay?: RolloutState['replay'];
  /** What the deploy changed of the plan asked for, said in its event (a shadow phase the target cannot run). */
  readonly note?: string;
  /**
   * The target's build that answers with the stable version and runs the candidate too, routed the shadow share
   * during the shadow phase (AWS: a Lambda version with SLUICE_SHADOW_VERSION). @default none (the local stack
   * shadows in its own app)
   */
  readonly shadowBuild?: string;
}

/** The routing part of a state: everything a transition replaces. */
type Routing = Pick<
  RolloutState,
  | 'status'
  | 'stable'
  | 'stableBuild'
  | 'candidate'
  | 'candidateBuild'
  | 'weight'
  | 'plan'
  | 'stepIndex'
  | 'stepStartedAt'
  | 'phase'
  | 'shadowBuild'
  | 'replay'
>;

/** What an event records besides its time, actor and stable version. */
type EventDetails = Pick<RolloutEvent, 'action' | 'candidate' | 'weight' | 'reason'>;

/**
 * The state of a model before anything was stored: its stable version takes all traffic, revision 0.
 *
 * @param now epoch milliseconds recorded as `updatedAt`. @default 0
 * @example
 * const state = initialState('iris', 1);
 */
export function initialState(model: string, stable: number, now = 0, stableBuild?: string): RolloutState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    model,
    revision: 0,
    status: RolloutStatus.IDLE,
    stable,
    ...(stableBuild === undefined ? {} : { stableBuild }),
    weight: 0,
    updatedAt: isoTime(now),
    history: [],
  };
}

/**
 * The state after a model's first version is deployed: there is nothing to roll out from, so it is stable at once.
 *
 * @example
 * const state = firstDeploy({ model: 'iris', version: 1, actor: 'cli', now: Date.now() });
 */
export function firstDeploy(
  input: TransitionContext & {
    readonly model: string;
    readonly version: number;
    /** The target's build of the version. @default none */
    readonly build?: string;
    /** Why, for the history. @default "first version of MODEL: it takes all traffic" */
    readonly reason?: string;
  },
): RolloutState {
  return commit(
    initialState(input.model, input.version, input.now, input.build),
    idle(input.version, input.build),
    {
      action: RolloutAction.DEPLOY,
      candidate: input.version,
      weight: FULL_WEIGHT,
      reason: input.reason ?? `first version of ${input.model}: it takes all traffic`,
    },
    input,
  );
}

/**
 * The state after `cdk deploy` created a model's `live` alias on a new function: `version` in `build` is stable,
 * nothing rolls, whatever the state before said. A state left by an earlier function of the model (one removed and
 * added again, or replaced) names Lambda versions of a function that is gone; this one is built from the new
 * function alone, and the history keeps the old events after a line that says so.
 *
 * @example
 * const next = releasedOnNewFunction(current, { model: 'iris', version: 3, build: '1', functionName, actor: 'cdk', now: Date.now() });
 */
export function releasedOnNewFunction(
  state: RolloutState | undefined,
  input: TransitionContext & {
    readonly model: string;
    readonly version: number;
    readonly build: string;
    readonly functionName: string;
  },
): RolloutState {
  if (state && state.model !== input.model) {
    throw new RolloutError(`the state given is the rollout of ${state.model}, not ${input.model}`);
  }
  const before = state ?? initialState(input.model, input.version, input.now, input.build);
  return commit(
    { ...before, stable: input.version, functionName: input.functionName },
    idle(input.version, input.build),
    {
      action: RolloutAction.DEPLOY,
      candidate: input.version,
      weight: FULL_WEIGHT,
      reason:
        `the live alias of ${input.functionName} was created on its Lambda version ${input.build}, serving ` +
        `v${input.version}` +
        (state
          ? `; the states before this one belong to an earlier function of ${input.model}` +
            (state.status === RolloutStatus.ROLLING
              ? ` (its rollout to v${state.candidate} ended with it)`
              : '')
          : ''),
    },
    input,
  );
}

/**
 * The state after a rollout starts: the candidate at the plan's first weight, its bake time counting from `now`.
 *
 * Throws {@link RolloutError} while another rollout of the model is in progress, when the candidate is already
 * the stable version in the same build, and when there is no stable version to roll out from. The stable model
 * version in another build (new code or configuration on AWS) is a candidate like any other.
 *
 * @example
 * const next = startRollout(current, { model: 'iris', candidate: 2, plan: planRollout({ strategy: 'canary' }), actor: 'cli', now: Date.now() });
 */
export function startRollout(state: RolloutState | undefined, input: StartRolloutInput): RolloutState {
  const { model, candidate } = input;
  if (state && state.model !== model) {
    throw new RolloutError(`the state given is the rollout of ${state.model}, not ${model}`);
  }
  if (state?.status === RolloutStatus.ROLLING) {
    throw new RolloutError(
      `a rollout of ${model} (v${state.stable} -> v${state.candidate}) is in progress; ` +
        `run \`sluice promote ${model}\`, \`sluice rollback ${model}\`, or wait`,
    );
  }
  if (state && input.stable !== undefined && input.stable !== state.stable) {
    throw new RolloutError(`the stable version of ${model} is v${state.stable}, not v${input.stable}`);
  }
  const stable = state?.stable ?? input.stable;
  const stableBuild = state ? state.stableBuild : input.stableBuild;
  if (stable === undefined) {
    throw new RolloutError(
      `${model} has no stable version to roll out v${candidate} from; deploy it directly`,
    );
  }
  if (candidate === stable && input.candidateBuild === stableBuild) {
    throw new RolloutError(
      `v${candidate}${input.candidateBuild === undefined ? '' : ` (build ${input.candidateBuild})`} is already the ` +
        `stable version of ${model}; there is nothing to roll out`,
    );
  }
  const plan = assertValidPlan(input.plan);
  const builds = { stableBuild, candidateBuild: input.candidateBuild };
  const standsIn = input.replay?.standsIn === true;
  // A passed replay that stands in for live evidence replaces the shadow phase too.
  const shadow = !standsIn && (plan.shadowPercent ?? 0) > 0;
  const weight = shadow ? 0 : (plan.steps[0] ?? FULL_WEIGHT);
  const routing = shadow
    ? {
        ...rolling(stable, candidate, 0, plan, -1, input.now, builds),
        phase: 'shadow' as const,
        ...(input.shadowBuild === undefined ? {} : { shadowBuild: input.shadowBuild }),
      }
    : rolling(stable, candidate, weight, plan, 0, input.now, builds);
  const first = shadow
    ? `shadow phase: v${candidate} answers ${plan.shadowPercent}% of the requests unseen until its answers agree with v${stable}'s; then `
    : '';
  return commit(
    state ?? initialState(model, stable, input.now, stableBuild),
    input.replay ? { ...routing, replay: input.replay } : routing,
    {
      action: RolloutAction.DEPLOY,
      candidate,
      weight,
      reason:
        `${first}${plan.strategy} plan: [${plan.steps.join(', ')}]%, ${plan.intervalMs} ms per step` +
        `, at least ${plan.minRequests ?? DEFAULT_MIN_REQUESTS} requests per step` +
        (input.replay ? `; replay: ${input.replay.summary}` : '') +
        (input.note ? `; ${input.note}` : ''),
    },
    input,
  );
}

/**
 * The state after the candidate moves to its plan's next step; promoted when that step is 100.
 * Throws {@link RolloutError} when no rollout is in progress.
 *
 * @param input.reason why it moves, kept in the event (e.g. the health verdict it moved on)
 */
export function advance(
  state: RolloutState,
  input: TransitionContext & { readonly reason?: string },
): RolloutState {
  const { candidate, plan } = requireRolling(state, 'advance');
  if (state.phase === 'shadow') {
    // Out of the shadow phase the candidate takes the plan's first weight, even all-at-once's 100, and bakes there.
    const weight = plan.steps[0] ?? FULL_WEIGHT;
    return commit(
      state,
      withReplay(state, rolling(state.stable, candidate, weight, plan, 0, input.now, buildsOf(state))),
      { action: RolloutAction.STEP, candidate, weight, reason: input.reason },
      input,
    );
  }
  const next = nextStep(plan, state.stepIndex ?? 0, state.weight);
  if (next.kind === 'promote') {
    return promoted(state, candidate, input, input.reason);
  }
  return commit(
    state,
    withReplay(
      state,
      rolling(state.stable, candidate, next.weight, plan, next.stepIndex, input.now, buildsOf(state)),
    ),
    { action: RolloutAction.STEP, candidate, weight: next.weight, reason: input.reason },
    input,
  );
}

/**
 * The state after a person promotes the candidate: to `weight` when given (100 promotes it to stable), else to
 * the plan's next step. The plan resumes from the new weight. Throws {@link RolloutError} when no rollout is in
 * progress, or for a weight that is not a whole percent above the current one.
 *
 * @example
 * promote(state, { weight: 50, actor: 'cli', now: Date.now() });
 */
export function promote(
  state: RolloutState,
  input: TransitionContext & { readonly weight?: number },
): RolloutState {
  const { candidate, plan } = requireRolling(state, 'promote');
  const { weight } = input;
  if (weight === undefined) {
    return advance(state, { ...input, reason: 'promoted by hand to the next step' });
  }
  if (weight === FULL_WEIGHT) {
    return promoted(state, candidate, input, 'promoted by hand');
  }
  if (!Number.isInteger(weight) || weight <= state.weight || weight > FULL_WEIGHT) {
    throw new RolloutError(
      `cannot promote v${candidate} of ${state.model} to ${weight}%: it takes ${state.weight}% now, and promote ` +
        `moves it to a whole percent above that, up to ${FULL_WEIGHT}; \`sluice rollback ${state.model}\` takes it back to 0`,
    );
  }
  // Below the plan's first step (a promote out of the shadow phase) the index stays -1: the first step is next.
  const stepIndex = plan.steps.findLastIndex((step) => step <= weight);
  return commit(
    state,
    withReplay(state, rolling(state.stable, candidate, weight, plan, stepIndex, input.now, buildsOf(state))),
    { action: RolloutAction.STEP, candidate, weight, reason: 'promoted by hand' },
    input,
  );
}

/**
 * The state after the candidate is rolled back: weight 0, no candidate, the stable version unchanged.
 * Throws {@link RolloutError} when no rollout is in progress.
 *
 * @example
 * rollback(state, { reason: 'p99 latency alarm', actor: 'alarm', now: Date.now() });
 */
export function rollback(
  state: RolloutState,
  input: TransitionContext & { readonly reason: string },
): RolloutState {
  const { candidate } = requireRolling(state, 'roll back');
  return commit(
    state,
    idle(state.stable, state.stableBuild),
    { action: RolloutAction.ROLLBACK, candidate, weight: 0, reason: input.reason },
    input,
  );
}

/**
 * The state after a version failed its golden examples: routing unchanged, the failures in the history.
 */
export function recordGoldenFailure(
  state: RolloutState,
  input: TransitionContext & { readonly candidate: number; readonly failures: readonly string[] },
): RolloutState {
  return commit(
    state,
    routingFields(state),
    {
      action: RolloutAction.GOLDEN_FAILED,
      candidate: input.candidate,
      weight: 0,
      reason: input.failures.join('; ') || 'golden examples failed',
    },
    input,
  );
}

/**
 * The state after a version was refused before getting any traffic (it was unhealthy already): routing
 * unchanged, the refusal and its reason in the history.
 */
export function recordRefusal(
  state: RolloutState,
  input: TransitionContext & { readonly candidate: number; readonly reason: string },
): RolloutState {
  return commit(
    state,
    routingFields(state),
    { action: RolloutAction.REFUSED, candidate: input.candidate, weight: 0, reason: input.reason },
    input,
  );
}

/**
 * The state after a version's answers to the reference sets disagreed with the stable version's: routing
 * unchanged, the replay's verdict in the history.
 */
export function recordReplayFailure(
  state: RolloutState,
  input: TransitionContext & { readonly candidate: number; readonly reason: string },
): RolloutState {
  return commit(
    state,
    routingFields(state),
    { action: RolloutAction.REPLAY_FAILED, candidate: input.candidate, weight: 0, reason: input.reason },
    input,
  );
}

/**
 * The state a decision leads to; the same state (same object) for `idle` and `wait`, which change nothing.
 *
 * @param input.reason kept in the event of an advance or promotion (e.g. the health verdict)
 */
export function applyDecision(
  state: RolloutState,
  decision: Decision,
  input: TransitionContext & { readonly reason?: string },
): RolloutState {
  switch (decision.kind) {
    case 'idle':
    case 'wait':
      return state;
    case 'advance':
      return advance(state, decision.reason === undefined ? input : { ...input, reason: decision.reason });
    case 'promote': {
      const { candidate } = requireRolling(state, 'promote');
      return promoted(state, candidate, input, input.reason);
    }
    case 'rollback':
      // Idle, a rollback is the watch window's: the promotion is reverted.
      return state.status === RolloutStatus.IDLE
        ? revertPromotion(state, { ...input, reason: decision.reason })
        : rollback(state, { ...input, reason: decision.reason });
  }
}

/**
 * How long after a promotion the gates still judge the new stable version and revert it on their own: 10 minutes,
 * as CodeDeploy and SageMaker keep watching alarms for a while after shifting traffic.
 */
export const WATCH_MS = 10 * 60_000;

/** The actions that change routing (the others only record). */
const ROUTING_ACTIONS: readonly string[] = [
  RolloutAction.DEPLOY,
  RolloutAction.STEP,
  RolloutAction.PROMOTE,
  RolloutAction.ROLLBACK,
];

/**
 * The promotion an idle state's stable version came from, when it is the last change of routing: what
 * {@link revertPromotion} undoes. Undefined when the stable version was deployed directly, or anything moved since.
 */
export function lastPromotion(state: RolloutState): RolloutEvent | undefined {
  if (state.status !== RolloutStatus.IDLE) return undefined;
  const last = state.history.filter((event) => ROUTING_ACTIONS.includes(event.action)).at(-1);
  if (!last || last.action !== RolloutAction.PROMOTE || last.candidate !== state.stable) return undefined;
  if (last.candidateBuild !== state.stableBuild || last.stable === undefined) return undefined;
  // A promotion of another build of the same model version (a code-only rollout) is revertible too.
  if (last.stable === state.stable && last.stableBuild === state.stableBuild) return undefined;
  return last;
}

/**
 * The state after a promotion is undone: the version it replaced (and its build) takes all traffic again, at once,
 * and the history says which promotion was reverted and why. Throws {@link RolloutError} when the stable version
 * was not the last promotion's.
 *
 * @example
 * revertPromotion(state, { reason: 'wrong answers for a client', actor: 'cli', now: Date.now() });
 */
export function revertPromotion(
  state: RolloutState,
  input: TransitionContext & { readonly reason: string },
): RolloutState {
  const promotion = lastPromotion(state);
  if (!promotion || promotion.stable === undefined) {
    throw new RolloutError(
      `cannot roll back: no rollout of ${state.model} is in progress, and v${state.stable} did not come from a ` +
        'promotion that was the last change of its routing; deploy the version you want instead',
    );
  }
  const next = commit(
    state,
    idle(promotion.stable, promotion.stableBuild),
    {
      action: RolloutAction.ROLLBACK,
      candidate: state.stable,
      weight: 0,
      reason: `reverted the promotion of v${state.stable} (${promotion.at}): ${input.reason}`,
    },
    input,
  );
  const event = next.history.at(-1) as RolloutEvent;
  const reverted = state.stableBuild === undefined ? event : { ...event, candidateBuild: state.stableBuild };
  return { ...next, history: [...next.history.slice(0, -1), reverted] };
}

function promoted(
  state: RolloutState,
  candidate: number,
  context: TransitionContext,
  reason: string | undefined,
): RolloutState {
  const next = commit(
    state,
    idle(candidate, state.candidateBuild),
    { action: RolloutAction.PROMOTE, candidate, weight: FULL_WEIGHT, reason },
    context,
  );
  const watchMs = state.plan?.watchMs ?? WATCH_MS;
  return watchMs > 0 ? { ...next, watchUntil: isoTime(context.now + watchMs) } : next;
}

function requireRolling(state: RolloutState, verb: string): { candidate: number; plan: RolloutPlan } {
  if (state.status !== RolloutStatus.ROLLING || state.candidate === undefined || !state.plan) {
    throw new RolloutError(
      `cannot ${verb}: no rollout of ${state.model} is in progress; v${state.stable} takes all traffic`,
    );
  }
  return { candidate: state.candidate, plan: state.plan };
}

/** The next revision: new routing, one more event, the previous state untouched. */
function buildOf(candidateBuild: string | undefined): { candidateBuild?: string } {
  return candidateBuild === undefined ? {} : { candidateBuild };
}

function commit(
  state: RolloutState,
  routing: Routing,
  details: EventDetails,
  context: TransitionContext,
): RolloutState {
  const at = isoTime(context.now);
  const event: RolloutEvent = {
    at,
    action: details.action,
    actor: context.actor,
    stable: state.stable,
    ...(state.stableBuild === undefined ? {} : { stableBuild: state.stableBuild }),
    ...(details.candidate === undefined ? {} : { candidate: details.candidate }),
    ...buildOf(
      details.candidate === undefined ? undefined : (routing.candidateBuild ?? state.candidateBuild),
    ),
    weight: details.weight,
    ...(details.reason === undefined ? {} : { reason: details.reason.slice(0, MAX_EVENT_REASON_CHARS) }),
  };
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    model: state.model,
    revision: state.revision + 1,
    ...(state.functionName === undefined ? {} : { functionName: state.functionName }),
    ...routing,
    updatedAt: at,
    history: [...state.history, event].slice(-MAX_HISTORY_EVENTS),
  };
}

function idle(stable: number, stableBuild: string | undefined): Routing {
  return {
    status: RolloutStatus.IDLE,
    stable,
    ...(stableBuild === undefined ? {} : { stableBuild }),
    weight: 0,
  };
}

/** The builds of a rolling state, carried from step to step. */
function buildsOf(state: RolloutState): Builds {
  return { stableBuild: state.stableBuild, candidateBuild: state.candidateBuild };
}

/** The builds of the stable version and the candidate, where the target has builds. */
interface Builds {
  readonly stableBuild: string | undefined;
  readonly candidateBuild: string | undefined;
}

function rolling(
  stable: number,
  candidate: number,
  weight: number,
  plan: RolloutPlan,
  stepIndex: number,
  now: number,
  builds: Builds,
): Routing {
  return {
    status: RolloutStatus.ROLLING,
    stable,
    ...(builds.stableBuild === undefined ? {} : { stableBuild: builds.stableBuild }),
    candidate,
    ...(builds.candidateBuild === undefined ? {} : { candidateBuild: builds.candidateBuild }),
    weight,
    plan,
    stepIndex,
    stepStartedAt: isoTime(now),
  };
}

/** A rolling routing that keeps the state's replay record (it is what the rollout's evidence may rest on). */
function withReplay(state: RolloutState, routing: Routing): Routing {
  return state.replay ? { ...routing, replay: state.replay } : routing;
}

/** The routing fields of a state, without keys for absent values (states compare and serialise cleanly). */
function routingFields(state: RolloutState): Routing {
  return {
    status: state.status,
    stable: state.stable,
    ...(state.stableBuild === undefined ? {} : { stableBuild: state.stableBuild }),
    weight: state.weight,
    ...(state.candidate === undefined ? {} : { candidate: state.candidate }),
    ...(state.candidateBuild === undefined ? {} : { candidateBuild: state.candidateBuild }),
    ...(state.plan === undefined ? {} : { plan: state.plan }),
    ...(state.stepIndex === undefined ? {} : { stepIndex: state.stepIndex }),
    ...(state.stepStartedAt === undefined ? {} : { stepStartedAt: state.stepStartedAt }),
    ...(state.phase === undefined ? {} : { phase: state.phase }),
    ...(state.shadowBuild === undefined ? {} : { shadowBuild: state.shadowBuild }),
    ...(state.replay === undefined ? {} : { replay: state.replay }),
  };
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
