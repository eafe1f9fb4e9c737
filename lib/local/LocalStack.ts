import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { MODEL_NAME_PATTERN } from '../core/manifest/ModelManifest.js';
import { routingOf } from '../core/rollout/routing-of.js';
import { RolloutEngine } from '../rollout/RolloutEngine.js';
import type { AppLogger } from '../serving/InferenceApp.js';
import { InferenceApp } from '../serving/InferenceApp.js';
import { InferenceEngine } from '../serving/InferenceEngine.js';
import { ModelRegistry } from '../storage/ModelRegistry.js';
import { RolloutStore } from '../storage/RolloutStore.js';
import { ApiGatewayEmulator, type LocalReply } from './ApiGatewayEmulator.js';
import { HealthWindow } from './HealthWindow.js';
import { HomeLock } from './HomeLock.js';
import { LOCAL_STACK_ACTOR, LocalAliasResolver } from './LocalAliasResolver.js';
import { LocalObjectStore } from './LocalObjectStore.js';
import { LocalRolloutDriver } from './LocalRolloutDriver.js';
import { type LocalConfig, readLocalConfig } from './local-config.js';
import { type LocalStackInfo, removeLocalStackInfo, writeLocalStackInfo } from './local-home.js';
import {
  type LocalHealthResponse,
  type LocalRefreshResponse,
  LocalRoutePath,
  type LocalTrafficResponse,
} from './local-routes.js';
import { PrometheusServingMetrics } from './PrometheusServingMetrics.js';
import { readPackageVersion } from './package-version.js';
import { publishSamples } from './publish-samples.js';
import { RegistryResolver } from './RegistryResolver.js';
import { StackRolloutTarget } from './StackRolloutTarget.js';

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
  /** Health thresholds of local rollouts. @default readLocalConfig(process.env) */
  readonly config?: LocalConfig;
  /** The draws of the local aliases' weighted routing (tests pass a fixed sequence). @default Math.random */
  readonly random?: () => number;
}

/**
 * Everything sluice runs on AWS, on one machine: the embedded S3-compatible registry, the same
 * request pipeline Lambda runs, and an API Gateway emulator in front of it, plus `GET /metrics`.
 * One stack per data folder: {@link HomeLock} refuses a second one with {@link HomeInUseError}.
 *
 * Local aliases: the unversioned routes follow each model's rollout state (see {@link LocalAliasResolver});
 * a {@link HealthWindow} of every inference outcome judges candidates, and a {@link LocalRolloutDriver} carries
 * every rollout in progress through its bakes with the rollout engine (promote, advance, roll back) with nobody
 * watching, as the scheduler does on AWS. `sluice` in another process reaches both through the local routes
 * `GET /_sluice/health/{model}?version=N&since=MS&stable=N` and `GET /_sluice/refresh?model=M`.
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
    /** Outcomes of every inference, per model and version. */
    readonly health: HealthWindow,
    /** The local aliases. */
    readonly resolver: LocalAliasResolver,
    /** Carries rollouts through their bakes. */
    readonly driver: LocalRolloutDriver,
    private readonly api: ApiGatewayEmulator,
    /** Sample models published by this start (empty when they were already there). */
    readonly publishedSamples: { model: string; version: number }[],
    private readonly lock: HomeLock,
    private readonly info: LocalStackInfo,
  ) {}

  /** The API base URL, e.g. `http://127.0.0.1:3000`. */
  get apiUrl(): string {
    return this.api.url;
  }

  /** Starts the store, publishes the samples on first start, and serves the API. */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const config = options.config ?? readLocalConfig(process.env);
    await mkdir(options.home, { recursive: true });
    // One stack per data folder, taken before anything in it is touched; HomeInUseError names the running one.
    const lock = await HomeLock.acquire(options.home);
    const logger = options.logger ?? new Logger({ serviceName: 'sluice-local' });
    let store: LocalObjectStore;
    try {
      store = await LocalObjectStore.start({
        directory: join(options.home, 's3'),
        port: options.s3Port ?? 0,
      });
    } catch (error) {
      await lock.release();
      throw error;
    }
    try {
      const registry = new ModelRegistry({ store: store.objects() });
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
      const rollouts = new RolloutStore({ store: store.objects() });
      const health = new HealthWindow();
      const resolver = new LocalAliasResolver({
        registry: new RegistryResolver(registry),
        states: rollouts,
        health,
        ...(options.random ? { random: options.random } : {}),
      });
      const driver = new LocalRolloutDriver({
        engine: new RolloutEngine({
          store: rollouts,
          registry,
          actor: LOCAL_STACK_ACTOR,
          target: new StackRolloutTarget({ health, thresholds: config.health, routing: resolver, engine }),
        }),
        models: () => registry.listModels(),
        state: (model) => resolver.state(model),
        logger,
      });
      const app = new InferenceApp({
        engine,
        resolver,
        registry,
        metrics,
        logger,
        logRequests: options.logRequests ?? false,
        serverVersion: readPackageVersion(),
      });
      const api = await ApiGatewayEmulator.start({
        handler: (event) => app.handle(event),
        port: options.port ?? DEFAULT_LOCAL_PORT,
        // Refusals are always logged, as the app logs its own.
        onRefused: (refusal) => logger.info('request refused', refusal),
        onError: (error, request) =>
          logger.error('the local API failed to answer', { ...request, error: error as Error }),
        localRoutes: {
          '/metrics': async () => ({
            status: 200,
            contentType: metrics.contentType,
            body: await metrics.render(),
          }),
          [`${LocalRoutePath.HEALTH}*`]: (_request, path, query) =>
            healthRoute(health, config, path.slice(LocalRoutePath.HEALTH.length), query),
          [LocalRoutePath.REFRESH]: (_request, _path, query) => refreshRoute(resolver, query),
          [LocalRoutePath.TRAFFIC]: (_request, _path, query) => trafficRoute(health, query),
        },
      });
      const info: LocalStackInfo = {
        apiUrl: api.url,
        s3Endpoint: store.endpoint,
        bucket: store.bucket,
        pid: process.pid,
      };
      await writeLocalStackInfo(options.home, info);
      driver.start();
      return new LocalStack(
        options.home,
        store,
        registry,
        engine,
        metrics,
        app,
        health,
        resolver,
        driver,
        api,
        published,
        lock,
        info,
      );
    } catch (error) {
      await store.stop();
      await lock.release();
      throw error;
    }
  }

  /** Stops the API and the store; the data stays in the home folder. */
  async stop(): Promise<void> {
    await removeLocalStackInfo(this.home, this.info);
    await this.driver.stop();
    await this.api.stop();
    await this.engine.close();
    await this.store.stop();
    await this.lock.release();
  }
}

/** Version numbers in the local routes' query strings. */
const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;

/** Epoch milliseconds in the health route's `since`. */
const EPOCH_MS_PATTERN = /^[0-9]{1,16}$/;

/**
 * `GET /_sluice/health/{model}?version=N[&since=MS][&stable=N]`: the health window's verdict on one version, with
 * the evidence since `since` (the step's start) and its refused inputs compared with `stable`'s.
 */
function healthRoute(
  health: HealthWindow,
  config: LocalConfig,
  encodedModel: string,
  query: URLSearchParams,
): LocalReply {
  const model = safeDecode(encodedModel);
  if (model === undefined || !MODEL_NAME_PATTERN.test(model)) {
    return jsonReply(400, { error: `not a model name: "${encodedModel}"` });
  }
  const version = query.get('version') ?? '';
  if (!VERSION_PATTERN.test(version)) {
    return jsonReply(400, { error: `version must be a version number (1, 2, 3, ...); got "${version}"` });
  }
  const since = query.get('since');
  if (since !== null && !EPOCH_MS_PATTERN.test(since)) {
    return jsonReply(400, { error: `since must be epoch milliseconds; got "${since}"` });
  }
  const stable = query.get('stable');
  if (stable !== null && !VERSION_PATTERN.test(stable)) {
    return jsonReply(400, { error: `stable must be a version number (1, 2, 3, ...); got "${stable}"` });
  }
  const now = Date.now();
  const report = health.judge(model, Number(version), config.health, now, {
    ...(since === null ? {} : { sinceMs: Number(since) }),
    ...(stable === null ? {} : { stable: Number(stable) }),
  });
  const body: LocalHealthResponse = {
    model,
    version: Number(version),
    verdict: report.verdict,
    reasons: report.reasons,
    requests: { ...report.requests },
    ...(report.candidateRequests === undefined ? {} : { candidateRequests: report.candidateRequests }),
    windowMs: health.windowMs,
  };
  return jsonReply(200, body);
}

/** `GET /_sluice/refresh?model=M`: re-reads the model's rollout state now and answers the routing it applies. */
async function refreshRoute(resolver: LocalAliasResolver, query: URLSearchParams): Promise<LocalReply> {
  const model = query.get('model') ?? '';
  if (!MODEL_NAME_PATTERN.test(model))
    return jsonReply(400, { error: `model must be a model name; got "${model}"` });
  resolver.invalidate(model);
  try {
    const state = await resolver.state(model);
    const routing = state ? routingOf(state) : undefined;
    const body: LocalRefreshResponse = {
      model,
      ...(routing ? { stable: routing.stable, weight: routing.weight } : { weight: 0 }),
      ...(routing?.candidate === undefined ? {} : { candidate: routing.candidate }),
    };
    return jsonReply(200, body);
  } catch (error) {
    return jsonReply(503, {
      error: `the rollout state of "${model}" cannot be read: ${(error as Error).message}`,
    });
  }
}

/** `GET /_sluice/traffic?model=M`: requests per version the local alias routed in the health window. */
function trafficRoute(health: HealthWindow, query: URLSearchParams): LocalReply {
  const model = query.get('model') ?? '';
  if (!MODEL_NAME_PATTERN.test(model))
    return jsonReply(400, { error: `model must be a model name; got "${model}"` });
  const body: LocalTrafficResponse = {
    model,
    requests: health.requests(model, Date.now()),
    windowMs: health.windowMs,
  };
  return jsonReply(200, body);
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function jsonReply(status: number, body: object): LocalReply {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}
