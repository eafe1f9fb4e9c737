import type { Decision } from '../core/rollout/decide.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import type { RolloutStore } from '../storage/RolloutStore.js';
import type { RolloutEngine } from './RolloutEngine.js';

/** What {@link driveRollouts} did for one model. */
export type DriveOutcome =
  /** The model has no rollout in progress: nothing read beyond its state, which is here (none: no state). */
  | { readonly model: string; readonly kind: 'idle'; readonly state?: RolloutState }
  /** One decision was made (and applied unless it was to wait). */
  | {
      readonly model: string;
      readonly kind: 'stepped';
      readonly decision: Decision;
      readonly state: RolloutState;
    }
  /** Another writer changed the rollout at the same moment; the next tick decides on what it wrote. */
  | { readonly model: string; readonly kind: 'raced' }
  /** The step failed (the store, the target); the next tick tries again. */
  | { readonly model: string; readonly kind: 'failed'; readonly error: Error };

/** The logger methods the driver uses; Powertools' Logger has them. */
export interface DriveLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** What {@link driveRollouts} takes. */
export interface DriveRolloutsInput {
  /** The engine that takes the steps; its actor names the driver in the history (`local-stack`, `scheduler`). */
  readonly engine: Pick<RolloutEngine, 'step' | 'isDue'>;
  /** Where the states are read, to skip models with nothing in progress cheaply. */
  readonly store: Pick<RolloutStore, 'current'>;
  /** The models to look at: the stack's models on AWS, every model with a state locally. */
  readonly models: readonly string[];
  /** @default no logging */
  readonly logger?: DriveLogger;
}

/**
 * One tick of the unattended path: for every model with a rollout in progress, one engine step (bake over and
 * enough evidence: next step or promotion; unhealthy: rollback; otherwise wait). The local stack calls it on a
 * timer and the rollout-driver function on AWS on every scheduler invocation, so a rollout finishes with no CLI
 * running. Models are independent: one failing (a store error, a throttled API) does not stop the others, and
 * nothing here waits: a bake is the time between ticks.
 *
 * @example
 * const outcomes = await driveRollouts({ engine, store, models: ['iris', 'digits'] });
 */
export async function driveRollouts(input: DriveRolloutsInput): Promise<DriveOutcome[]> {
  const outcomes: DriveOutcome[] = [];
  for (const model of input.models) {
    outcomes.push(await driveOne(model, input));
  }
  return outcomes;
}

async function driveOne(model: string, input: DriveRolloutsInput): Promise<DriveOutcome> {
  try {
    const state = await input.store.current(model);
    // A rollout in progress, or a promotion still in its watch window, is stepped; anything else is idle.
    if (!state || !input.engine.isDue(state)) return { model, kind: 'idle', ...(state ? { state } : {}) };
    const { decision, state: after } = await input.engine.step(model);
    if (decision.kind !== 'wait' && decision.kind !== 'idle') {
      input.logger?.info('rollout stepped', {
        model,
        decision: decision.kind,
        stable: after.stable,
        candidate: after.candidate,
        weight: after.weight,
        ...(decision.kind === 'rollback' ? { reason: decision.reason } : {}),
      });
    }
    return { model, kind: 'stepped', decision, state: after };
  } catch (error) {
    if (error instanceof RolloutConflictError) return { model, kind: 'raced' };
    const failure = error instanceof Error ? error : new Error(String(error));
    input.logger?.warn('rollout step failed; the next tick tries again', { model, error: failure });
    return { model, kind: 'failed', error: failure };
  }
}
