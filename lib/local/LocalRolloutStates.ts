import { LoadingCache } from '../core/cache/LoadingCache.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import type { RolloutStore } from '../storage/RolloutStore.js';

/**
 * The local stack's rollout states, owned by the stack: read from the store once per model, then kept in memory and
 * updated by every write, so the routing of the next request is the state just written, with no lifetime to wait
 * out. The stack is the one writer of its data folder's states (one stack per folder, and `sluice --local` asks the
 * stack to act instead of writing them itself); the store keeps them across restarts and its conditional writes
 * still refuse two writers of one revision ({@link RolloutConflictError}).
 *
 * While the store cannot be read, a model's last state keeps routing.
 *
 * @example
 * const states = new LocalRolloutStates(new RolloutStore({ store: objects }));
 * const engine = new RolloutEngine({ store: states, target, registry, actor: 'cli' });
 */
export class LocalRolloutStates {
  readonly #store: Pick<RolloutStore, 'current' | 'write'>;
  readonly #states: LoadingCache<RolloutState | undefined>;
  readonly #listeners = new Set<(state: RolloutState) => void>();
  /** The newest revision written per model: a write that finishes late never routes by an older state. */
  readonly #newest = new Map<string, number>();

  constructor(store: Pick<RolloutStore, 'current' | 'write'>) {
    this.#store = store;
    this.#states = new LoadingCache({ load: (model) => store.current(model), keepLastOn: () => true });
  }

  /** The model's current state (undefined when it has none), from memory once read. */
  current(model: string): Promise<RolloutState | undefined> {
    return this.#states.get(model);
  }

  /** {@link current} without waiting, once read (`{ value: undefined }` for a model known to have none). */
  currentNow(model: string): { readonly value: RolloutState | undefined } | undefined {
    return this.#states.peek(model);
  }

  /**
   * Calls `listener` with every state written, after it routes; returns the function that stops the calls.
   *
   * @example
   * const stop = states.onWrite((state) => console.log(state.model, state.revision));
   */
  onWrite(listener: (state: RolloutState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stores the next revision, then routes by it: the next read of the model gets it, unless a newer revision was
   * written meanwhile (the store's write also prunes old revisions, so two writes can finish out of order). Throws
   * {@link RolloutConflictError} when that revision exists; the model is then read from the store again.
   * A listener that throws does not undo or fail the write.
   */
  async write(next: RolloutState): Promise<RolloutState> {
    try {
      const written = await this.#store.write(next);
      if (written.revision > (this.#newest.get(written.model) ?? 0)) {
        this.#newest.set(written.model, written.revision);
        this.#states.set(written.model, written);
      }
      for (const listener of this.#listeners) {
        try {
          listener(written);
        } catch {
          // The listener's failure is its own: the state is stored and routes.
        }
      }
      return written;
    } catch (error) {
      if (error instanceof RolloutConflictError) this.#states.invalidate(next.model);
      throw error;
    }
  }
}
