import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AppLogger } from '../http/InferenceApp.js';
import { InferenceApp } from '../http/InferenceApp.js';
import { InferenceEngine } from '../inference/InferenceEngine.js';
import { PrometheusServingMetrics } from '../observability/PrometheusServingMetrics.js';
import { ModelRegistry } from '../registry/ModelRegistry.js';
import { ApiGatewayEmulator } from './ApiGatewayEmulator.js';
import { LocalObjectStore } from './LocalObjectStore.js';
import { removeLocalStackInfo, writeLocalStackInfo } from './local-home.js';
import { publishSamples } from './publish-samples.js';
import { RegistryResolver } from './RegistryResolver.js';

/** Port of the local API when PORT is not set. */
export const DEFAULT_LOCAL_PORT = 3000;

/** Options of {@link LocalStack.start}. */
export interface LocalStackOptions {
  /** Data folder (the embedded store lives in `<home>/s3`). */
  readonly home: string;
  /** API port; 0 picks a free one. @default DEFAULT_LOCAL_PORT */
  readonly port?: number;
  /** Embedded S3 port; 0 picks a free one. @default 0 */
  readonly s3Port?: number;
  /** Publish the bundled sample models when the registry does not have them. @default true */
  readonly publishSamples?: boolean;
  /** @default a Powertools logger at the level of POWERTOOLS_LOG_LEVEL */
  readonly logger?: AppLogger;
  /** Log one line per successful request. @default false */
  readonly logRequests?: boolean;
}

/**
 * Everything sluice runs on AWS, on one machine: the embedded S3-compatible registry, the same
 * request pipeline Lambda runs, and an API Gateway emulator in front of it, plus `GET /metrics`.
 *
 * @example
 * const stack = await LocalStack.start({ home: '.sluice', port: 3000 });
 * console.log(stack.apiUrl);
 */
export class LocalStack {
  private constructor(
    readonly home: string,
    readonly store: LocalObjectStore,
    readonly registry: ModelRegistry,
    readonly engine: InferenceEngine,
    readonly metrics: PrometheusServingMetrics,
    readonly app: InferenceApp,
    private readonly api: ApiGatewayEmulator,
    /** Sample models published by this start (empty when they were already there). */
    readonly publishedSamples: { model: string; version: number }[],
  ) {}

  /** The API base URL, e.g. `http://127.0.0.1:3000`. */
  get apiUrl(): string {
    return this.api.url;
  }

  /** Starts the store, publishes the samples on first start, and serves the API. */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    await mkdir(options.home, { recursive: true });
    const logger = options.logger ?? new Logger({ serviceName: 'sluice-local' });
    const store = await LocalObjectStore.start({
      directory: join(options.home, 's3'),
      port: options.s3Port ?? 0,
    });
    try {
      const registry = new ModelRegistry({ client: store.createClient(), bucket: store.bucket });
      const published = options.publishSamples === false ? [] : await publishSamples(registry);
      const metrics = new PrometheusServingMetrics();
      let coldStart = true;
      const engine = new InferenceEngine({
        registry,
        onLoad: ({ model, version, loadMs }) => {
          metrics.recordModelLoad(model, version, loadMs, coldStart);
          coldStart = false;
        },
      });
      const app = new InferenceApp({
        engine,
        resolver: new RegistryResolver(registry),
        registry,
        metrics,
        logger,
        logRequests: options.logRequests ?? false,
      });
      const api = await ApiGatewayEmulator.start({
        handler: (event) => app.handle(event),
        port: options.port ?? DEFAULT_LOCAL_PORT,
        localRoutes: {
          '/metrics': () => ({
            status: 200,
            contentType: 'text/plain; version=0.0.4',
            body: metrics.render(),
          }),
        },
      });
      await writeLocalStackInfo(options.home, {
        apiUrl: api.url,
        s3Endpoint: store.endpoint,
        bucket: store.bucket,
        pid: process.pid,
      });
      return new LocalStack(options.home, store, registry, engine, metrics, app, api, published);
    } catch (error) {
      await store.stop();
      throw error;
    }
  }

  /** Stops the API and the store; the data stays in the home folder. */
  async stop(): Promise<void> {
    await removeLocalStackInfo(this.home);
    await this.api.stop();
    await this.engine.close();
    await this.store.stop();
  }
}
