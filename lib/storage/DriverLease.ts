import * as z from 'zod';
import { ROLLOUTS_PREFIX } from '../core/rollout/rollout-layout.js';
import type { ObjectStore } from './ObjectStore.js';

/** Where leases live: under the rollout states' prefix (which the driver may write), never a model's name. */
const LEASES_PREFIX = `${ROLLOUTS_PREFIX}_leases/`;

/** Digits of a lease generation in its key, so keys sort by generation. */
const GENERATION_DIGITS = 12;

/** Generations kept per lease: the current one and a few before it, for a person reading the bucket. */
const KEPT_GENERATIONS = 5;

const LeaseSchema = z.object({
  holder: z.string(),
  /** Epoch ms until which the holder may still be running. */
  until: z.number(),
});

/** A lease held: {@link DriverLease.release} it when the work is done. */
export interface HeldLease {
  readonly generation: number;
  readonly holder: string;
}

/** Options of {@link DriverLease}. */
export interface DriverLeaseProps {
  /** The registry bucket. */
  readonly store: ObjectStore;
  /** Whose lease: one per rollout driver (the stack's, or a model group's). */
  readonly name: string;
  /** How long a holder may run, in ms: the driver function's timeout. A lease older than this is free. */
  readonly durationMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * One rollout driver's mutual exclusion, without reserved concurrency (which a new account may not have to give:
 * Lambda keeps at least 100 of the account's concurrency unreserved,
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). A lease is a series of generations,
 * `rollouts/_leases/NAME/NNNNNNNNNNNN.json`, each written with `If-None-Match: *` and never overwritten: a tick
 * takes generation g + 1 only when generation g is released or has run past its `until`, and of two ticks that
 * try, exactly one writes it. No object is ever deleted to take a lease, so a slow taker cannot remove a lease
 * another has just taken; old generations are deleted behind the current one.
 *
 * @example
 * const lease = new DriverLease({ store, name: 'Sluice', durationMs: 55_000 });
 * const held = await lease.acquire('request-id');
 * if (held) try { await tick(); } finally { await lease.release(held); }
 */
export class DriverLease {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #durationMs: number;
  readonly #now: () => number;

  constructor(props: DriverLeaseProps) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(props.name)) {
      throw new Error(`a lease name is letters, digits, - and _; got "${props.name}"`);
    }
    this.#store = props.store;
    this.#prefix = `${LEASES_PREFIX}${props.name}/`;
    this.#durationMs = props.durationMs;
    this.#now = props.now ?? Date.now;
  }

  /**
   * Takes the lease for `holder`; undefined when another holder has it (still within its `until`, not released)
   * or took the next generation first.
   */
  async acquire(holder: string): Promise<HeldLease | undefined> {
    const generations = await this.#generations();
    const newest = generations.at(-1);
    if (newest !== undefined && !(await this.#isFree(newest))) return undefined;
    const generation = (newest ?? 0) + 1;
    const body = JSON.stringify({ holder, until: this.#now() + this.#durationMs });
    const taken = await this.#store.putIfAbsent(this.#key(generation), body, {
      contentType: 'application/json',
    });
    if (!taken) return undefined;
    // A taker that listed long ago may have written a generation deleted behind a newer one: it holds nothing.
    const after = await this.#generations();
    if ((after.at(-1) ?? generation) > generation) return undefined;
    // Old generations are only history; a failed delete is swept at a later acquire.
    await Promise.all(
      generations
        .filter((old) => old <= generation - KEPT_GENERATIONS)
        .flatMap((old) => [this.#key(old), this.#releasedKey(old)])
        .map((key) => this.#store.delete(key).catch(() => undefined)),
    );
    return { generation, holder };
  }

  /** Marks the lease released, so the next tick need not wait for its `until`. */
  async release(lease: HeldLease): Promise<void> {
    await this.#store.putIfAbsent(this.#releasedKey(lease.generation), lease.holder, {
      contentType: 'text/plain',
    });
  }

  /** Whether generation `generation` no longer holds: released, past its `until`, or unreadable. */
  async #isFree(generation: number): Promise<boolean> {
    if ((await this.#store.get(this.#releasedKey(generation))) !== undefined) return true;
    const bytes = await this.#store.get(this.#key(generation));
    if (bytes === undefined) return true;
    const parsed = LeaseSchema.safeParse(safeJson(new TextDecoder().decode(bytes)));
    // A lease that does not parse protects nothing: it is free (and superseded by the next generation).
    return !parsed.success || parsed.data.until <= this.#now();
  }

  async #generations(): Promise<number[]> {
    const generations: number[] = [];
    for await (const key of this.#store.list(this.#prefix)) {
      const match = new RegExp(`^(\\d{${GENERATION_DIGITS}})\\.json$`).exec(key.slice(this.#prefix.length));
      if (match) generations.push(Number(match[1]));
    }
    return generations.sort((a, b) => a - b);
  }

  #key(generation: number): string {
    return `${this.#prefix}${String(generation).padStart(GENERATION_DIGITS, '0')}.json`;
  }

  #releasedKey(generation: number): string {
    return `${this.#prefix}${String(generation).padStart(GENERATION_DIGITS, '0')}.released`;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
