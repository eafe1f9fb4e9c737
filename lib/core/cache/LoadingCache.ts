/** Options of {@link LoadingCache}. */
export interface LoadingCacheOptions<Value> {
  /** Loads the value of a key on a miss. */
  readonly load: (key: string) => Promise<Value>;
  /**
   * How long a loaded value is used, in milliseconds; a value older than this is loaded again.
   * @default Infinity: kept until {@link LoadingCache.invalidate} or {@link LoadingCache.set}
   */
  readonly ttlMs?: number;
  /**
   * Whether a failed load may answer with the key's last loaded value instead of failing (a store that is down
   * while a listing is still good). @default never
   */
  readonly keepLastOn?: (error: unknown) => boolean;
  /** The clock, epoch milliseconds; only read when a lifetime is set. @default Date.now */
  readonly now?: () => number;
}

/** One key's entry: the value (or its load in flight), when it was loaded, and the value once it is known. */
interface Entry<Value> {
  readonly at: number;
  readonly value: Promise<Value>;
  /** Set when the load has answered (at once for {@link LoadingCache.set}): what {@link LoadingCache.peek} gives. */
  known?: { readonly value: Value };
}

/**
 * The one cache of sluice: values loaded by key on a miss, concurrent misses sharing one load, failed loads not
 * kept (the next call loads again), an optional lifetime on an injected clock, and invalidation by the owner of
 * the data when it changes, so callers never wait a lifetime out to see a change.
 *
 * @example
 * const versions = new LoadingCache({ load: (model) => registry.listVersions(model), ttlMs: 30_000 });
 * await versions.get('iris');
 * versions.invalidate('iris'); // a new version was published
 */
export class LoadingCache<Value> {
  readonly #options: LoadingCacheOptions<Value>;
  readonly #entries = new Map<string, Entry<Value>>();
  readonly #last = new Map<string, Value>();

  constructor(options: LoadingCacheOptions<Value>) {
    this.#options = options;
  }

  /** The key's value: the cached one while it is fresh, otherwise loaded (once for concurrent callers). */
  get(key: string): Promise<Value> {
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached && this.#fresh(cached, now)) return cached.value;
    const entry: Entry<Value> = { at: now, value: this.#load(key) };
    this.#entries.set(key, entry);
    entry.value.then(
      (value) => {
        entry.known = { value };
      },
      // A failed load is not kept: the next call tries again (a store that was down may be back).
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.value;
  }

  /**
   * The key's value when {@link get} would answer it from memory without waiting: loaded, still fresh, not
   * invalidated. Undefined otherwise (nothing is loaded by asking); a request path that can go on synchronously
   * reads this first and awaits {@link get} only when it must.
   */
  peek(key: string): { readonly value: Value } | undefined {
    const cached = this.#entries.get(key);
    return cached?.known && this.#fresh(cached, this.#now()) ? cached.known : undefined;
  }

  /** Sets a key's value, as the writer of the data does after writing it: the next read gets it at once. */
  set(key: string, value: Value): void {
    this.#entries.set(key, { at: this.#now(), value: Promise.resolve(value), known: { value } });
    this.#last.set(key, value);
  }

  /** Forgets one key's value (or every key's), so the next read loads it again. */
  invalidate(key?: string): void {
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }

  /** The keys with a value loaded or loading. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** The clock, read only when values have a lifetime (0 otherwise: every value stays fresh). */
  #now(): number {
    return Number.isFinite(this.#options.ttlMs ?? Number.POSITIVE_INFINITY)
      ? (this.#options.now ?? Date.now)()
      : 0;
  }

  /** Whether an entry loaded at `entry.at` is still within its lifetime at `now`. */
  #fresh(entry: Entry<Value>, now: number): boolean {
    return now - entry.at <= (this.#options.ttlMs ?? Number.POSITIVE_INFINITY);
  }

  async #load(key: string): Promise<Value> {
    try {
      const value = await this.#options.load(key);
      this.#last.set(key, value);
      return value;
    } catch (error) {
      if (this.#last.has(key) && this.#options.keepLastOn?.(error)) return this.#last.get(key) as Value;
      throw error;
    }
  }
}
