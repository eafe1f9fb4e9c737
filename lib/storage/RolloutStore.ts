import { describeIssues } from '../core/errors/describe-issues.js';
import { ModelNameSchema } from '../core/manifest/ModelManifest.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { type RolloutEvent, type RolloutState, RolloutStateSchema } from '../core/rollout/RolloutState.js';
import { MAX_REVISION, REVISION_DIGITS, rolloutKey, rolloutPrefix } from '../core/rollout/rollout-layout.js';
import type { ObjectStore } from './ObjectStore.js';

/**
 * Revisions kept per model: each state carries the history of events (up to `MAX_HISTORY_EVENTS`), so older
 * revisions hold nothing the current one lacks; keeping a few dozen lets a person see recent states in the bucket
 * while a listing of the model's prefix stays one short page.
 */
export const KEPT_REVISIONS = 50;

/** Content type of stored states. */
const JSON_CONTENT_TYPE = 'application/json';

/** The name of a revision object inside `rollouts/NAME/`. */
const REVISION_OBJECT_PATTERN = new RegExp(`^(\\d{${REVISION_DIGITS}})\\.json$`);

/** Options of {@link RolloutStore}. */
export interface RolloutStoreProps {
  /** The registry bucket; states live under `rollouts/NAME/`. */
  readonly store: ObjectStore;
  /**
   * Revisions kept per model; older ones are deleted as new ones are written.
   * @default KEPT_REVISIONS
   */
  readonly keptRevisions?: number;
}

/**
 * Durable rollout state: every model's states as an append-only series of revisions in the registry bucket,
 * `rollouts/NAME/NNNNNNNNNN.json`; the highest revision is the current state.
 *
 * Revisions are never overwritten: each is written with `If-None-Match: *`, so of two writers that read the same
 * revision and write the next, exactly one succeeds and the other gets {@link RolloutConflictError}. Only the last
 * `keptRevisions` are kept: writing revision r deletes revision r - keptRevisions, so reading the current state
 * lists a bounded prefix, never every revision ever written. (A writer that read a revision so old that its
 * successor was deleted could still write it, but as a revision below the current one it is never read; the engine
 * re-reads the current state after routing and routes that.)
 *
 * @example
 * const store = new RolloutStore({ store: new S3ObjectStore({ client: new S3Client({}), bucket: 'my-models' }) });
 * const current = await store.current('iris');
 * if (current) await store.write(rollback(current, { reason: 'by hand', actor: 'cli', now: Date.now() }));
 */
export class RolloutStore {
  readonly #store: ObjectStore;
  readonly #keptRevisions: number;

  constructor(props: RolloutStoreProps) {
    this.#store = props.store;
    this.#keptRevisions = props.keptRevisions ?? KEPT_REVISIONS;
    if (!Number.isSafeInteger(this.#keptRevisions) || this.#keptRevisions < 1) {
      throw new RolloutError(`keptRevisions must be a whole number, 1 or more; got ${this.#keptRevisions}`);
    }
  }

  /**
   * A model's current state (its highest revision), parsed against the schema; undefined when sluice never
   * deployed it. Throws {@link RolloutError} when the stored state does not parse or belongs elsewhere.
   */
  async current(model: string): Promise<RolloutState | undefined> {
    const name = parseModelName(model);
    const revisions = await this.#listRevisions(name);
    const newest = revisions.at(-1);
    if (newest === undefined) {
      return undefined;
    }
    // Revisions a failed delete left behind (or written before retention existed) are swept here, best effort.
    const stale = revisions.filter((revision) => revision <= newest - this.#keptRevisions);
    if (stale.length > 0) await Promise.all(stale.map((revision) => this.#delete(name, revision)));
    return this.#read(name, rolloutKey(name, newest), newest);
  }

  /**
   * Stores `next` as revision `next.revision` (the transitions set it to the revision they started from plus one)
   * and returns it as stored. Throws {@link RolloutConflictError} when that revision exists: another command
   * wrote it first, and nothing of this one was stored.
   */
  async write(next: RolloutState): Promise<RolloutState> {
    const parsed = RolloutStateSchema.safeParse(next);
    if (!parsed.success) {
      throw new RolloutError(`refusing to store an invalid rollout state: ${describeIssues(parsed.error)}`, {
        cause: parsed.error,
      });
    }
    const state = parsed.data;
    if (state.revision < 1 || state.revision > MAX_REVISION) {
      throw new RolloutError(
        `rollout revisions run from 1 to ${MAX_REVISION}; got ${state.revision} for ${state.model}`,
      );
    }
    // A string body: the local store cannot take streamed bodies with checksums.
    const written = await this.#store.putIfAbsent(
      rolloutKey(state.model, state.revision),
      JSON.stringify(state, null, 2),
      { contentType: JSON_CONTENT_TYPE },
    );
    if (!written) throw new RolloutConflictError(state.model, state.revision);
    const expired = state.revision - this.#keptRevisions;
    if (expired >= 1) await this.#delete(state.model, expired);
    return state;
  }

  /** The stored revision numbers of a model, ascending. */
  async #listRevisions(model: string): Promise<number[]> {
    const prefix = rolloutPrefix(model);
    const revisions: number[] = [];
    for await (const key of this.#store.list(prefix)) {
      const match = REVISION_OBJECT_PATTERN.exec(key.slice(prefix.length));
      if (match) revisions.push(Number(match[1]));
    }
    return revisions.sort((a, b) => a - b);
  }

  /** Deletes one revision past the retention; a failure only leaves it for the next sweep. */
  async #delete(model: string, revision: number): Promise<void> {
    try {
      await this.#store.delete(rolloutKey(model, revision));
    } catch {
      // Retention is housekeeping: the state written is what matters, and `current` sweeps what is left.
    }
  }

  /** Every recorded event of a model's routing, oldest first (bounded; see `MAX_HISTORY_EVENTS`). */
  async history(model: string): Promise<RolloutEvent[]> {
    return (await this.current(model))?.history ?? [];
  }

  async #read(model: string, key: string, revision: number): Promise<RolloutState> {
    const location = this.#store.locate(key);
    const bytes = await this.#store.get(key);
    const text = bytes === undefined ? undefined : new TextDecoder().decode(bytes);
    if (text === undefined) {
      // Retention never deletes the newest revision; a listed newest key that vanished was deleted by hand.
      throw new RolloutError(
        `${location} was listed but cannot be read; the newest rollout revision must never be deleted`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new RolloutError(`${location} is not JSON`, { cause: error });
    }
    const parsed = RolloutStateSchema.safeParse(json);
    if (!parsed.success) {
      throw new RolloutError(
        `${location} does not match the rollout state schema: ${describeIssues(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    if (parsed.data.model !== model || parsed.data.revision !== revision) {
      throw new RolloutError(
        `${location} holds revision ${parsed.data.revision} of ${parsed.data.model}, not revision ${revision} of ${model}`,
      );
    }
    return parsed.data;
  }
}

function parseModelName(model: string): string {
  const parsed = ModelNameSchema.safeParse(model);
  if (!parsed.success) {
    throw new RolloutError(`"${model}" is not a model name: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
