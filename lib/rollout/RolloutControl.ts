import type { RolloutState } from '../core/rollout/RolloutState.js';
import type { ObservedTraffic, RolloutTarget } from '../core/rollout/RolloutTarget.js';
import type { DeployOptions, RolloutEngine, RolloutStatusReport } from './RolloutEngine.js';

/**
 * What a release owner's commands do to a model's rollout, whoever carries them out: on AWS the CLI's own engine
 * ({@link EngineRolloutControl}); locally the running stack, which owns its rollout states and is asked over its
 * control routes (`StackRolloutClient`). `sluice deploy/promote/rollback/status` use only this.
 */
export interface RolloutControl {
  /** The model's current state; undefined when sluice never deployed it. */
  current(model: string): Promise<RolloutState | undefined>;
  /** Starts a rollout (golden check, first weight); see {@link RolloutEngine.deploy}. */
  deploy(model: string, options: DeployOptions): Promise<RolloutState>;
  /** Moves the candidate on; see {@link RolloutEngine.promote}. */
  promote(model: string, options: { readonly weight?: number }): Promise<RolloutState>;
  /** Sends the candidate's weight back to 0, or with none, undoes the last promotion; see {@link RolloutEngine.rollback}. */
  rollback(model: string, reason: string): Promise<RolloutState>;
  /** The state, the candidate's health, the next decision and the history; only reads. */
  status(model: string): Promise<RolloutStatusReport>;
  /** The traffic split the target observed. */
  traffic(model: string): Promise<ObservedTraffic>;
}

/**
 * A {@link RolloutControl} that acts itself, through an engine: the CLI on AWS, and the local stack answering its
 * control routes.
 *
 * @example
 * const control = new EngineRolloutControl({ engine, target, current: (model) => store.current(model) });
 * await control.deploy('iris', { version: 2, plan });
 */
export class EngineRolloutControl implements RolloutControl {
  readonly #engine: RolloutEngine;
  readonly #target: Pick<RolloutTarget, 'traffic'>;
  readonly #current: (model: string) => Promise<RolloutState | undefined>;

  constructor(props: {
    readonly engine: RolloutEngine;
    readonly target: Pick<RolloutTarget, 'traffic'>;
    /** Reads a model's current state (the engine's store). */
    readonly current: (model: string) => Promise<RolloutState | undefined>;
  }) {
    this.#engine = props.engine;
    this.#target = props.target;
    this.#current = props.current;
  }

  current(model: string): Promise<RolloutState | undefined> {
    return this.#current(model);
  }

  deploy(model: string, options: DeployOptions): Promise<RolloutState> {
    return this.#engine.deploy(model, options);
  }

  promote(model: string, options: { readonly weight?: number }): Promise<RolloutState> {
    return this.#engine.promote(model, options);
  }

  rollback(model: string, reason: string): Promise<RolloutState> {
    // A person's rollback also undoes a promotion: after it, there is no candidate left to send back.
    return this.#engine.rollback(model, reason, { undoPromotion: true });
  }

  status(model: string): Promise<RolloutStatusReport> {
    return this.#engine.status(model);
  }

  traffic(model: string): Promise<ObservedTraffic> {
    return this.#target.traffic(model);
  }
}
