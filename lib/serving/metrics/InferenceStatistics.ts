/** A count and the cumulative nanoseconds spent, as Triton's statistics extension reports each figure. */
export interface StatisticDuration {
  count: number;
  ns: number;
}

/** The per-phase figures of one model version, in Triton's `inference_stats` shape. */
export interface InferenceStats {
  readonly success: StatisticDuration;
  readonly fail: StatisticDuration;
  readonly queue: StatisticDuration;
  readonly compute_input: StatisticDuration;
  readonly compute_infer: StatisticDuration;
  readonly compute_output: StatisticDuration;
  readonly cache_hit: StatisticDuration;
  readonly cache_miss: StatisticDuration;
}

/** One entry of `model_stats` (Triton's statistics extension). */
export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  /** Milliseconds since the epoch of the last inference; 0 before any. */
  readonly last_inference: number;
  /** Successful inferences, each row of a batch counted (as Triton counts). */
  readonly inference_count: number;
  /** Successful model executions (`session.run` calls). */
  readonly execution_count: number;
  readonly inference_stats: InferenceStats;
  /** Per-batch-size figures; sluice does not batch requests, so this stays empty. */
  readonly batch_stats: readonly never[];
}

/** The body of `GET /v2/models/{m}/stats`. */
export interface StatisticsResponse {
  readonly model_stats: readonly ModelStatistics[];
}

/** How one inference request went, in nanoseconds per phase; phases not reached are 0. */
export interface InferenceTiming {
  readonly success: boolean;
  /** Rows of the request (the first dimension of the first input). */
  readonly rows: number;
  /** The whole request, from the event in to the result out. */
  readonly totalNs: number;
  /** Waiting for the session (resolving the version, loading it when it was not cached). */
  readonly queueNs: number;
  /** Reading the body and building the input tensors. */
  readonly inputNs: number;
  /** `session.run`. */
  readonly inferNs: number;
  /** Writing the outputs. */
  readonly outputNs: number;
}

/**
 * Per model and version counts and cumulative durations of inference requests, served as Triton's statistics
 * extension (`GET /v2/models/{m}/stats`). Figures live in this process: on Lambda, per execution environment.
 *
 * @example
 * const stats = new InferenceStatistics();
 * stats.record('iris', 1, { success: true, rows: 1, totalNs: 90_000, queueNs: 1_000, inputNs: 5_000, inferNs: 20_000, outputNs: 3_000 });
 * stats.report('iris', [1]);
 */
export class InferenceStatistics {
  private readonly figures = new Map<string, MutableStatistics>();

  /** Adds one request's figures to its model version. */
  record(model: string, version: number, timing: InferenceTiming): void {
    const entry = this.entry(model, version);
    entry.last_inference = Date.now();
    const stats = entry.inference_stats;
    if (timing.success) {
      entry.inference_count += timing.rows;
      entry.execution_count++;
      add(stats.success, timing.totalNs);
      add(stats.queue, timing.queueNs);
      add(stats.compute_input, timing.inputNs);
      add(stats.compute_infer, timing.inferNs);
      add(stats.compute_output, timing.outputNs);
    } else {
      add(stats.fail, timing.totalNs);
    }
  }

  /** The `model_stats` of the given versions of a model, ascending, with zeros for versions not used yet. */
  report(model: string, versions: readonly number[]): StatisticsResponse {
    const sorted = [...new Set(versions)].sort((a, b) => a - b);
    return {
      model_stats: sorted.map((version) => this.figures.get(key(model, version)) ?? empty(model, version)),
    };
  }

  /** Versions of a model with recorded figures. */
  versionsOf(model: string): number[] {
    const versions: number[] = [];
    for (const entry of this.figures.values()) if (entry.name === model) versions.push(Number(entry.version));
    return versions;
  }

  private entry(model: string, version: number): MutableStatistics {
    const id = key(model, version);
    let entry = this.figures.get(id);
    if (!entry) {
      entry = empty(model, version);
      this.figures.set(id, entry);
    }
    return entry;
  }
}

type MutableStatistics = { -readonly [K in keyof ModelStatistics]: ModelStatistics[K] };

function key(model: string, version: number): string {
  return `${model}@${version}`;
}

function add(figure: StatisticDuration, ns: number): void {
  figure.count++;
  figure.ns += Math.round(ns);
}

function empty(model: string, version: number): MutableStatistics {
  const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
  return {
    name: model,
    version: String(version),
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: {
      success: zero(),
      fail: zero(),
      queue: zero(),
      compute_input: zero(),
      compute_infer: zero(),
      compute_output: zero(),
      cache_hit: zero(),
      cache_miss: zero(),
    },
    batch_stats: [],
  };
}
