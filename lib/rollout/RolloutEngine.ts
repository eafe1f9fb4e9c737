import { type Decision, decide } from '../core/rollout/decide.js';
import { describeGates } from '../core/rollout/describe-gates.js';
import { gateSettingsOf } from '../core/rollout/gate-settings.js';
import { judgeReplay } from '../core/rollout/judge-replay.js';
import { assertValidPlan, DEFAULT_MIN_REQUESTS } from '../core/rollout/plan-rollout.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { RolloutPlan } from '../core/rollout/RolloutPlan.js';
import { type RolloutEvent, type RolloutState, RolloutStatus } from '../core/rollout/RolloutState.js';
import type {
  HealthQuery,
  HealthReport,
  PreparedVersion,
  RolloutTarget,
} from '../core/rollout/RolloutTarget.js';
import {
  applyDecision,
  firstDeploy,
  initialState,
  lastPromotion,
  promote as promoteState,
  recordGoldenFailure,
  recordRefusal,
  recordReplayFailure,
  revertPromotion,
  rollback as rollbackState,
  startRollout,
} from '../core/rollout/rollout-transitions.js';
import { routingOf } from '../core/rollout/routing-of.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { RolloutStore } from '../storage/RolloutStore.js';

/**
 * Times a command re-applies the routing when the state moved on while it was routing (another command, the
 * driver, the alarm-driven rollback): the alias must end on the newest state's routing, not on the one this
 * command wrote.
 */
export const MAX_ROUTE_PASSES = 3;

/** Options of {@link RolloutEngine}. */
export interface RolloutEngineProps {
  /** Where states are kept; a {@link RolloutStore}. */
  readonly store: Pick<RolloutStore, 'current' | 'write'>;
  /** Where routing is applied and health read: the local stack or AWS. */
  readonly target: RolloutTarget;
  /** The model registry, to check that versions exist (and are not retired) and find the stable one. */
  readonly registry: Pick<ModelRegistry, 'listVersions' | 'getManifest' | 'retirement'>;
  /** Who acts, recorded in every event: `cli`, `local-stack`, `scheduler`, `cdk`, `alarm`, ... */
  readonly actor: string;
  /**
   * The clock, epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** What {@link RolloutEngine.deploy} takes. */
export interface DeployOptions {
  /** The version to roll out; it must be published. */
  readonly version: number;
  /** How traffic moves; see `planRollout`. */
  readonly plan: RolloutPlan;
  /**
   * The target's build to roll out (AWS: the Lambda version `cdk deploy` published).
   * @default the one the target finds or makes
   */
  readonly build?: string;
}

/** One step of a rollout: the decision made and the state after it. */
export interface StepResult {
  /** The current state, after the decision was applied. */
  readonly state: RolloutState;
  /** What was decided. */
  readonly decision: Decision;
  /** The health the decision was made on; absent while idle. */
  readonly health?: HealthReport;
}

/** A model's rollout as {@link RolloutEngine.status} reports it. */
export interface RolloutStatusReport {
  /** The current state; absent when sluice never deployed the model. */
  readonly state?: RolloutState;
  /** The candidate's health, while rolling. */
  readonly health?: HealthReport;
  /** What the engine would decide now (status never applies it: the driver does). */
  readonly decision: Decision;
  /** Every recorded event, oldest first. */
  readonly history: RolloutEvent[];
}

/**
 * The rollout engine: plans, steps, gates on health and evidence, promotes and rolls back one model at a time,
 * the same on AWS and on the local stack; only the {@link RolloutTarget} differs. It is the only thing that
 * moves a model's traffic: `sluice deploy/promote/rollback`, `cdk deploy` (through its custom resource) and the
 * drivers that carry rollouts through their bakes (the local stack's timer, the scheduler on AWS) all act
 * through it.
 *
 * Every change is written to the store first (a conditional write: a concurrent writer gets
 * {@link RolloutConflictError} and nothing of it is applied) and routed second. Every command starts by
 * re-applying the stored routing, so a command killed between write and route is repaired by the next one.
 *
 * @example
 * const engine = new RolloutEngine({ store, target, registry, actor: 'cli' });
 * await engine.deploy('iris', { version: 2, plan: planRollout({ strategy: 'canary' }) });
 * const { decision } = await engine.step('iris'); // what a driver tick does
 */
export class RolloutEngine {
  readonly #store: RolloutEngineProps['store'];
  readonly #target: RolloutTarget;
  readonly #registry: RolloutEngineProps['registry'];
  readonly #actor: string;
  readonly #now: () => number;

  constructor(props: RolloutEngineProps) {
    this.#store = props.store;
    this.#target = props.target;
    this.#registry = props.registry;
    this.#actor = props.actor;
    this.#now = props.now ?? Date.now;
  }

  /** Who this engine records as the actor of its events. */
  get actor(): string {
    return this.#actor;
  }

  /**
   * Starts rolling `version` out and routes the plan's first weight to it; returns the state written.
   *
   * The stable version is the current one, or, for a model sluice never deployed, the version the target serves
   * now (`servedVersion`) or, for targets without one, the newest other published version. When there is none
   * (the model's first version), `version` becomes the stable version at once. Before any traffic moves the
   * version is prepared and its golden examples run: a failure is recorded in the history and throws
   * {@link RolloutError}, and the version gets no traffic. A candidate already unhealthy is refused the same way.
   *
   * Deploying the version (and build) whose rollout is in progress resumes it: the current state is returned
   * unchanged. Throws {@link RolloutError} while another version is rolling out, and `ModelNotFoundError` or
   * `VersionNotFoundError` when the version is not published.
   */
  async deploy(model: string, options: DeployOptions): Promise<RolloutState> {
    const current = await this.reconcile(model);
    const { version } = options;
    if (isResumed(current, options)) {
      return current as RolloutState;
    }
    const asked = assertValidPlan(options.plan);
    // A target that cannot shadow (the Lambda alias, for now) rolls out without the shadow phase, and says so.
    const dropsShadow = !this.#target.shadows && (asked.shadowPercent ?? 0) > 0;
    const plan: RolloutPlan = dropsShadow ? { ...asked, shadowPercent: 0 } : asked;
    const dropNote = dropsShadow
      ? `no shadow phase: this target cannot run one, so the ${asked.shadowPercent}% asked for was dropped`
      : undefined;
    const manifest = await this.#registry.getManifest(model, version);
    const retired = await this.#registry.retirement(model, version);
    if (retired) {
      throw new RolloutError(
        `${model} v${version} is retired (by ${retired.actor} at ${retired.retiredAt}: ${retired.reason}); ` +
          'a retired version is never deployed: deploy another, or publish these bytes again as a new version',
      );
    }
    const stable: PreparedVersion | undefined = current
      ? {
          version: current.stable,
          ...(current.stableBuild === undefined ? {} : { build: current.stableBuild }),
        }
      : await this.#initialStable(model, version, options.build);
    const start = (
      now: number,
      candidateBuild: string | undefined,
      replay?: RolloutState['replay'],
      shadowBuild?: string,
      note: string | undefined = dropNote,
    ): RolloutState =>
      stable === undefined
        ? firstDeploy({ model, version, build: candidateBuild, actor: this.#actor, now })
        : startRollout(current, {
            model,
            candidate: version,
            candidateBuild,
            stable: stable.version,
            stableBuild: stable.build,
            plan,
            actor: this.#actor,
            now,
            ...(replay ? { replay } : {}),
            ...(note ? { note } : {}),
            ...(shadowBuild === undefined ? {} : { shadowBuild }),
          });
    // Refuse (a rollout in progress) before the slow work; checked again by the conditional write at the end.
    if (current?.status === RolloutStatus.ROLLING) start(this.#now(), options.build);
    const prepared = await this.#target.prepare(
      model,
      version,
      options.build === undefined ? {} : { build: options.build },
    );
    const build = prepared.build ?? options.build;
    // The same version in the same build as the stable one: nothing to roll out.
    if (stable !== undefined) start(this.#now(), build);
    const base = (): RolloutState | undefined =>
      current ??
      (stable === undefined ? undefined : initialState(model, stable.version, this.#now(), stable.build));
    const golden = await this.#target.checkGolden(model, version, build);
    if (!golden.passed) {
      await this.#record(
        base() &&
          recordGoldenFailure(base() as RolloutState, {
            candidate: version,
            failures: golden.failures,
            actor: this.#actor,
            now: this.#now(),
          }),
      );
      throw new RolloutError(
        `v${version} of ${model} failed its golden examples and gets no traffic:\n` +
          golden.failures.map((failure) => `  - ${failure}`).join('\n'),
      );
    }
    const replay =
      stable === undefined ? undefined : await this.#replay(model, version, build, stable, plan, base);
    if (stable !== undefined) {
      // An alarm left in ALARM by an earlier rollout of this version would not fire again: refuse up front.
      const health = await this.#target.health(model, version, {
        ...(build === undefined ? {} : { build }),
        sinceMs: this.#now(),
        stable: stable.version,
      });
      if (health.verdict === 'unhealthy') {
        await this.#record(
          base() &&
            recordRefusal(base() as RolloutState, {
              candidate: version,
              reason: `unhealthy before any traffic: ${health.reasons.join('; ')}`,
              actor: this.#actor,
              now: this.#now(),
            }),
        );
        throw new RolloutError(
          `v${version} of ${model} is unhealthy before getting any traffic (${health.reasons.join('; ')}); ` +
            'it gets none. Deploy it again once its health has recovered (see `sluice status`)',
        );
      }
    }
    // A shadow phase on a target that shadows through a build of its own (AWS) needs that build first.
    const shadowBuild =
      stable !== undefined &&
      (plan.shadowPercent ?? 0) > 0 &&
      replay?.standsIn !== true &&
      this.#target.prepareShadow
        ? await this.#target.prepareShadow(model, {
            stable,
            candidate: { version, ...(build === undefined ? {} : { build }) },
            numericTolerance: gateSettingsOf(plan).numericTolerance,
          })
        : undefined;
    const gates = describeGates({ manifest, plan, golden, ...(replay ? { replay } : {}) });
    // Bake time counts from here, when traffic moves, not from before the golden check.
    return this.#apply(
      start(this.#now(), build, replay, shadowBuild, dropNote ? `${dropNote}; ${gates}` : gates),
    );
  }

  /**
   * Makes one decision on the current state and the candidate's health, and applies it: advance, promote or
   * roll back, written then routed. Changes nothing when nothing is due. This is what the drivers call on every
   * tick. Throws {@link RolloutError} when sluice never deployed the model.
   */
  async step(model: string): Promise<StepResult> {
    return this.#stepFrom(this.#requireState(model, await this.reconcile(model)));
  }

  /** Whether a state has a step due: a rollout in progress, or a promotion in its watch window. */
  isDue(state: RolloutState): boolean {
    return state.status === RolloutStatus.ROLLING || isWatched(state, this.#now());
  }

  /**
   * Moves the candidate to `weight` percent (100 makes it the stable version), or to its plan's next step.
   * A person's decision: no bake or evidence is required. Throws {@link RolloutError} when no rollout is in
   * progress or the weight is not above the current one.
   */
  async promote(model: string, options: { readonly weight?: number } = {}): Promise<RolloutState> {
    const state = this.#requireState(model, await this.reconcile(model));
    return this.#apply(promoteState(state, { weight: options.weight, actor: this.#actor, now: this.#now() }));
  }

  /**
   * Sends the candidate's weight back to 0; the stable version serves everything. With `undoPromotion` and no
   * rollout in progress, reverts the last promotion instead ({@link revertPromotion}). Throws {@link RolloutError}
   * when there is neither.
   */
  async rollback(
    model: string,
    reason: string,
    options: { readonly undoPromotion?: boolean } = {},
  ): Promise<RolloutState> {
    const state = this.#requireState(model, await this.reconcile(model));
    const context = { reason, actor: this.#actor, now: this.#now() };
    // With no rollout in progress, and asked for: the undo of the last promotion (the version it replaced, at once).
    if (state.status === RolloutStatus.IDLE && options.undoPromotion) {
      return this.#apply(revertPromotion(state, context));
    }
    return this.#apply(rollbackState(state, context));
  }

  /**
   * The model's state, the candidate's health, what the engine would decide now, and the history. Only reads:
   * no routing is repaired and no step applied (the driver does that).
   */
  async status(model: string): Promise<RolloutStatusReport> {
    const state = await this.#store.current(model);
    if (!state) {
      return { decision: { kind: 'idle' }, history: [] };
    }
    const look = await this.#look(state);
    return { ...look, history: state.history };
  }

  /**
   * Applies the current state's routing to the target; returns that state (undefined when sluice never deployed
   * the model). Every command starts with it, so a command killed between writing a state and routing it is
   * repaired by the next one.
   */
  async reconcile(model: string): Promise<RolloutState | undefined> {
    const state = await this.#store.current(model);
    if (!state) return undefined;
    return this.#routeLatest(state);
  }

  /**
   * Routes a state, then makes sure the alias ends on the newest state's routing: when another writer wrote a
   * newer revision meanwhile, its routing is applied again (its own route may have landed before this one).
   * Returns the newest state routed.
   */
  async #routeLatest(state: RolloutState): Promise<RolloutState> {
    let routed = state;
    for (let pass = 1; ; pass++) {
      await this.#target.route(routed.model, routingOf(routed));
      const latest = await this.#store.current(routed.model);
      if (!latest || latest.revision === routed.revision || pass >= MAX_ROUTE_PASSES) return routed;
      routed = latest;
    }
  }

  /** The decision on a state, without applying it. */
  async #look(state: RolloutState): Promise<StepResult> {
    if (isWatched(state, this.#now())) return this.#watch(state);
    if (state.status !== RolloutStatus.ROLLING || state.candidate === undefined) {
      return { state, decision: { kind: 'idle' } };
    }
    const sinceMs = Date.parse(state.stepStartedAt ?? state.updatedAt);
    const query: HealthQuery = {
      ...(state.candidateBuild === undefined ? {} : { build: state.candidateBuild }),
      ...(state.stableBuild === undefined ? {} : { stableBuild: state.stableBuild }),
      sinceMs,
      stable: state.stable,
      minRequests: state.replay?.standsIn === true ? 0 : (state.plan?.minRequests ?? DEFAULT_MIN_REQUESTS),
      ...(state.phase === 'shadow' && state.shadowBuild !== undefined
        ? { shadowBuild: state.shadowBuild }
        : {}),
    };
    let health = await this.#target.health(state.model, state.candidate, query);
    let decision = decide(state, health, this.#now());
    // The class shares, where counting them costs (AWS): only when the step would otherwise be taken, so once per
    // step; without them the step waits, since a step is not taken on a gate that did not run.
    if (
      (decision.kind === 'advance' || decision.kind === 'promote') &&
      !health.classShares &&
      this.#target.classShares
    ) {
      const answer = await this.#target.classShares(state.model, state.candidate, {
        ...query,
        untilMs: health.settledUntilMs ?? this.#now(),
      });
      health =
        'classShares' in answer
          ? { ...health, classShares: answer.classShares }
          : {
              ...health,
              verdict: health.verdict === 'unhealthy' ? 'unhealthy' : 'unknown',
              reasons: [...health.reasons, `class shares not counted: ${answer.unavailable}`],
            };
      decision = decide(state, health, this.#now());
    }
    // Which output disagreed, for the rollback's reason: asked only now where counting it costs (AWS).
    if (
      decision.kind === 'rollback' &&
      state.phase === 'shadow' &&
      health.agreement &&
      !health.agreement.byOutput &&
      this.#target.disagreedOutputs
    ) {
      const byOutput = await this.#target.disagreedOutputs(state.model, state.candidate, {
        ...query,
        untilMs: health.settledUntilMs ?? this.#now(),
      });
      if (byOutput) {
        const explained = { ...health, agreement: { ...health.agreement, byOutput } };
        return { state, decision: decide(state, explained, this.#now()), health: explained };
      }
    }
    return { state, decision, health };
  }

  /**
   * The watch window after a promotion: the new stable version is judged by the gates alone (its own figures since
   * the promotion, no baseline; on AWS its version alarms), and a breach reverts the promotion at once.
   */
  async #watch(state: RolloutState): Promise<StepResult> {
    const promotion = lastPromotion(state) as RolloutEvent;
    const health = await this.#target.health(state.model, state.stable, {
      ...(state.stableBuild === undefined ? {} : { build: state.stableBuild }),
      sinceMs: Date.parse(promotion.at),
      minRequests: 0,
    });
    if (health.verdict === 'unhealthy') {
      return {
        state,
        health,
        decision: {
          kind: 'rollback',
          reason: `watch window after the promotion: ${health.reasons.join('; ')}`,
        },
      };
    }
    return { state, health, decision: { kind: 'idle' } };
  }

  async #stepFrom(state: RolloutState): Promise<StepResult> {
    const look = await this.#look(state);
    if (!look.health) {
      return look;
    }
    const next = applyDecision(state, look.decision, {
      actor: this.#actor,
      now: this.#now(),
      reason: describeHealth(look.health),
    });
    return next === state ? look : { ...look, state: await this.#apply(next) };
  }

  /** Writes a state, then routes it: a crash in between leaves a state that {@link reconcile} routes later. */
  async #apply(next: RolloutState): Promise<RolloutState> {
    const written = await this.#store.write(next);
    await this.#routeLatest(written);
    return written;
  }

  /** Writes a history-only state (a refusal); losing the race only loses that line. */
  async #record(next: RolloutState | undefined): Promise<void> {
    // A model's very first version has no state to record in; the thrown error is the whole record.
    if (!next) return;
    try {
      await this.#store.write(next);
    } catch (error) {
      // The refusal itself is what the caller must see, not the lost history line.
      if (!(error instanceof RolloutConflictError)) {
        throw error;
      }
    }
  }

  /**
   * Replays the reference sets through the candidate and the stable version, before any traffic: a candidate whose
   * answers disagree (or that is less accurate) is refused, recorded in the history, and gets no traffic. Returns
   * what the state records of it; undefined when the target runs no replay or neither version has a set.
   */
  async #replay(
    model: string,
    version: number,
    build: string | undefined,
    stable: PreparedVersion,
    plan: RolloutPlan,
    base: () => RolloutState | undefined,
  ): Promise<RolloutState['replay']> {
    if (!this.#target.replay) return undefined;
    const settings = gateSettingsOf(plan);
    const candidate = { version, ...(build === undefined ? {} : { build }) };
    const result = await this.#target.replay(model, candidate, stable, settings.numericTolerance);
    if (!result) return undefined;
    const { verdict, summary } = judgeReplay(result, settings);
    if (verdict === 'fail') {
      await this.#record(
        base() &&
          recordReplayFailure(base() as RolloutState, {
            candidate: version,
            reason: `replay of the reference sets against v${stable.version}: ${summary}`,
            actor: this.#actor,
            now: this.#now(),
          }),
      );
      throw new RolloutError(
        `v${version} of ${model} answers the reference sets otherwise than v${stable.version} and gets no traffic: ${summary}`,
      );
    }
    return {
      compared: result.compared,
      disagreed: result.disagreed,
      standsIn: verdict === 'pass' && settings.replayStandsIn,
      summary: `${verdict === 'pass' ? 'passed' : 'undecided'}: ${summary}`,
    };
  }

  /** The stable version of a model sluice never deployed; undefined when `version` is to become it. */
  async #initialStable(
    model: string,
    version: number,
    build: string | undefined,
  ): Promise<PreparedVersion | undefined> {
    if (this.#target.servedVersion) {
      const served = await this.#target.servedVersion(model);
      const same = served.version === version && (build === undefined || build === served.build);
      return same ? undefined : served;
    }
    const others = (await this.#registry.listVersions(model)).filter((other) => other !== version);
    return others.length === 0 ? undefined : { version: Math.max(...others) };
  }

  #requireState(model: string, state: RolloutState | undefined): RolloutState {
    if (!state) {
      throw new RolloutError(
        `sluice has not deployed ${model} yet; run \`sluice deploy ${model} --version N\` first`,
      );
    }
    return state;
  }
}

/** True when `options` asks for the rollout already in progress (same version, and same build when given). */
function isResumed(current: RolloutState | undefined, options: DeployOptions): boolean {
  return (
    current?.status === RolloutStatus.ROLLING &&
    current.candidate === options.version &&
    (options.build === undefined || options.build === current.candidateBuild)
  );
}

function describeHealth(health: HealthReport): string {
  const verdict = health.verdict === 'unknown' ? 'unknown (too little traffic to judge)' : health.verdict;
  return health.reasons.length > 0 ? `health ${verdict}: ${health.reasons.join('; ')}` : `health ${verdict}`;
}

/** Whether an idle state is still in the watch window of the promotion that made its stable version. */
export function isWatched(state: RolloutState, nowMs: number): boolean {
  return (
    state.status === RolloutStatus.IDLE &&
    state.watchUntil !== undefined &&
    nowMs < Date.parse(state.watchUntil) &&
    lastPromotion(state) !== undefined
  );
}
