import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
} from '../../core/metrics/metric-names.js';

/** The dimension set of a document with no Lambda version to name: a named-version request's, `$LATEST`'s. */
const VERSION_DIMENSIONS = ['service', MetricDimension.MODEL, MetricDimension.VERSION] as const;

/** One metric of an EMF document: its name and CloudWatch unit. */
export interface EmfMetric {
  readonly name: string;
  readonly unit: 'Count' | 'Milliseconds' | 'None';
}

/**
 * The one writer of CloudWatch Embedded Metric Format documents
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * one dimension set a document. A routed request's (one the alias sent) is `service, Model, Version, FunctionVersion`
 * when the emitting Lambda version is known (a published version on Lambda), what the version alarms, the rollout's
 * gates and the console read per build; a request that named its version, and any document where no Lambda version
 * is known (`$LATEST`), `service, Model, Version`. (The local stack writes no EMF: it keeps its own figures.) CloudWatch bills each dimension set of a metric as a metric of its own
 * (https://aws.amazon.com/cloudwatch/pricing/): one set a document halves what a routed version's metrics cost, and a
 * version's whole traffic is the sum of its sets (see `versionSeries`).
 *
 * Written by hand rather than through Powertools' Metrics: the document is small and fixed, and everything up to
 * its timestamp is built once per model, version and metric set, so a request only appends its numbers.
 *
 * @example
 * const documents = new EmfDocuments();
 * process.stdout.write(documents.document('iris', 3, [{ name: 'ColdStart', unit: 'Count' }], [1], Date.now()));
 */
export class EmfDocuments {
  /**
   * The prefixes built so far, by metric set (its array, which callers keep), routing, model and version: nested
   * maps, so a request looks its prefix up without building a key (a joined key cost about 1 us a request).
   */
  readonly #prefixes = new WeakMap<readonly EmfMetric[], Map<string, Map<number, EmfPrefix>>[]>();
  /** A routed request's dimension set: with FunctionVersion when the emitting Lambda version is known. */
  readonly #routedDimensions: string[];
  /** The JSON members of each properties object seen (callers that reuse one write it without re-encoding). */
  readonly #memberTexts = new WeakMap<Readonly<Record<string, string>>, string>();
  readonly #functionVersion: Record<string, string>;

  /** @param functionVersion the published Lambda version emitting, for routed requests' dimension set. @default none */
  constructor(functionVersion?: string) {
    this.#routedDimensions =
      functionVersion === undefined
        ? [...VERSION_DIMENSIONS]
        : [...VERSION_DIMENSIONS, MetricDimension.FUNCTION_VERSION];
    this.#functionVersion =
      functionVersion === undefined ? {} : { [MetricDimension.FUNCTION_VERSION]: functionVersion };
  }

  /**
   * One document, as one line: `values[i]` is the value of `metrics[i]` (non-finite values are written as 0, since
   * EMF values must be numbers). Everything but the numbers is built once per model, version and metric names.
   * `properties` are written as more root members, not metrics: what a Logs Insights query reads (no metric cost).
   */
  document(
    model: string,
    version: number,
    metrics: readonly EmfMetric[],
    values: readonly number[],
    timestamp: number,
    options: {
      /** Written as root members; encoded once per object, so an object passed again must be unchanged. */
      readonly properties?: Readonly<Record<string, string>>;
      /**
       * False for a request that named its version: the document's set is `service, Model, Version`, so the
       * emitting Lambda version's alarms (which read the set with `FunctionVersion`) never count it. @default true
       */
      readonly routed?: boolean;
    } = {},
  ): string {
    const { head, keys } = this.#prefix(model, version, metrics, options.routed ?? true);
    let line = `${head}${timestamp}}`;
    for (let index = 0; index < keys.length; index++) line += `${keys[index]}${finite(values[index] ?? 0)}`;
    if (options.properties) line += this.#members(options.properties);
    return `${line}}\n`;
  }

  /** `,"name":"value"` for each property, made once per properties object. */
  #members(properties: Readonly<Record<string, string>>): string {
    let text = this.#memberTexts.get(properties);
    if (text === undefined) {
      text = '';
      for (const [name, value] of Object.entries(properties))
        text += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
      this.#memberTexts.set(properties, text);
    }
    return text;
  }

  /**
   * A drift figure of one output of a version, with the dimension sets `service, Model, Version, Output` (what
   * `sluice status` reads) and `service, Model` (what the model's drift alarm watches, across versions and outputs,
   * at its Maximum). Rare (one per window of 500 answers), so not cached.
   */
  driftDocument(model: string, version: number, output: string, psi: number, timestamp: number): string {
    return this.#valueDocument(
      { ...this.#root(model, version, false), [MetricDimension.OUTPUT]: output },
      [
        [...VERSION_DIMENSIONS, MetricDimension.OUTPUT],
        ['service', MetricDimension.MODEL],
      ],
      { name: MetricName.DRIFT_PSI, unit: 'None' },
      finite(psi),
      timestamp,
    );
  }

  /**
   * One value of a per-output metric of a version, under `service, Model, Version, FunctionVersion, Output` when the
   * emitting Lambda version is known, else `service, Model, Version, Output`: e.g. a shadow comparison's relative
   * difference of one output. Not cached: one line per output of a compared request.
   */
  outputDocument(
    model: string,
    version: number,
    output: string,
    metric: EmfMetric,
    value: number,
    timestamp: number,
  ): string {
    return this.#valueDocument(
      { ...this.#root(model, version, true), [MetricDimension.OUTPUT]: output },
      [[...this.#routedDimensions, MetricDimension.OUTPUT]],
      metric,
      // Unrounded: relative differences are often far below the microsecond rounding of other values.
      Number.isFinite(value) ? value : 0,
      timestamp,
    );
  }

  /** The dimension members of a version's documents: with the emitting Lambda version when known and wanted. */
  #root(model: string, version: number, withFunctionVersion: boolean): Record<string, string> {
    return {
      service: METRICS_SERVICE,
      [MetricDimension.MODEL]: model,
      [MetricDimension.VERSION]: String(version),
      ...(withFunctionVersion ? this.#functionVersion : {}),
    };
  }

  /** One document of one metric's value under `dimensions`, its dimension members in `root`. */
  #valueDocument(
    root: Readonly<Record<string, string>>,
    dimensions: readonly (readonly string[])[],
    metric: EmfMetric,
    value: number,
    timestamp: number,
  ): string {
    return `${JSON.stringify({
      ...root,
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: dimensions,
            Metrics: [{ Name: metric.name, Unit: metric.unit }],
          },
        ],
      },
      [metric.name]: value,
    })}\n`;
  }

  /**
   * A plain log line (no metric) of `model`/`version` with the dimension members every document carries and
   * `properties`: for what Logs Insights counts and a metric need not.
   */
  logLine(model: string, version: number, properties: Readonly<Record<string, string | number>>): string {
    return `${JSON.stringify({ ...this.#root(model, version, true), ...properties })}\n`;
  }

  /** The document up to its timestamp and each value's `,"Name":`, cached per model, version and metric set. */
  #prefix(model: string, version: number, metrics: readonly EmfMetric[], routed: boolean): EmfPrefix {
    let byRouting = this.#prefixes.get(metrics);
    if (byRouting === undefined) {
      byRouting = [new Map(), new Map()];
      this.#prefixes.set(metrics, byRouting);
    }
    const byModel = byRouting[routed ? 1 : 0] as Map<string, Map<number, EmfPrefix>>;
    let byVersion = byModel.get(model);
    if (byVersion === undefined) {
      byVersion = new Map();
      byModel.set(model, byVersion);
    }
    let prefix = byVersion.get(version);
    if (prefix === undefined) {
      const head = JSON.stringify({
        ...this.#root(model, version, routed),
        _aws: {
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [routed ? this.#routedDimensions : [...VERSION_DIMENSIONS]],
              Metrics: metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })),
            },
          ],
        },
      });
      // Reopen the `_aws` object to append its Timestamp, which changes on every document.
      prefix = {
        head: `${head.slice(0, -2)},"Timestamp":`,
        keys: metrics.map((metric) => `,${JSON.stringify(metric.name)}:`),
      };
      byVersion.set(version, prefix);
    }
    return prefix;
  }
}

/** A document's fixed text: up to its timestamp, and each value's `,"Name":`. */
interface EmfPrefix {
  readonly head: string;
  readonly keys: readonly string[];
}

/** Rounds to microseconds and writes non-finite values as 0. */
function finite(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : 0;
}
