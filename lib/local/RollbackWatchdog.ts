import type { AppLogger } from '../http/InferenceApp.js';
import { decide } from '../rollout/decide.js';
import { RolloutConflictError } from '../rollout/RolloutConflictError.js';
import { type RolloutState, RolloutStatus } from '../rollout/RolloutState.js';
import { applyDecision } from '../rollout/rollout-transitions.js';
import type { HealthWindow } from './HealthWindow.js';
import { LOCAL_STACK_ACTOR, type RolloutStateStore } from './LocalAliasResolver.js';
import type { HealthThresholds } from './local-config.js';

/** How often the local stack judges the candidates being rolled out, in milliseconds. */
export const WATCHDOG_INTERVAL_MS = 500;

/** The routing the watchdog reads (cached) and invalidates once it has rolled back; the local alias. */
export interface RoutingCache {
  /** The model's rollout state as routing sees it now. */
  state(model: string): Promise<RolloutState | undefined>;
  /** Forgets the model's cached state, so the next request routes by the store. */
  invalidate(model: string): void;
}

/** A rollback the watchdog made. */
export interface WatchdogRollback {
  /** ISO time of the rollback. */
  readonly at: string;
  readonly model: string;
  /** The version rolled back. */
  readonly candidate: number;
  /** Why, as recorded in the history. */
  readonly reason: string;
}

/** Options of {@link RollbackWatchdog}. */
export interface RollbackWatchdogOptions {
  readonly health: HealthWindow;
  readonly thresholds: HealthThresholds;
  readonly store: RolloutStateStore;
  readonly routing: RoutingCache;
  /** @default no logging */
  readonly logger?: AppLogger;
  /** @default WATCHDOG_INTERVAL_MS */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Rolls back unhealthy candidates with nobody watching: the local stack's counterpart of the alarm-driven
 * rollback function on AWS.
 *
 * Every interval it judges the candidate of each model that is rolling and has traffic in the health window,
 * with the same pure rule the rollout engine uses (`decide`). When that rule says roll back, it re-reads the
 * state, writes the rollback as the next revision (actor `local-stack`), and invalidates the routing cache so
 * the candidate's traffic stops with the next request. It never advances a rollout: moving traffic forward is
 * the release owner's command. A write that loses to another command (RolloutConflictError) is not retried:
 * the state moved, and the next tick judges the new one.
 *
 * @example
 * const watchdog = new RollbackWatchdog({ health, thresholds, store, routing: resolver });
 * watchdog.start();
 * await watchdog.stop();
 */
export class RollbackWatchdog {
  readonly #options: RollbackWatchdogOptions;
  readonly #now: () => number;
  readonly #rollbacks = new Map<string, WatchdogRollback>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: RollbackWatchdogOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts judging every interval; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow store must not pile up ticks: one at a time.
      if (this.#running) return;
      this.#running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.#options.logger?.warn('rollback watchdog: a check failed; retrying next tick', {
            error: error as Error,
          });
        })
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#options.intervalMs ?? WATCHDOG_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a check in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** The latest rollback made for a model since the stack started. */
  lastRollback(model: string): WatchdogRollback | undefined {
    return this.#rollbacks.get(model);
  }

  /** Judges every rolling candidate with traffic once, rolling back the unhealthy ones; returns the rollbacks made. */
  async tick(): Promise<WatchdogRollback[]> {
    const made: WatchdogRollback[] = [];
    for (const model of this.#options.health.models(this.#now())) {
      const rollback = await this.#check(model);
      if (rollback) made.push(rollback);
    }
    return made;
  }

  async #check(model: string): Promise<WatchdogRollback | undefined> {
    const { routing, store } = this.#options;
    const seen = await routing.state(model);
    if (!this.#rollbackReason(seen)) return undefined;
    // The cached state may be a quarter of a second old: decide again on the store's own before writing.
    const state = await store.current(model);
    const reason = this.#rollbackReason(state);
    if (!state || reason === undefined || state.candidate === undefined) {
      routing.invalidate(model);
      return undefined;
    }
    const now = this.#now();
    const next = applyDecision(state, { kind: 'rollback', reason }, { actor: LOCAL_STACK_ACTOR, now });
    try {
      await store.write(next);
    } catch (error) {
      if (error instanceof RolloutConflictError) {
        routing.invalidate(model);
        return undefined;
      }
      throw error;
    }
    routing.invalidate(model);
    const rollback: WatchdogRollback = {
      at: new Date(now).toISOString(),
      model,
      candidate: state.candidate,
      reason,
    };
    this.#rollbacks.set(model, rollback);
    this.#options.logger?.warn('rolled back an unhealthy candidate', { ...rollback });
    return rollback;
  }

  /** Why the state's candidate must be rolled back now, by the shared rule; undefined when it must not. */
  #rollbackReason(state: RolloutState | undefined): string | undefined {
    if (state?.status !== RolloutStatus.ROLLING || state.candidate === undefined) return undefined;
    const now = this.#now();
    const report = this.#options.health.judge(state.model, state.candidate, this.#options.thresholds, now);
    const decision = decide(state, report, now);
    return decision.kind === 'rollback' ? decision.reason : undefined;
  }
}
