import { performance } from 'node:perf_hooks';
import type { InferenceSession } from 'onnxruntime-node';
import {
  ModelNotFoundError,
  ModelUnavailableError,
  VersionNotFoundError,
} from '../core/errors/model-errors.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { LoadedModel } from './LoadedModel.js';
import { onnxRuntime, preloadOnnxRuntime } from './onnx-runtime.js';
import { lambdaSessionOptions } from './session-options.js';

/** Default byte budget of the session cache, counted in the memory sessions take (see {@link InferenceEngine}). */
export const DEFAULT_CACHE_BUDGET_BYTES = 512 * 1024 * 1024;

/** How long an evicted session stays alive for requests already running on it. */
export const EVICTED_SESSION_GRACE_MS = 60_000;

/** Called once for every model version the engine loads. */
export type ModelLoadListener = (event: {
  model: string;
  version: number;
  loadMs: number;
  /** Size of the model file. */
  sizeBytes: number;
  /** Memory the session took when it was created, as the cache counts it (at least the file size). */
  memoryBytes: number;
}) => void;

/** Options of {@link InferenceEngine}. */
export interface InferenceEngineOptions {
  /** Where model versions come from. */
  readonly registry: Pick<ModelRegistry, 'fetchModel'>;
  /**
   * Upper bound on the summed memory of cached sessions; least recently used versions are evicted past it.
   * Pinned versions count but are never evicted.
   * @default DEFAULT_CACHE_BUDGET_BYTES
   */
  readonly budgetBytes?: number;
  /** Reads the process's resident memory in bytes, to measure what a session takes. @default process.memoryUsage.rss */
  readonly residentMemory?: () => number;
  /** @default lambdaSessionOptions() */
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /** @default no listener */
  readonly onLoad?: ModelLoadListener;
}

interface CacheEntry {
  readonly model: LoadedModel;
  readonly sizeBytes: number;
  /** Measured memory of the session: growth of resident memory while it was created and during its first run. */
  memoryBytes: number;
  /** True once a run of this session has been measured. */
  runMeasured: boolean;
}

/**
 * One onnxruntime session per model version, created once, verified against its manifest, and reused.
 *
 * Concurrent requests for a version that is still loading share one load. A failed load is not cached,
 * so the next request tries again (a store that was down may be back).
 *
 * The cache budget counts the memory each session really takes, not its file size: the growth of the process's
 * resident memory while the session is created (at least the file size), plus the growth during its first run,
 * when onnxruntime's arena allocates the intermediate tensors (see {@link InferenceEngine.measureFirstRun}). A
 * session of an 88 MB model can take several hundred MB; counting that is what keeps cached versions within the
 * function's memory.
 *
 * @example
 * const engine = new InferenceEngine({ registry });
 * const { session, manifest } = await engine.get('iris', 3);
 */
export class InferenceEngine {
  private readonly registry: Pick<ModelRegistry, 'fetchModel'>;
  private readonly budgetBytes: number;
  private readonly sessionOptions: InferenceSession.SessionOptions;
  private readonly onLoad: ModelLoadListener | undefined;
  private readonly residentMemory: () => number;
  /** Insertion order is recency order: a hit re-inserts the entry at the end. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly pinned = new Set<string>();

  constructor(options: InferenceEngineOptions) {
    this.registry = options.registry;
    this.budgetBytes = options.budgetBytes ?? DEFAULT_CACHE_BUDGET_BYTES;
    this.sessionOptions = options.sessionOptions ?? lambdaSessionOptions();
    this.onLoad = options.onLoad;
    this.residentMemory = options.residentMemory ?? (() => process.memoryUsage.rss());
  }

  /** Returns the loaded version from the cache without loading it, or undefined. */
  peek(model: string, version: number): LoadedModel | undefined {
    return this.cache.get(cacheKey(model, version))?.model;
  }

  /**
   * The session of a loaded version, as {@link get} answers a hit (the version becomes the most recently used), or
   * undefined when it is not loaded: a request path goes on synchronously with it and awaits `get` only on a miss.
   */
  useLoaded(model: string, version: number): LoadedModel | undefined {
    return this.hit(cacheKey(model, version))?.model;
  }

  /** Returns the session of a model version, loading it on first use. */
  async get(model: string, version: number): Promise<LoadedModel> {
    const key = cacheKey(model, version);
    const hit = this.hit(key);
    if (hit) return hit.model;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(model, version).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** A cached entry, moved to the end of the recency order. */
  private hit(key: string): CacheEntry | undefined {
    const hit = this.cache.get(key);
    if (hit && this.cache.size > 1) {
      this.cache.delete(key);
      this.cache.set(key, hit);
    }
    return hit;
  }

  /** Keeps a version in the cache whatever the budget: the version a function is configured to serve. */
  pin(model: string, version: number): void {
    this.pinned.add(cacheKey(model, version));
  }

  /** Model versions currently loaded, least recently used first, with their file size and measured memory. */
  loaded(): { model: string; version: number; sizeBytes: number; memoryBytes: number }[] {
    return [...this.cache.values()].map(({ model, sizeBytes, memoryBytes }) => ({
      model: model.manifest.name,
      version: model.manifest.version,
      sizeBytes,
      memoryBytes,
    }));
  }

  /**
   * Runs `run` (a `session.run` of this version); the first time, measures how much resident memory it added and
   * counts it against the budget, evicting other versions if that takes the cache over.
   */
  measureFirstRun<T>(model: string, version: number, run: () => Promise<T>): Promise<T> {
    const entry = this.cache.get(cacheKey(model, version));
    // Every run after the first is the run itself: no async frame of its own around it.
    if (!entry || entry.runMeasured) return run();
    return this.measureRun(entry, run);
  }

  private async measureRun<T>(entry: CacheEntry, run: () => Promise<T>): Promise<T> {
    entry.runMeasured = true;
    const before = this.residentMemory();
    const result = await run();
    const grown = this.residentMemory() - before;
    if (grown > 0) {
      entry.memoryBytes += grown;
      this.evictOverBudget();
    }
    return result;
  }

  /** Releases every session (for tests and shutdown). */
  async close(): Promise<void> {
    const entries = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(entries.map((entry) => entry.model.session.release()));
  }

  private async load(model: string, version: number): Promise<LoadedModel> {
    const started = performance.now();
    // The runtime's native library loads while the model's bytes are on their way (a no-op once loaded).
    const runtime = preloadOnnxRuntime();
    runtime.catch(() => undefined);
    let fetched: Awaited<ReturnType<ModelRegistry['fetchModel']>>;
    try {
      fetched = await this.registry.fetchModel(model, version);
    } catch (error) {
      if (error instanceof ModelNotFoundError || error instanceof VersionNotFoundError) throw error;
      throw new ModelUnavailableError(
        `model "${model}" version ${version} cannot be loaded: ${describe(error)}`,
        { cause: error },
      );
    }
    let session: InferenceSession;
    const memoryBefore = this.residentMemory();
    try {
      await runtime;
      session = await onnxRuntime().InferenceSession.create(fetched.bytes, this.sessionOptions);
    } catch (error) {
      throw new ModelUnavailableError(
        `model "${model}" version ${version} cannot be loaded: onnxruntime refused it (${describe(error)})`,
        { cause: error },
      );
    }
    const loadMs = performance.now() - started;
    const loaded: LoadedModel = { manifest: fetched.manifest, session, loadMs };
    const sizeBytes = fetched.manifest.size;
    // Another load or a collection running meanwhile blurs the measure; the file size is the floor.
    const memoryBytes = Math.max(sizeBytes, this.residentMemory() - memoryBefore);
    this.cache.set(cacheKey(model, version), { model: loaded, sizeBytes, memoryBytes, runMeasured: false });
    this.evictOverBudget();
    this.onLoad?.({ model, version, loadMs, sizeBytes, memoryBytes });
    return loaded;
  }

  private evictOverBudget(): void {
    let total = 0;
    for (const entry of this.cache.values()) total += entry.memoryBytes;
    for (const [key, entry] of this.cache) {
      if (total <= this.budgetBytes) break;
      // The newest entry stays even when it alone exceeds the budget: it was just asked for.
      if (this.pinned.has(key) || key === [...this.cache.keys()].at(-1)) continue;
      this.cache.delete(key);
      total -= entry.memoryBytes;
      // A request may still be running on the evicted session: free its native memory only after a grace period.
      setTimeout(
        () => void entry.model.session.release().catch(() => undefined),
        EVICTED_SESSION_GRACE_MS,
      ).unref();
    }
  }
}

function cacheKey(model: string, version: number): string {
  return `${model}@${version}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
