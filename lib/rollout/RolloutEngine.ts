import { setTimeout as delay } from 'node:timers/promises';
import type { ModelRegistry } from '../registry/ModelRegistry.js';
import { type Decision, decide } from './decide.js';
import { assertValidPlan } from './plan-rollout.js';
import { RolloutConflictError } from './RolloutConflictError.js';
import { RolloutError } from './RolloutError.js';
import type { RolloutPlan } from './RolloutPlan.js';
import { type RolloutEvent, type RolloutState, RolloutStatus } from './RolloutState.js';
import type { RolloutStore } from './RolloutStore.js';
import type { HealthReport, RolloutTarget } from './RolloutTarget.js';
import {
  adopt,
  applyDecision,
  firstDeploy,
  initialState,
  promote as promoteState,
  recordGoldenFailure,
  recordRefusal,
  rollback as rollbackState,
  startRollout,
} from './rollout-transitions.js';
import { routingOf } from './routing-of.js';

/**
 * How often {@link RolloutEngine.run} checks health while a step bakes: an unhealthy candidate is rolled back
 * within this time, not at the end of a long bake.
 */
export const HEALTH_POLL_INTERVAL_MS = 15_000;

/** Write conflicts in a row after which {@link RolloutEngine.run} gives up; each one means another command acted. */
export const MAX_RUN_CONFLICT_RETRIES = 5;

/**
 * Times a command re-applies the routing when the state moved on while it was routing (another command, the
 * alarm-driven rollback): the alias must end on the newest state's routing, not on the one this command wrote.
 */
export const MAX_ROUTE_PASSES = 3;

/** Options of {@link RolloutEngine}. */
export interface RolloutEngineProps {
  /** Where states are kept; a {@link RolloutStore}. */
  readonly store: Pick<RolloutStore, 'current' | 'write'>;
  /** Where routing is applied and health read: the local stack or AWS. */
  readonly target: RolloutTarget;
  /** The model registry, to check that versions exist and find the stable one. */
  readonly registry: Pick<ModelRegistry, 'latestVersion' | 'listVersions' | 'getManifest'>;
  /** Who acts, recorded in every event: `cli`, `local-stack`, `alarm`, ... */
  readonly actor: string;
  /**
   * The clock, epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * How {@link RolloutEngine.run} waits.
   * @default a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Longest wait of {@link RolloutEngine.run} between health checks.
   * @default HEALTH_POLL_INTERVAL_MS
   */
  readonly pollIntervalMs?: number;
}

/** What {@link RolloutEngine.deploy} takes. */
export interface DeployOptions {
  /** The version to roll out; it must be published. */
  readonly version: number;
  /** How traffic moves; see `planRollout`. */
  readonly plan: RolloutPlan;
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

/** What {@link RolloutEngine.run} takes. */
export interface RunOptions {
  /** Called after every step, including waits; for progress output. */
  readonly onStep?: (step: StepResult) => void;
}

/** What {@link RolloutEngine.status} takes. */
export interface StatusOptions {
  /**
   * Only look: neither repair the routing nor apply a step that is due.
   * @default false
   */
  readonly readOnly?: boolean;
}

/** A model's rollout as {@link RolloutEngine.status} reports it. */
export interface RolloutStatusReport {
  /** The current state; absent when sluice never deployed the model. */
  readonly state?: RolloutState;
  /** The candidate's health, while rolling. */
  readonly health?: HealthReport;
  /** What the engine decided (and, unless read-only, applied). */
  readonly decision: Decision;
  /** Every recorded event, oldest first. */
  readonly history: RolloutEvent[];
  /** Why the engine may not act on this model now (e.g. a CodeDeploy deployment moves the alias). */
  readonly blockedBy?: string;
}

/**
 * The rollout engine: plans, steps, gates on health, promotes and rolls back one model at a time, the same on
 * AWS and on the local stack; only the {@link RolloutTarget} differs.
 *
 * Every change is written to the store first (a conditional write: a concurrent command gets
 * {@link RolloutConflictError} and nothing of it is applied) and routed second. Every command starts by
 * checking that no other path moves the alias and re-applying the stored routing, so a command killed between
 * write and route is repaired by the next one.
 *
 * @example
 * const engine = new RolloutEngine({ store, target, registry, actor: 'cli' });
 * await engine.deploy('iris', { version: 2, plan: planRollout({ strategy: 'canary' }) });
 * const state = await engine.run('iris', { onStep: ({ decision }) => console.log(decision.kind) });
 */
export class RolloutEngine {
  readonly #store: RolloutEngineProps['store'];
  readonly #target: RolloutTarget;
  readonly #registry: RolloutEngineProps['registry'];
  readonly #actor: string;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #pollIntervalMs: number;

  constructor(props: RolloutEngineProps) {
    this.#store = props.store;
    this.#target = props.target;
    this.#registry = props.registry;
    this.#actor = props.actor;
    this.#now = props.now ?? Date.now;
    this.#sleep = props.sleep ?? ((ms) => delay(ms));
    this.#pollIntervalMs = props.pollIntervalMs ?? HEALTH_POLL_INTERVAL_MS;
  }

  /**
   * Starts rolling `version` out and routes the plan's first weight to it; returns the state written.
   *
   * The stable version is the current one, or, for a model sluice never deployed, the version the target serves
   * now (`servedVersion`, e.g. what `cdk deploy` put on the alias) or, for targets without one, the newest other
   * published version. When that is `version` itself, or there is no other version, `version` becomes the stable
   * version at once. Before any traffic moves the
   * version is prepared and its golden examples run: a failure is recorded in the history and throws
   * {@link RolloutError}, and the version gets no traffic.
   *
   * Deploying the version whose rollout is in progress resumes it: the current state is returned unchanged
   * (follow with {@link run}). Throws {@link RolloutError} while another version is rolling out, and
   * `ModelNotFoundError` or `VersionNotFoundError` when the version is not published.
   */
  async deploy(model: string, options: DeployOptions): Promise<RolloutState> {
    const current = await this.reconcile(model);
    const { version } = options;
    if (current?.status === RolloutStatus.ROLLING && current.candidate === version) {
      return current;
    }
    const plan = assertValidPlan(options.plan);
    await this.#registry.getManifest(model, version);
    const stable = current?.stable ?? (await this.#initialStable(model, version));
    const start = (now: number): RolloutState =>
      stable === undefined
        ? firstDeploy({ model, version, actor: this.#actor, now })
        : startRollout(current, { model, candidate: version, stable, plan, actor: this.#actor, now });
    // Refuse (a rollout in progress, the stable version again) before the slow work; checked again at the end.
    start(this.#now());
    await this.#target.prepare(model, version);
    const golden = await this.#target.checkGolden(model, version);
    if (!golden.passed) {
      const base = current ?? (stable === undefined ? undefined : initialState(model, stable, this.#now()));
      await this.#recordGoldenFailure(base, version, golden.failures);
      throw new RolloutError(
        `v${version} of ${model} failed its golden examples and gets no traffic:\n` +
          golden.failures.map((failure) => `  - ${failure}`).join('\n'),
      );
    }
    // An alarm left in ALARM by an earlier rollout of this version would not fire again: refuse up front.
    const health = await this.#target.health(model, version);
    if (health.verdict === 'unhealthy') {
      const base = current ?? (stable === undefined ? undefined : initialState(model, stable, this.#now()));
      await this.#record(
        base &&
          recordRefusal(base, {
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
    // Bake time counts from here, when traffic moves, not from before the golden check.
    return this.#apply(start(this.#now()));
  }

  /**
   * Makes one decision on the current state and the candidate's health, and applies it: advance, promote or
   * roll back, written then routed. Changes nothing when nothing is due. Throws {@link RolloutError} when
   * sluice never deployed the model.
   */
  async step(model: string): Promise<StepResult> {
    return this.#stepFrom(this.#requireState(model, await this.reconcile(model)));
  }

  /**
   * Steps the rollout until it is promoted or rolled back, waiting out each bake and checking health at least
   * every `pollIntervalMs`; returns the final state. Returns at once, still rolling, for a manual plan.
   * Killing it loses nothing: the state is durable, and the next command carries on from it.
   */
  async run(model: string, options: RunOptions = {}): Promise<RolloutState> {
    let state = this.#requireState(model, await this.reconcile(model));
    let conflicts = 0;
    for (;;) {
      let result: StepResult;
      try {
        result = await this.#stepFrom(state);
        conflicts = 0;
      } catch (error) {
        // Another command moved the rollout; decide again on what it wrote.
        if (!(error instanceof RolloutConflictError) || ++conflicts > MAX_RUN_CONFLICT_RETRIES) {
          throw error;
        }
        // Route what it wrote: this command may have routed its own state after the other one did. (Losing
        // that race too, e.g. an adoption written by another command, just means deciding on the store's state.)
        const current = await this.#reconcileRouting(model).catch((raced: unknown) => {
          if (raced instanceof RolloutConflictError) return this.#store.current(model);
          throw raced;
        });
        state = this.#requireState(model, current);
        continue;
      }
      options.onStep?.(result);
      state = result.state;
      if (state.status === RolloutStatus.IDLE) {
        return state;
      }
      if (result.decision.kind === 'wait') {
        if (!Number.isFinite(result.decision.untilMs)) {
          return state;
        }
        await this.#sleep(Math.max(0, Math.min(result.decision.untilMs - this.#now(), this.#pollIntervalMs)));
        // As at the start of every command: refuse while another path moves the alias (a cdk deploy started
        // during the bake), adopt what it put there, and repair the routing, before deciding anything.
        state = this.#requireState(model, await this.reconcile(model));
      }
    }
  }

  /**
   * Moves the candidate to `weight` percent (100 makes it the stable version), or to its plan's next step.
   * Throws {@link RolloutError} when no rollout is in progress or the weight is not above the current one.
   */
  async promote(model: string, options: { readonly weight?: number } = {}): Promise<RolloutState> {
    const state = this.#requireState(model, await this.reconcile(model));
    return this.#apply(promoteState(state, { weight: options.weight, actor: this.#actor, now: this.#now() }));
  }

  /**
   * Sends the candidate's weight back to 0; the stable version serves everything. Throws {@link RolloutError}
   * when no rollout is in progress.
   */
  async rollback(model: string, reason: string): Promise<RolloutState> {
    const state = this.#requireState(model, await this.reconcile(model));
    return this.#apply(rollbackState(state, { reason, actor: this.#actor, now: this.#now() }));
  }

  /**
   * The model's state, the candidate's health, the decision and the history. Unless `readOnly`, it also
   * repairs the routing and applies the step that is due, so a rollout whose CLI was killed carries on.
   * When the target refuses to act (another path moves the alias) it only reports, with `blockedBy`.
   */
  async status(model: string, options: StatusOptions = {}): Promise<RolloutStatusReport> {
    let blockedBy: string | undefined;
    if (!options.readOnly) {
      try {
        await this.#target.assertExclusive(model);
      } catch (error) {
        // A refusal is an answer worth reporting; anything else (the network, credentials) is not.
        if (!(error instanceof RolloutError)) {
          throw error;
        }
        blockedBy = error.message;
      }
    }
    const acting = !options.readOnly && blockedBy === undefined;
    const state = acting ? await this.#reconcileRouting(model) : await this.#store.current(model);
    const blocked = blockedBy === undefined ? {} : { blockedBy };
    if (!state) {
      return { decision: { kind: 'idle' }, history: [], ...blocked };
    }
    const result = acting ? await this.#stepFrom(state) : await this.#look(state);
    return { ...result, history: result.state.history, ...blocked };
  }

  /**
   * Checks that no other path moves the model's alias, and applies the current state's routing to the target;
   * returns that state (undefined when sluice never deployed the model). Every command starts with it, so a
   * command killed between writing a state and routing it is repaired by the next one.
   */
  async reconcile(model: string): Promise<RolloutState | undefined> {
    await this.#target.assertExclusive(model);
    return this.#reconcileRouting(model);
  }

  async #reconcileRouting(model: string): Promise<RolloutState | undefined> {
    let state = await this.#store.current(model);
    if (!state) return undefined;
    state = await this.#adoptExternalMove(state);
    return this.#routeLatest(state);
  }

  /**
   * Routes a state, then makes sure the alias ends on the newest state's routing: when another command or the
   * alarm-driven rollback wrote a newer revision meanwhile, its routing is applied again (its own route may have
   * landed before this one). Returns the newest state routed.
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

  /**
   * When the alias serves a version no recent state of sluice routed there (`cdk deploy` moved it through
   * CodeDeploy), records that version as the stable one instead of routing the alias back. A version of the
   * current state or of the transition that led to it is sluice's own: a command killed between writing a state
   * and routing it left it there, and routing the state repairs it.
   */
  async #adoptExternalMove(state: RolloutState): Promise<RolloutState> {
    if (!this.#target.servedVersion) return state;
    const served = await this.#target.servedVersion(state.model);
    const last = state.history.at(-1);
    const ours = [state.stable, state.candidate, last?.stable, last?.candidate];
    if (ours.includes(served)) return state;
    const where =
      state.status === RolloutStatus.ROLLING
        ? `the rollout of v${state.candidate} at ${state.weight}% is abandoned`
        : `v${state.stable} is no longer stable`;
    return this.#store.write(
      adopt(state, {
        version: served,
        actor: this.#actor,
        now: this.#now(),
        reason: `the alias serves v${served}, which sluice did not route there (a cdk deploy?); adopted as stable, ${where}`,
      }),
    );
  }

  /** The decision on a state, without applying it. */
  async #look(state: RolloutState): Promise<StepResult> {
    if (state.status !== RolloutStatus.ROLLING || state.candidate === undefined) {
      return { state, decision: { kind: 'idle' } };
    }
    const health = await this.#target.health(state.model, state.candidate);
    return { state, decision: decide(state, health, this.#now()), health };
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

  async #recordGoldenFailure(
    state: RolloutState | undefined,
    candidate: number,
    failures: readonly string[],
  ): Promise<void> {
    await this.#record(
      state && recordGoldenFailure(state, { candidate, failures, actor: this.#actor, now: this.#now() }),
    );
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

  /** The stable version of a model sluice never deployed; undefined when `version` is to become it. */
  async #initialStable(model: string, version: number): Promise<number | undefined> {
    if (this.#target.servedVersion) {
      const served = await this.#target.servedVersion(model);
      return served === version ? undefined : served;
    }
    return this.#newestOtherVersion(model, version);
  }

  async #newestOtherVersion(model: string, version: number): Promise<number | undefined> {
    const others = (await this.#registry.listVersions(model)).filter((other) => other !== version);
    return others.length === 0 ? undefined : Math.max(...others);
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

function describeHealth(health: HealthReport): string {
  const verdict = health.verdict === 'unknown' ? 'unknown (too little traffic to judge)' : health.verdict;
  return health.reasons.length > 0 ? `health ${verdict}: ${health.reasons.join('; ')}` : `health ${verdict}`;
}
