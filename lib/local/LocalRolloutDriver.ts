import type { RolloutState } from '../core/rollout/RolloutState.js';
import { type DriveOutcome, driveRollouts } from '../rollout/drive-rollouts.js';
import type { RolloutEngine } from '../rollout/RolloutEngine.js';
import type { AppLogger } from '../serving/InferenceApp.js';

/** How often the local stack takes the steps that are due, in milliseconds. */
export const LOCAL_DRIVER_INTERVAL_MS = 500;

/** Options of {@link LocalRolloutDriver}. */
export interface LocalRolloutDriverOptions {
  /** The engine (actor `local-stack`, target inside the stack). */
  readonly engine: Pick<RolloutEngine, 'step' | 'isDue'>;
  /** The models to drive: every model of the registry. */
  readonly models: () => Promise<string[]>;
  /** A cheap read of a model's state (the alias's cache), to skip idle models without a store round trip. */
  readonly state: (model: string) => Promise<RolloutState | undefined>;
  /** @default no logging */
  readonly logger?: AppLogger;
  /** @default LOCAL_DRIVER_INTERVAL_MS */
  readonly intervalMs?: number;
}

/**
 * Carries local rollouts through their bakes with nobody watching, as the scheduler does on AWS: on every tick it
 * runs the shared driver ({@link driveRollouts}) over the registry's models, so a healthy candidate is promoted
 * step by step and an unhealthy one rolled back, with no `sluice` process running.
 *
 * @example
 * const driver = new LocalRolloutDriver({ engine, models: () => registry.listModels(), state: (m) => resolver.state(m) });
 * driver.start();
 * await driver.stop();
 */
export class LocalRolloutDriver {
  readonly #options: LocalRolloutDriverOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: LocalRolloutDriverOptions) {
    this.#options = options;
  }

  /** Starts ticking every `intervalMs`; the timer does not keep the process alive. */
  start(intervalMs: number = this.#options.intervalMs ?? LOCAL_DRIVER_INTERVAL_MS): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow store must not pile up ticks: one at a time.
      if (this.#running) return;
      this.#running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.#options.logger?.warn('rollout driver: a tick failed; retrying next tick', {
            error: error as Error,
          });
        })
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One tick: one engine step for every model with a rollout in progress; returns what was done. */
  async tick(): Promise<DriveOutcome[]> {
    const { logger } = this.#options;
    return driveRollouts({
      engine: this.#options.engine,
      store: { current: this.#options.state },
      models: await this.#options.models(),
      ...(logger
        ? { logger: { info: (m, e) => logger.info(m, e ?? {}), warn: (m, e) => logger.warn(m, e ?? {}) } }
        : {}),
    });
  }
}
